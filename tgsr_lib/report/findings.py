"""Findings written from the data: Markdown conclusions for the TYPE-I/II notebooks.

The notebooks 02 and 03 compute :func:`~tgsr_lib.report.tables.tgsr_comparison` and, for the
experiments whose features are public, compare their grids with the authors' records and score
the best points with their intervals (:func:`~tgsr_lib.report.tables.best_point_scores`). The
functions here turn those computed tables into Markdown, so that a notebook rerun with other
parameters (another grouping, other experiments) states what *its* data show and nothing else:

* :func:`type_table_findings` (one bullet per experiment, :func:`experiment_finding`);
* :func:`records_check_line`: whether the recomputed grids equal the authors' records;
* :func:`precision_findings`: which paper-vs-ours differences are within one target sample and
  what a 95% interval spans at each target size.

The paper's printed numbers enter only through the comparison table (``paper_f1``,
``paper_acc``), as in :mod:`tgsr_lib.report.tables`. Under a grouping other than the authors'
(the one the paper and its records use) the text states the recomputed grids' values and their
differences from the paper, never the paper's numbers themselves.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tgsr_lib.compare import stats
from tgsr_lib.data import layout, protocols
from tgsr_lib.model import ialm
from tgsr_lib.report.tables import ACC_TOL, F1_TOL

__all__ = ["grid_equals_record", "experiment_finding", "type_table_findings",
           "records_check_line", "precision_findings"]

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
        ``computed_*`` columns; ``computed_n_iter`` where the grid has it).
    record_equal : bool or None
        Whether the recomputed grid equals the authors' record at every point (see
        :func:`grid_equals_record`); None when that was not compared.
    grouping : str
        Name of the grouping of the computed grid. Under any grouping but ``"authors"`` (the
        paper's) the bullet gives our values and their differences from the paper's entry,
        not the paper's numbers (which belong to the authors' grouping).
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
    where = ("occurs elsewhere in" if bool(row[f"{main}_has_paper_pair"])
             else "occurs nowhere in")
    if main == "computed" and grouping != "authors":
        same = _equals_paper(row, main)
        parts.append(f"**{label}, grouping `{grouping}`:** the first max-F1 row of our "
                     f"recomputed grid is {best}"
                     + (", printed as the paper's entry." if same else
                        f": F1 {f1 - row['paper_f1']:+.4f}, {acc_diff} against the paper's "
                        f"entry. The paper's pair {where} this grid."))
    else:
        verdict = {"computed": ("reproduced", "not reproduced"),
                   "recorded": ("the paper's entry is the released record's best row",
                                "the paper's entry is not the released record's best row")}[main]
        if _equals_paper(row, main):
            parts.append(f"**{label}: {verdict[0]}.** The first max-F1 row of {what[main]} "
                         f"prints as the paper's entry: {best}.")
        else:
            parts.append(f"**{label}: {verdict[1]}.** The paper prints {paper}; the first "
                         f"max-F1 row of {what[main]} is {best}: F1 "
                         f"{f1 - row['paper_f1']:+.4f}, {acc_diff}. The paper's pair {where} "
                         "this grid.")
    if has_rec and has_comp:
        rec_best = _pair(row["recorded_f1"], row["recorded_acc"])
        if not _equals_paper(row, "recorded"):
            where = ("occurs elsewhere in" if bool(row["recorded_has_paper_pair"])
                     else "is absent from")
            same = "equals ours" if _same_best(row) else "differs from ours"
            parts.append(f"The paper's pair {paper} {where} the authors' own released grid, "
                         f"whose first max-F1 row {rec_best} {same}.")
        elif not _equals_paper(row, "computed"):
            parts.append(f"The authors' released grid does give the paper's entry ({rec_best}).")
        if record_equal is True:
            parts.append("The recomputed grid equals the authors' record at every point.")
        elif record_equal is False:
            parts.append("The recomputed grid differs from the authors' record at some points.")
    if kappa == n_groups:
        parts.append(_all_groups_note(n_groups, row.get(f"{main}_n_iter")))
    maxacc, maxacc_f1 = row[f"{main}_maxacc"], row[f"{main}_maxacc_f1"]
    if abs(maxacc - acc) > ACC_TOL or abs(maxacc_f1 - f1) > F1_TOL:
        gain = ("the same accuracy" if abs(maxacc - acc) <= ACC_TOL
                else f"accuracy {maxacc - acc:+.2f} points")
        parts.append(f"The first max-accuracy row differs: {_pair(maxacc_f1, maxacc)} "
                     f"({gain}, macro-F1 {maxacc_f1 - f1:+.4f} against the max-F1 row).")
    return "* " + " ".join(parts)


def _all_groups_note(n_groups: int, n_iter=None) -> str:
    """The sentence for a best row at kappa = K: no group is dropped, one ridge step."""
    if n_iter is None or pd.isna(n_iter):
        stop = "the solver stops after one iteration"
    else:
        n_iter = int(n_iter)
        stop = (f"the grid records that the solver stopped after {n_iter} "
                f"iteration{'s' if n_iter != 1 else ''}")
    return (f"The best row sits at kappa = {n_groups} (all groups): that is not group "
            f"selection. lambda = 0 there and {stop}, so the fit is one ridge step with "
            f"mu0 = {ialm.MU0:g} from the all-ones start.")


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


def records_check_line(record_equal: Mapping[int, bool], n_points: Mapping[int, int],
                       grouping: str = "authors") -> str:
    """One line: do the recomputed grids equal the authors' records at every point?

    Parameters
    ----------
    record_equal : Mapping[int, bool]
        Experiment number -> :func:`grid_equals_record` of its recomputed grid.
    n_points : Mapping[int, int]
        Experiment number -> number of points compared (the grid's rows).
    grouping : str
        The grouping of the recomputed grids; the records use ``"authors"`` only.

    Returns
    -------
    str
        A Markdown line naming the experiments whose grids equal their records at all their
        points and those that differ.
    """
    if grouping != "authors":
        return (f"Records check: not applicable to grouping `{grouping}` (the authors' records "
                "use the grouping `authors`; the default run of this notebook checks them).")
    if not record_equal:
        return "Records check: no recomputed grid in this run."
    equal = [n for n, eq in record_equal.items() if eq]
    differ = [n for n, eq in record_equal.items() if not eq]
    parts = []
    if equal:
        sizes = sorted({int(n_points[n]) for n in equal})
        size = (f"all {sizes[0]:,} points each" if len(sizes) == 1
                else "all their points (" + ", ".join(f"Exp.{n}: {int(n_points[n]):,}"
                                                      for n in equal) + ")")
        parts.append(f"the recomputed grids of {_exp_list(equal)} equal the authors' records at "
                     f"{size} (correct counts exactly, macro-F1 within {RECORD_F1_TOL:g})")
    if differ:
        parts.append(f"the recomputed grids of {_exp_list(differ)} differ from the authors' "
                     "records at some points")
    return "Records check: " + "; ".join(parts) + "."


def _exp_list(numbers) -> str:
    labels = [f"Exp.{n}" for n in numbers]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def precision_findings(comparison: pd.DataFrame, scores: pd.DataFrame) -> str:
    """How precise are the recomputed best points? Markdown bullets.

    Parameters
    ----------
    comparison : pandas.DataFrame
        The table of :func:`~tgsr_lib.report.tables.tgsr_comparison` (for ``paper_acc`` and
        ``paper_f1``).
    scores : pandas.DataFrame
        The table of :func:`~tgsr_lib.report.tables.best_point_scores` (``experiment``,
        ``correct``, ``n``, ``accuracy`` with ``accuracy_low``/``accuracy_high``, ``macro_f1``
        with ``macro_f1_low``/``macro_f1_high``).

    Returns
    -------
    str
        One bullet per target size N: what one sample is worth in accuracy and how many points
        the 95% intervals of this table span; one bullet on the paper-vs-ours accuracy
        differences counted in samples (within one sample, or how many), and one on whether
        the paper's accuracy and macro-F1 lie inside our intervals. Empty when ``scores`` is.
    """
    if scores.empty:
        return ""
    paper = comparison.set_index("experiment")
    bullets = []
    for n, sub in scores.groupby("n", sort=True):
        width = 100 * (sub.accuracy_high - sub.accuracy_low)
        f1_width = 100 * (sub.macro_f1_high - sub.macro_f1_low)
        span = (f"{width.iloc[0]:.1f} points" if len(sub) == 1
                else f"{width.min():.1f} to {width.max():.1f} points")
        f1_span = (f"{f1_width.iloc[0] / 100:.3f}" if len(sub) == 1
                   else f"{f1_width.min() / 100:.3f} to {f1_width.max() / 100:.3f}")
        bullets.append(f"* **N = {n}** ({_exp_list(sub.experiment.tolist())}): one sample is "
                       f"{100 / n:.2f} points of accuracy; the 95% Clopper-Pearson interval of "
                       f"the accuracies here spans {span}, the 95% bootstrap interval of "
                       f"macro-F1 {f1_span}.")
    within, beyond, not_counts = [], [], []
    for r in scores.itertuples(index=False):
        paper_acc = float(paper.loc[r.experiment, "paper_acc"])
        diff = 100 * r.accuracy - paper_acc
        # the paper prints 2 decimals: a printed k/N is read back as k samples
        samples = r.correct - paper_acc * r.n / 100
        if stats.is_k_over_n(paper_acc, int(r.n)):
            samples = round(samples)
        else:
            not_counts.append(r.experiment)
        if abs(samples) <= 1:
            within.append(f"Exp.{r.experiment} ({_samples(samples)})")
        else:
            beyond.append(f"Exp.{r.experiment} ({diff:+.2f} points, {_samples(samples)} of "
                          f"{r.n})")
    text = "* **Paper vs ours, in samples:** "
    if within:
        text += f"within one sample: {', '.join(within)}"
    if beyond:
        text += ("; " if within else "") + f"more than one sample apart: {', '.join(beyond)}"
    if not_counts:
        text += (f"; the paper's accuracy of {_exp_list(not_counts)} is not k/N for any whole "
                 "number k of samples")
    bullets.append(text + ".")
    inside, outside = [], []
    for r in scores.itertuples(index=False):
        p_acc = float(paper.loc[r.experiment, "paper_acc"]) / 100
        p_f1 = float(paper.loc[r.experiment, "paper_f1"])
        ok = (r.accuracy_low <= p_acc <= r.accuracy_high
              and r.macro_f1_low <= p_f1 <= r.macro_f1_high)
        (inside if ok else outside).append(r.experiment)
    text = "* **The paper's entry against our 95% intervals:** "
    if inside:
        text += (f"inside both (accuracy and macro-F1) for {_exp_list(inside)}: as estimates "
                 "of the accuracy beyond these target samples the two cannot be told apart "
                 "(on the same samples, any difference is a different result)")
    if outside:
        text += ("; " if inside else "") + f"outside at least one for {_exp_list(outside)}"
    bullets.append(text + ".")
    return "\n".join(bullets)


def _samples(k: float) -> str:
    if k == 0:
        return "0 samples"
    if k != round(k):
        return f"{k:+.2f} samples"
    return f"{int(k):+d} sample{'s' if abs(k) != 1 else ''}"
