"""Findings written from the data: Markdown conclusions for notebooks 01, 04 and 05.

Each function takes what the notebook computed (a table, a check, a grid) and returns the
conclusion as Markdown, so that a rerun with other parameters states what *its* data show.
The TYPE-I/II tables of notebooks 02 and 03 have theirs in :mod:`tgsr_lib.report.findings`.

* :func:`block_order_verdict` / :func:`block_order_finding`: the block order of the feature
  vector, from the mirror-symmetry test (:func:`tgsr_lib.data.layout.mirror_symmetry_test`);
* :func:`all_groups_check` / :func:`all_groups_finding`: what a best row at ``kappa = K``
  (every group kept) is: one ridge step, not group selection;
* :func:`good_share` / :func:`spread_finding`: how much of the (kappa, xi) grid is close to
  its best point, under two groupings;
* :func:`record_equality_finding`: whether the computed grids equal the authors' records;
* :func:`caption_finding`: which experiment a figure caption's "Exp.N (A->B)" names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from tgsr_lib.data import layout, protocols

__all__ = ["block_order_verdict", "block_order_finding", "all_groups_check",
           "all_groups_finding", "good_share", "spread_finding", "record_equality_finding",
           "caption_finding"]

#: Largest relative difference between a ``kappa = K`` fit and the ridge step that counts as
#: equal (two double-precision solves of the same system).
RIDGE_STEP_TOL = 1e-8


# --------------------------------------------------------------------------- block order

_ORDER_COLUMNS = ("median_column_major", "median_row_major", "share_column_higher")


def _check_table(table: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError(f"{what}: give a non-empty pandas DataFrame")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: the table lacks the column(s) {missing}")
    return table


def block_order_verdict(table: pd.DataFrame) -> str:
    """``"column-major"``, ``"row-major"`` or ``"undecided"`` from mirror-symmetry tests.

    ``table`` has one row per tested (database, scale, plane) with the columns of
    :func:`tgsr_lib.data.layout.mirror_symmetry_test`. An order wins when, in every row,
    its median mirror correlation is the higher one and it gives the higher correlation for
    most samples; otherwise the test is undecided.
    """
    t = _check_table(table, _ORDER_COLUMNS, "block_order_verdict")
    col_wins = (t.median_column_major > t.median_row_major) & (t.share_column_higher > 0.5)
    row_wins = (t.median_row_major > t.median_column_major) & (t.share_column_higher < 0.5)
    if col_wins.all():
        return "column-major"
    if row_wins.all():
        return "row-major"
    return "undecided"


def block_order_finding(table: pd.DataFrame) -> str:
    """The verdict of :func:`block_order_verdict` as Markdown, with the ranges it rests on."""
    t = _check_table(table, _ORDER_COLUMNS, "block_order_finding")
    verdict = block_order_verdict(t)
    cells = len(t)
    col = f"{t.median_column_major.min():+.2f} .. {t.median_column_major.max():+.2f}"
    row = f"{t.median_row_major.min():+.2f} .. {t.median_row_major.max():+.2f}"
    share = t.share_column_higher
    text = (f"Median mirror correlation over the {cells} tested (database, scale, plane) "
            f"cells: {col} with the blocks read column-major, {row} read row-major. ")
    if verdict == "column-major":
        return text + (f"Column-major gives the higher correlation in every cell and for "
                       f"{share.min():.0%} .. {share.max():.0%} of the samples of each: "
                       "**the blocks are in column-major order** (block k = column x n + row).")
    if verdict == "row-major":
        return text + (f"Row-major gives the higher correlation in every cell and for "
                       f"{1 - share.max():.0%} .. {1 - share.min():.0%} of the samples of "
                       "each: **the blocks are in row-major order** (block k = row x n + "
                       "column).")
    return text + ("Neither order wins in every cell: **the test does not decide the block "
                   "order** on these data.")


# --------------------------------------------------------------------------- kappa = K


def all_groups_check(Xs, ys, Xt, xi: float, grouping: str = "authors") -> dict:
    """Fit TGSR with every group kept (``kappa = K``) and compare it with one ridge step.

    At ``kappa = K`` the C-step threshold (the ``(kappa + 1)``-th largest group norm) is 0,
    so ``C = W`` and the stop rule ``max |D - C| < tol`` holds after the first iteration.
    That iteration is a ridge step from the all-ones start ``C0``:
    ``D = argmin ||L~ - X~^T D||^2 + (mu0 / 2) ||D - C0||^2``. The reference here is
    scikit-learn's :class:`~sklearn.linear_model.Ridge` (``alpha = mu0 / 2``, no intercept)
    fitted to ``L~ - X~^T C0``, then shifted by ``C0``: independent of the project's solver.

    Returns
    -------
    dict
        ``n_groups`` (K), ``n_selected`` (groups with non-zero coefficients), ``n_iter``,
        ``converged``, ``mu0`` and ``max_diff`` (largest absolute difference between the TGSR
        coefficients and the ridge step, relative to the largest coefficient of the step).
    """
    from sklearn.linear_model import Ridge

    from tgsr_lib import TGSR
    from tgsr_lib.model.estimator import augmented_data
    from tgsr_lib.model.groups import resolve_groups
    from tgsr_lib.model.ialm import MU0

    Xs = np.asarray(Xs, dtype=np.float64)
    Xt = np.asarray(Xt, dtype=np.float64)
    K = resolve_groups(grouping, Xs.shape[1]).n_groups
    model = TGSR(K, xi, groups=grouping, mu0=MU0).fit(Xs, ys, Xt)
    A, L, _ = augmented_data(Xs, np.asarray(ys), Xt, float(xi))
    C0 = np.full((A.shape[1], L.shape[1]), 1.0)
    ridge = Ridge(alpha=MU0 / 2, fit_intercept=False, solver="svd").fit(A, L - A @ C0)
    step = C0 + ridge.coef_.T
    return dict(n_groups=int(K), n_selected=int(len(model.selected_groups_)),
                n_iter=int(model.n_iter_), converged=bool(model.converged_), mu0=MU0,
                max_diff=float(np.max(np.abs(model.coef_ - step)) / np.max(np.abs(step))))


def all_groups_finding(best_rows: pd.DataFrame, check: Mapping | None = None, *,
                       n_groups: int = layout.N_GROUPS, label: str = "experiment") -> str:
    """Which reported best rows sit at ``kappa = K`` and what such a fit is.

    Parameters
    ----------
    best_rows : pandas.DataFrame
        One reported best row per line, with a ``kappa`` column and a ``label`` column that
        names it (e.g. "Exp.9 (C->V) authors").
    check : Mapping or None
        :func:`all_groups_check` of one such fit, or None when none was run; an optional
        ``"label"`` key names the row it was run on (default: "the first of them").
    n_groups : int
        K, the number of groups.
    """
    t = _check_table(best_rows, ("kappa", label), "all_groups_finding")
    at_k = t[t.kappa.astype(int) == int(n_groups)]
    if at_k.empty:
        return f"No best row shown here sits at kappa = {n_groups}: each keeps fewer groups."
    names = ", ".join(str(v) for v in at_k[label])
    text = (f"**kappa = {n_groups} is not group selection.** The best rows of {names} sit at "
            f"kappa = {n_groups} = K, where every group is kept: the C-step threshold, the "
            f"(kappa+1)-th largest group norm, is 0 (lambda = 0).")
    if check is None:
        return text
    one_step = (check["n_iter"] == 1 and check["n_selected"] == check["n_groups"]
                and check["max_diff"] <= RIDGE_STEP_TOL)
    on = check.get("label", "the first of them")
    # within the tolerance, the bound is stated, not the rounding-level value itself
    diff = (f"less than {RIDGE_STEP_TOL:.0e}" if check["max_diff"] <= RIDGE_STEP_TOL
            else f"{check['max_diff']:.1e}")
    measured = (f" Computed on {on}: the fit ran {check['n_iter']} "
                f"iteration(s), kept {check['n_selected']} of {check['n_groups']} groups, and "
                f"its coefficients differ from one ridge step (mu0 = {check['mu0']:g}) from "
                f"the all-ones start by {diff} of the largest coefficient")
    if one_step:
        return text + measured + ": the fit **is** that single ridge step."
    return text + measured + (": the fit is **not** a single ridge step here, so the "
                              "reading above does not hold for these data.")


# --------------------------------------------------------------------------- grid spread


def good_share(grid: pd.DataFrame, margin: float = 0.05, metric: str = "macro_f1") -> float:
    """Share of the grid's points whose ``metric`` is within ``margin`` of the grid's best."""
    if metric not in grid.columns:
        raise ValueError(f"good_share: the grid has no column {metric!r}")
    if not margin >= 0:
        raise ValueError(f"margin={margin!r}: give a number >= 0")
    values = grid[metric].to_numpy(dtype=np.float64)
    return float(np.mean(values >= values.max() - margin))


def spread_finding(table: pd.DataFrame, a: str = "authors", b: str = "blocks", *,
                   margin: float = 0.05) -> str:
    """Under which grouping the near-best points cover more of the grid.

    ``table``: one row per experiment with ``experiment`` (a label) and the columns
    ``share_<a>`` and ``share_<b>`` from :func:`good_share`.
    """
    ca, cb = f"share_{a}", f"share_{b}"
    t = _check_table(table, ("experiment", ca, cb), "spread_finding")
    more_b = t[t[cb] > t[ca]]
    more_a = t[t[ca] > t[cb]]
    n = len(t)

    def names(rows):
        return ", ".join(str(e) for e in rows.experiment) or "none"

    text = (f"Points within {margin:g} macro-F1 of their grid's best cover a larger share of the "
            f"grid under `{b}` on {len(more_b)} of {n} experiments ({names(more_b)}) and under "
            f"`{a}` on {len(more_a)} ({names(more_a)}). ")
    if len(more_b) > len(more_a):
        return text + f"**Good points spread over more of the grid under `{b}`** on most."
    if len(more_a) > len(more_b):
        return text + (f"**Good points spread over more of the grid under `{a}`** on most: "
                       f"`{b}` does not widen the good region.")
    return text + "**Neither grouping widens the good region more often.**"


# --------------------------------------------------------------------------- records


def record_equality_finding(results: Mapping[str, tuple[bool, int]]) -> str:
    """One line: which computed grids equal the authors' records at every point.

    ``results``: experiment label -> (:func:`tgsr_lib.report.findings.grid_equals_record`,
    number of grid points).
    """
    if not results:
        return "No computed grid shown here has an authors' record to compare with."
    equal = [k for k, (ok, _) in results.items() if ok]
    differ = [k for k, (ok, _) in results.items() if not ok]
    points = sum(n for _, n in results.values())
    if not differ:
        return (f"**Every point equals the record:** all {points:,} points of the computed "
                f"grids of {', '.join(equal)} equal the authors' recorded grids (correct counts "
                "exactly, macro-F1 to 1e-12).")
    return (f"**Not every grid equals its record:** {', '.join(differ)} differ(s) from the "
            f"authors' recorded grid at some point; equal at every point: "
            f"{', '.join(equal) or 'none'}.")


# --------------------------------------------------------------------------- captions


def caption_finding(number: int, name: str, drawn: bool | None = None) -> str:
    """Whether a caption's "Exp.<number> (<name>)" is one experiment of the paper.

    ``name`` is the caption's direction, e.g. ``"H->N"``; ``drawn``: whether the notebook
    draws both candidates (None: say nothing about it). Returns Markdown saying which
    experiment the number names and which the direction names.
    """
    exp = protocols.get_experiment(number)
    by_name = [e for e in protocols.EXPERIMENTS if e.name == name]
    if not by_name:
        raise ValueError(f"{name!r} is not the direction of any experiment of the paper "
                         "(use e.g. 'H->N')")
    other = by_name[0]
    if other.number == exp.number:
        return f"The caption's Exp.{number} ({name}) is one experiment: {exp.label}."
    text = (f"**The caption is inconsistent:** its number names {exp.label}, its direction "
            f"{name} is {other.label}.")
    if drawn is None:
        return text
    return text + (" Both are drawn below." if drawn else
                   " With these parameters they are not both drawn below.")
