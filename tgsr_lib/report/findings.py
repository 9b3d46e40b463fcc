"""Findings written from the data: Markdown conclusions for the TYPE-I/II notebooks.

The notebooks 02 and 03 compute :func:`~tgsr_lib.report.tables.tgsr_comparison` and, for the
experiments whose features are public, compare their grids with the authors' records. The
functions here turn those computed tables into Markdown bullets, so that a notebook rerun with
other parameters (another grouping, other experiments) states what *its* data show and nothing
else. The paper's printed numbers enter only through the comparison table (``paper_f1``,
``paper_acc``), as in :mod:`tgsr_lib.report.tables`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tgsr_lib.data import layout, protocols
from tgsr_lib.report.tables import ACC_TOL, F1_TOL

__all__ = ["grid_equals_record", "experiment_finding", "type_table_findings"]

#: Tolerance on macro-F1 for "the recomputed grid equals the record".
RECORD_F1_TOL = 1e-12


def grid_equals_record(grid: pd.DataFrame, record: pd.DataFrame, n_target: int) -> bool:
    """Does a grid equal the authors' recorded grid at every point?

    Parameters
    ----------
    grid, record : pandas.DataFrame
        Grids with the columns ``kappa``, ``xi``, ``accuracy`` (fraction) and ``macro_f1``.
    n_target : int
        Number of target samples: accuracies are compared as correct counts
        (``round(accuracy * n_target)``), exactly.

    Returns
    -------
    bool
        True when both grids have the same points in the same order, the same correct count at
        every point and macro-F1 values within :data:`RECORD_F1_TOL`.
    """
    if len(grid) != len(record):
        return False
    same_points = (np.array_equal(grid.kappa.to_numpy(), record.kappa.to_numpy())
                   and np.array_equal(grid.xi.to_numpy(), record.xi.to_numpy()))
    if not same_points:
        return False
    correct = np.round(grid.accuracy.to_numpy() * n_target)
    correct_rec = np.round(record.accuracy.to_numpy() * n_target)
    return bool(np.array_equal(correct, correct_rec)
                and np.all(np.abs(grid.macro_f1.to_numpy() - record.macro_f1.to_numpy())
                           <= RECORD_F1_TOL))


def _has(row: Mapping, name: str) -> bool:
    value = row.get(f"{name}_f1", np.nan)
    return value is not None and not pd.isna(value)


def _pair(f1: float, acc: float) -> str:
    return f"{f1:.4f} / {acc:.2f}%"


def _equals_paper(row: Mapping, name: str) -> bool:
    return (abs(row[f"{name}_f1"] - row["paper_f1"]) <= F1_TOL
            and abs(row[f"{name}_acc"] - row["paper_acc"]) <= ACC_TOL)


def _same_best(row: Mapping) -> bool:
    """The recorded and the computed first max-F1 rows print alike (same kappa and xi)."""
    return (int(row["recorded_kappa"]) == int(row["computed_kappa"])
            and float(row["recorded_xi"]) == float(row["computed_xi"])
            and f"{row['recorded_f1']:.4f}" == f"{row['computed_f1']:.4f}"
            and f"{row['recorded_acc']:.2f}" == f"{row['computed_acc']:.2f}")


def experiment_finding(row: Mapping, *, record_equal: bool | None = None,
                       grouping: str = "authors", n_groups: int = layout.N_GROUPS
                       ) -> str | None:
    """One Markdown bullet on one experiment, from its row of the comparison table.

    Parameters
    ----------
    row : Mapping
        One row of :func:`~tgsr_lib.report.tables.tgsr_comparison` (``experiment``,
        ``paper_f1``, ``paper_acc`` and, for each grid present, the ``recorded_*`` and/or
        ``computed_*`` columns).
    record_equal : bool or None
        Whether the recomputed grid equals the authors' record at every point (see
        :func:`grid_equals_record`); None when that was not compared.
    grouping : str
        Name of the grouping of the computed grid, used in the text.
    n_groups : int
        Number of groups K: a best row at ``kappa == K`` keeps all groups.

    Returns
    -------
    str or None
        The bullet, or None when the row has no grid.
    """
    row = dict(row)
    label = protocols.get_experiment(int(row["experiment"])).label
    has_rec, has_comp = _has(row, "recorded"), _has(row, "computed")
    if not (has_rec or has_comp):
        return None
    main = "computed" if has_comp else "recorded"
    what = {"computed": f"our recomputed grid (grouping `{grouping}`)",
            "recorded": "the authors' released grid"}
    f1, acc = row[f"{main}_f1"], row[f"{main}_acc"]
    kappa, xi = int(row[f"{main}_kappa"]), float(row[f"{main}_xi"])
    paper = _pair(row["paper_f1"], row["paper_acc"])
    best = f"{_pair(f1, acc)} (kappa {kappa}, xi {xi:g})"
    parts = []
    acc_diff = ("the same accuracy" if abs(acc - row["paper_acc"]) <= ACC_TOL
                else f"accuracy {acc - row['paper_acc']:+.2f} points")
    verdict = {"computed": ("reproduced", "not reproduced"),
               "recorded": ("the paper's entry is the released record's best row",
                            "the paper's entry is not the released record's best row")}[main]
    if _equals_paper(row, main):
        parts.append(f"**{label}: {verdict[0]}.** The first max-F1 row of {what[main]} prints "
                     f"as the paper's entry: {best}.")
    else:
        where = ("occurs elsewhere in" if bool(row[f"{main}_has_paper_pair"])
                 else "occurs nowhere in")
        parts.append(f"**{label}: {verdict[1]}.** The paper prints {paper}; the first max-F1 "
                     f"row of {what[main]} is {best}: F1 {f1 - row['paper_f1']:+.4f}, "
                     f"{acc_diff}. The paper's pair {where} this grid.")
    if has_rec and has_comp:
        rec_best = _pair(row["recorded_f1"], row["recorded_acc"])
        if not _equals_paper(row, "recorded"):
            where = ("occurs elsewhere in" if bool(row["recorded_has_paper_pair"])
                     else "is absent from")
            same = "equals ours" if _same_best(row) else "differs from ours"
            parts.append(f"The paper's pair {where} the authors' own released grid, whose "
                         f"first max-F1 row {rec_best} {same}.")
        elif not _equals_paper(row, "computed"):
            parts.append(f"The authors' released grid does give the paper's entry ({rec_best}).")
        if record_equal is True:
            parts.append("The recomputed grid equals the authors' record at every point.")
        elif record_equal is False:
            parts.append("The recomputed grid differs from the authors' record at some points.")
    if kappa == n_groups:
        parts.append(f"The best row sits at kappa = {n_groups} (all groups): lambda = 0 there and "
                     "the solver stops after one iteration, so this fit is one ridge step from "
                     "the all-ones start, not group selection.")
    maxacc, maxacc_f1 = row[f"{main}_maxacc"], row[f"{main}_maxacc_f1"]
    if abs(maxacc - acc) > ACC_TOL or abs(maxacc_f1 - f1) > F1_TOL:
        gain = ("the same accuracy" if abs(maxacc - acc) <= ACC_TOL
                else f"accuracy {maxacc - acc:+.2f} points")
        parts.append(f"The first max-accuracy row differs: {_pair(maxacc_f1, maxacc)} "
                     f"({gain}, macro-F1 {maxacc_f1 - f1:+.4f} against the max-F1 row).")
    return "* " + " ".join(parts)


def type_table_findings(comparison: pd.DataFrame, *,
                        record_equal: Mapping[int, bool] | None = None,
                        grouping: str = "authors", n_groups: int = layout.N_GROUPS) -> str:
    """The findings of one table (TYPE-I or TYPE-II) as Markdown.

    Parameters
    ----------
    comparison : pandas.DataFrame
        The table of :func:`~tgsr_lib.report.tables.tgsr_comparison`.
    record_equal : Mapping[int, bool] or None
        Experiment number -> whether its recomputed grid equals the authors' record at every
        point (see :func:`grid_equals_record`); experiments not in it get no such sentence.
    grouping : str
        Name of the grouping of the computed grids, used in the text.
    n_groups : int
        Number of groups K of the grouping.

    Returns
    -------
    str
        One Markdown bullet per experiment with a grid, then one bullet listing the
        experiments without a grid (if any).
    """
    record_equal = dict(record_equal or {})
    bullets, missing = [], []
    for _, row in comparison.iterrows():
        n = int(row["experiment"])
        text = experiment_finding(row, record_equal=record_equal.get(n), grouping=grouping,
                                  n_groups=n_groups)
        if text is None:
            missing.append(str(n))
        else:
            bullets.append(text)
    if missing:
        bullets.append(f"* No grid for Exp.{', '.join(missing)} with these parameters "
                       "(features not public, or no released grid for this grouping).")
    return "\n".join(bullets)
