"""Findings written from the data for notebook 07 (the nine baselines beside TGSR).

Notebook 07 recomputes the baselines of the paper's Tables I and II on the authors' features
and compares them with the paper and with TGSR. The functions here build the small summary
tables of that notebook and turn its computed tables into Markdown bullets, so that a rerun
with other experiments or methods states what *its* data show. The paper's printed numbers
enter only through the tables they are given (``*_paper`` columns, the paper's table), never
as constants here.

Table builders: :func:`paper_gaps`, :func:`best_baselines`, :func:`printed_counts`,
:func:`count_denominator`. Findings (each returns Markdown bullets): :func:`svm_finding`,
:func:`selection_findings`, :func:`kmm_finding`, :func:`interval_finding`,
:func:`paired_finding`, :func:`best_baseline_finding`, :func:`search_size_finding`,
:func:`printed_counts_finding`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tgsr_lib.compare import stats
from tgsr_lib.data import protocols
from tgsr_lib.report.tables import ACC_TOL, F1_TOL

__all__ = ["paper_gaps", "best_baselines", "printed_counts", "count_denominator",
           "svm_finding", "selection_findings", "kmm_finding", "interval_finding",
           "paired_finding", "best_baseline_finding", "search_size_finding",
           "printed_counts_finding"]


def _label(number) -> str:
    return protocols.get_experiment(int(number)).label


def _short(number) -> str:
    return f"Exp.{int(number)}"


def _join(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _require(df: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks the column(s) {', '.join(missing)}: give the table "
                         "built by notebook 07 (see the function's docstring)")


# --------------------------------------------------------------------------- tables


def paper_gaps(cmp: pd.DataFrame, tol: float = 3.0) -> pd.DataFrame:
    """Per method and selection rule: how far our accuracies are from the paper's.

    Parameters
    ----------
    cmp : pandas.DataFrame
        :func:`tgsr_lib.compare.baselines.compare_with_paper` of both selection rules:
        ``method``, ``selection``, ``accuracy_percent``, ``accuracy_percent_paper``,
        ``d_accuracy`` (ours - paper, points).
    tol : float
        Points within which an accuracy counts as close to the paper's.

    Returns
    -------
    pandas.DataFrame
        One row per (method, selection), methods in their order of appearance: ``mean_d``,
        ``mean_abs_d``, ``n_within`` (experiments with ``|d| <= tol``), ``n``, ``mean_acc``
        (ours) and ``mean_acc_paper``, in points.
    """
    _require(cmp, ["method", "selection", "accuracy_percent", "accuracy_percent_paper",
                   "d_accuracy"], "cmp")
    rows = []
    for (method, selection), g in cmp.groupby(["method", "selection"], sort=False):
        d = g.d_accuracy
        rows.append({"method": method, "selection": selection, "mean_d": d.mean(),
                     "mean_abs_d": d.abs().mean(), "n_within": int((d.abs() <= tol).sum()),
                     "n": len(g), "mean_acc": g.accuracy_percent.mean(),
                     "mean_acc_paper": g.accuracy_percent_paper.mean()})
    return pd.DataFrame(rows)


def best_baselines(scores: pd.DataFrame, tests: pd.DataFrame | None = None,
                   reference: str = "TGSR") -> pd.DataFrame:
    """Per experiment: the baseline with the highest accuracy beside the reference method.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per (experiment, method) under one selection rule, the reference included:
        ``experiment``, ``method``, ``accuracy`` and ``macro_f1`` (fractions).
    tests : pandas.DataFrame or None
        The paired tests (``experiment``, ``method``, ``p_holm``, ``verdict``); when given,
        the best baseline's row is joined.
    reference : str
        Name of the reference method in ``scores``.

    Returns
    -------
    pandas.DataFrame
        ``experiment``, ``method`` (the first baseline of maximal accuracy), ``accuracy``,
        ``macro_f1``, ``reference_accuracy``, ``reference_macro_f1`` and, with ``tests``,
        ``p_holm`` and ``verdict``.
    """
    _require(scores, ["experiment", "method", "accuracy", "macro_f1"], "scores")
    rows = []
    for number, g in scores.groupby("experiment", sort=False):
        ref = g[g.method == reference]
        if ref.empty:
            raise ValueError(f"scores has no {reference!r} row for {_label(number)}: give its "
                             "scores too")
        others = g[g.method != reference]
        if others.empty:
            continue
        best = others.loc[others.accuracy.idxmax()]
        row = {"experiment": int(number), "method": best.method, "accuracy": best.accuracy,
               "macro_f1": best.macro_f1, "reference_accuracy": ref.accuracy.iloc[0],
               "reference_macro_f1": ref.macro_f1.iloc[0]}
        if tests is not None:
            t = tests[(tests.experiment == number) & (tests.method == best.method)]
            row["p_holm"] = t.p_holm.iloc[0] if len(t) else np.nan
            row["verdict"] = t.verdict.iloc[0] if len(t) else "not tested"
        rows.append(row)
    return pd.DataFrame(rows)


def printed_counts(paper: pd.DataFrame, n_target: Mapping[str, int]) -> pd.DataFrame:
    """Can each printed accuracy of the paper be ``k / N`` on its target set?

    Parameters
    ----------
    paper : pandas.DataFrame
        The paper's table (``experiment``, ``method``, ``target``, ``accuracy_percent``).
    n_target : Mapping[str, int]
        Number of samples of each target database.

    Returns
    -------
    pandas.DataFrame
        The paper's rows with ``n_target``, ``k_over_n`` (:func:`~tgsr_lib.compare.stats.
        is_k_over_n` at two decimals) and ``nearest`` (the bracketing counts ``k/N = %``,
        :func:`~tgsr_lib.compare.stats.nearest_counts`).
    """
    _require(paper, ["experiment", "method", "target", "accuracy_percent"], "paper")
    missing = sorted(set(paper.target) - set(n_target))
    if missing:
        raise ValueError(f"n_target has no size for {', '.join(missing)}: give the number of "
                         "samples of every target database")
    out = paper[["experiment", "method", "target", "accuracy_percent"]].copy()
    out["n_target"] = [int(n_target[t]) for t in out.target]
    out["k_over_n"] = [stats.is_k_over_n(v, n) for v, n in zip(out.accuracy_percent,
                                                                 out.n_target, strict=True)]
    out["nearest"] = [", ".join(f"{k}/{n} = {p:.2f}" for k, p in stats.nearest_counts(v, n))
                      for v, n in zip(out.accuracy_percent, out.n_target, strict=True)]
    return out.reset_index(drop=True)


def count_denominator(accuracies, max_n: int = 1000, tol: float = 1e-6) -> int:
    """The smallest N for which every accuracy (a fraction) is ``k / N``.

    Used to read the size of a target set from a recorded grid of accuracies (SMIC-HS, whose
    features are not public). With many distinct values this is the set's size; values that
    all share a factor give a divisor of it.
    """
    a = np.unique(np.asarray(accuracies, dtype=float))
    if a.size == 0 or not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
        raise ValueError("accuracies must be a non-empty array of fractions in [0, 1]")
    for n in range(1, int(max_n) + 1):
        if np.all(np.abs(a * n - np.round(a * n)) <= tol * n):
            return n
    raise ValueError(f"no N <= {max_n} makes every accuracy k / N: are these accuracies of "
                     "one target set?")


# --------------------------------------------------------------------------- findings


def svm_finding(svm: pd.DataFrame, grid: pd.DataFrame | None = None, tol: float = 3.0,
                required: int = 4) -> str:
    """The SVM acceptance check: does the unadapted SVM reproduce the paper?

    Parameters
    ----------
    svm : pandas.DataFrame
        SVM at its default setting, one row per experiment: ``experiment``,
        ``accuracy_percent``, ``accuracy_percent_paper``, ``macro_f1``, ``macro_f1_paper``.
    grid : pandas.DataFrame or None
        Every SVM setting tried (``experiment``, ``accuracy`` as a fraction): says whether
        any setting gives the paper's accuracy where the default does not.
    tol, required : float, int
        The criterion: within ``tol`` points on at least ``required`` experiments.
    """
    _require(svm, ["experiment", "accuracy_percent", "accuracy_percent_paper", "macro_f1",
                   "macro_f1_paper"], "svm")
    d = svm.accuracy_percent - svm.accuracy_percent_paper
    exact = (d.abs() <= ACC_TOL) & ((svm.macro_f1 - svm.macro_f1_paper).abs() <= F1_TOL)
    n_ok = int((d.abs() <= tol).sum())
    verdict = "PASS" if n_ok >= required else "FAIL"
    parts = [f"**SVM acceptance check: {verdict}.** {n_ok} of {len(svm)} experiments are "
             f"within {tol:g} points of the paper's accuracy (criterion: at least {required})."]
    if exact.any():
        parts.append("LIBSVM's linear SVM at its default setting prints the paper's accuracy "
                     "and macro-F1 on " + _join([_short(n) for n in svm.experiment[exact]])
                     + ": there, features, protocol and metrics are the paper's.")
    off = svm[~exact]
    if len(off):
        parts.append("It differs on " + _join(
            [f"{_short(r.experiment)} ({r.accuracy_percent - r.accuracy_percent_paper:+.2f} "
             f"points: {r.accuracy_percent:.2f} vs {r.accuracy_percent_paper:.2f})"
             for r in off.itertuples()]) + ".")
        if grid is not None:
            _require(grid, ["experiment", "accuracy"], "grid")
            reach = [n for n, p in zip(off.experiment, off.accuracy_percent_paper, strict=True)
                     if (np.abs(100 * grid.accuracy[grid.experiment == n] - p) <= ACC_TOL).any()]
            rest = [n for n in off.experiment if n not in reach]
            if rest:
                parts.append("No setting of the SVM's grid gives the paper's accuracy on "
                             + _join([_short(n) for n in rest]) + "; the cause is not "
                             "established.")
            if reach:
                parts.append("Another setting of the SVM's grid gives the paper's accuracy on "
                             + _join([_short(n) for n in reach]) + ".")
    return "* " + " ".join(parts)


def selection_findings(gaps: pd.DataFrame, cmp: pd.DataFrame, reference: str = "SVM",
                       tol: float = 3.0, large: float = 5.0) -> str:
    """How our default and oracle settings compare with the paper's baseline numbers.

    Parameters
    ----------
    gaps : pandas.DataFrame
        :func:`paper_gaps` of ``cmp``.
    cmp : pandas.DataFrame
        :func:`tgsr_lib.compare.baselines.compare_with_paper` of both selection rules
        (``experiment``, ``method``, ``selection``, ``d_accuracy``).
    reference : str
        The method without adaptation (left out of "adaptive methods").
    tol : float
        Points within which an accuracy counts as close to the paper's.
    large : float
        Oracle cells more than ``large`` points above the paper are listed.
    """
    _require(gaps, ["method", "selection", "mean_d", "mean_abs_d", "n_within", "n",
                    "mean_acc", "mean_acc_paper"], "gaps")
    _require(cmp, ["experiment", "method", "selection", "d_accuracy"], "cmp")
    g = {sel: gaps[gaps.selection == sel].set_index("method") for sel in ("default", "oracle")}
    bullets = []
    dft = g["default"].drop(index=reference, errors="ignore")
    if len(dft):
        below = dft[dft.mean_d < 0]
        lo, hi = dft.mean_abs_d.idxmin(), dft.mean_abs_d.idxmax()
        close = dft[2 * dft.n_within >= dft.n]
        bullets.append(
            f"* **Default settings (no target label)**: {len(below)} of {len(dft)} adaptive "
            f"methods fall below the paper on average (mean d < 0); mean |d| ranges from "
            f"{dft.mean_abs_d[lo]:.2f} ({lo}) to {dft.mean_abs_d[hi]:.2f} ({hi}) points. "
            f"Within {tol:g} points on at least half of the experiments: "
            + (_join([f"{m} ({int(r.n_within)} of {int(r.n)})" for m, r in close.iterrows()])
               or "none") + ".")
    orc = g["oracle"]
    if len(orc):
        ranked = orc.sort_values("mean_abs_d")
        c = cmp[cmp.selection == "oracle"]
        same = c[c.d_accuracy.abs() <= ACC_TOL]
        prints = "s print" if len(same) != 1 else " prints"
        bullets.append(
            "* **Oracle settings (best target macro-F1)**, mean |d| from closest to farthest: "
            + ", ".join(f"{m} {r.mean_abs_d:.2f}" for m, r in ranked.iterrows()) + ". "
            + (f"{len(same)} cell{prints} the paper's accuracy: "
               + _join([f"{r.method} on {_short(r.experiment)}" for r in same.itertuples()])
               if len(same) else "No cell prints the paper's accuracy") + ".")
        below = orc[orc.mean_d < -tol]
        if len(below):
            texts = []
            for m, r in below.iterrows():
                cm = c[c.method == m]
                worst = cm.loc[cm.d_accuracy.idxmin()]
                texts.append(f"{m} (mean d {r.mean_d:+.2f}; below the paper on "
                             f"{int((cm.d_accuracy < -ACC_TOL).sum())} of {len(cm)}, most on "
                             f"{_short(worst.experiment)}: {worst.d_accuracy:+.2f})")
            bullets.append(f"* **Below the paper even with the oracle** (mean d below "
                           f"-{tol:g} points): " + _join(texts) + ".")
        above = c[c.d_accuracy > large].sort_values("d_accuracy", ascending=False)
        if len(above):
            bullets.append(f"* **Above the paper with the oracle** (more than {large:g} "
                           "points): " + _join([f"{r.method} on {_short(r.experiment)} "
                                                f"({r.d_accuracy:+.2f})"
                                                for r in above.itertuples()]) + ".")
    if len(dft) and len(orc):
        both = g["default"].add_suffix("_default").join(g["oracle"].add_suffix("_oracle"),
                                                      how="inner")
        gain = both.mean_acc_oracle - both.mean_acc_default
        m = gain.idxmax()
        spread = both.mean_acc_paper_default.max() - both.mean_acc_paper_default.min()
        verdict = ("at least as large as" if gain[m] >= spread else "smaller than")
        bullets.append(
            f"* **Selection matters as much as the method?** The largest gain from default to "
            f"oracle is {m}'s ({both.mean_acc_default[m]:.2f} -> {both.mean_acc_oracle[m]:.2f}"
            f" mean accuracy, {gain[m]:+.2f} points), {verdict} the spread of the paper's "
            f"mean accuracies across these methods ({spread:.2f} points)"
            + (": a ranking of these methods depends on the selection rule as much as on the "
               "method." if gain[m] >= spread else "."))
    return "\n".join(bullets)


def kmm_finding(kmm: pd.DataFrame, zero: float = 1e-6) -> str:
    """What the KMM weights of IW-SVM look like.

    Parameters
    ----------
    kmm : pandas.DataFrame
        One row per experiment: ``experiment``, ``n_source``, ``n_zero`` (weights below
        ``zero``), ``median`` and ``max`` of the weights.
    """
    _require(kmm, ["experiment", "n_source", "n_zero", "median", "max"], "kmm")
    share = kmm.n_zero / kmm.n_source
    half = kmm[share >= 0.5]
    top = kmm.loc[share.idxmax()]
    return (f"* **KMM weights.** At IW-SVM's default setting, KMM gives zero weight (below "
            f"{zero:g}) to at least half of the source samples on {len(half)} of {len(kmm)} "
            f"experiments; most on {_short(top.experiment)}: {int(top.n_zero)} of "
            f"{int(top.n_source)} zero, median weight {top['median']:.3f}, largest "
            f"{top['max']:.3g}. "
            + ("The SVM then learns from a few source samples." if len(half) else
               "Most source samples keep a weight."))


def interval_finding(scores: pd.DataFrame) -> str:
    """How wide the 95% intervals of one accuracy are at each target size.

    ``scores``: rows of :func:`tgsr_lib.compare.paired.summary` (``n``, ``accuracy_low``,
    ``accuracy_high``, ``macro_f1_low``, ``macro_f1_high``).
    """
    _require(scores, ["n", "accuracy_low", "accuracy_high", "macro_f1_low", "macro_f1_high"],
             "scores")
    parts = []
    for n, g in scores.groupby("n"):
        w = 100 * (g.accuracy_high - g.accuracy_low)
        f = 100 * (g.macro_f1_high - g.macro_f1_low)
        parts.append(f"N = {n}: one sample is {100 / n:.2f} points; the accuracy intervals "
                     f"span {w.min():.1f}-{w.max():.1f} points, the macro-F1 intervals "
                     f"{f.min():.1f}-{f.max():.1f} points (F1 x 100)")
    return ("* **How precise one number is.** 95% intervals (Clopper-Pearson for accuracy, "
            "bootstrap for macro-F1): " + "; ".join(parts) + ".")


def paired_finding(tests: pd.DataFrame, alpha: float = 0.05, reference: str = "TGSR") -> str:
    """The paired comparisons of the reference with each baseline, Holm-adjusted.

    ``tests``: one row per comparison: ``experiment``, ``method``, ``p_value``, ``p_holm``
    (adjusted over all rows: the family) and ``verdict``.
    """
    _require(tests, ["experiment", "method", "p_value", "p_holm", "verdict"], "tests")
    n, n_m, n_e = len(tests), tests.method.nunique(), tests.experiment.nunique()
    sig = tests[tests.p_holm <= alpha]
    raw = int((tests.p_value <= alpha).sum())
    head = (f"* **Paired tests (exact McNemar, Holm over one family of {n} comparisons: "
            f"{reference} against {n_m} baselines on {n_e} experiments).** ")
    if sig.empty:
        best = tests.loc[tests.p_holm.idxmin()]
        return (head + f"None is significant at the {alpha:g} level after Holm ({raw} are "
                f"before the correction); the smallest adjusted p is {best.p_holm:.3g} "
                f"({best.method} on {_short(best.experiment)}). Under the paper's own "
                f"selection, these data do not separate {reference} from the baselines.")
    ref_better = sig[sig.verdict == f"{reference} better"]
    other = sig[sig.verdict != f"{reference} better"]
    text = head + f"{len(sig)} of {n} are significant after Holm ({raw} before): "
    items = []
    if len(ref_better):
        items.append(f"{reference} better than " + _join(
            [f"{r.method} on {_short(r.experiment)} (p = {r.p_holm:.3g})"
             for r in ref_better.itertuples()]))
    if len(other):
        items.append(_join([f"{r.method} better on {_short(r.experiment)} "
                            f"(p = {r.p_holm:.3g})" for r in other.itertuples()]))
    return text + "; ".join(items) + f". The other {n - len(sig)} differences are not " \
        "significant."


def best_baseline_finding(best: pd.DataFrame, alpha: float = 0.05,
                          reference: str = "TGSR") -> str:
    """Does the best oracle-tuned baseline beat the reference, and is the difference real?

    ``best``: :func:`best_baselines` with the ``tests`` joined (``p_holm``, ``verdict``).
    """
    _require(best, ["experiment", "method", "accuracy", "macro_f1", "reference_accuracy",
                    "reference_macro_f1", "p_holm", "verdict"], "best")
    acc = best[best.accuracy > best.reference_accuracy]
    f1 = best[best.macro_f1 > best.reference_macro_f1]
    sig = acc[acc.p_holm <= alpha]
    return (f"* **Best oracle-tuned baseline against {reference}** (both at their oracle "
            f"points): higher accuracy on {len(acc)} of {len(best)} experiments"
            + (": " + _join([f"{r.method} on {_short(r.experiment)} "
                             f"({100 * (r.accuracy - r.reference_accuracy):+.2f} points)"
                             for r in acc.itertuples()]) if len(acc) else "")
            + ";"
            + f" higher macro-F1 on {len(f1)} of {len(best)}. "
            + (f"{len(sig)} of these accuracy differences "
               f"{'is' if len(sig) == 1 else 'are'} significant after Holm"
               + (": " + _join([f"{r.method} on {_short(r.experiment)}"
                                for r in sig.itertuples()]) if len(sig) else "")
               + "." if len(acc) else ""))


def search_size_finding(sizes: Mapping[str, int], reference: str = "TGSR") -> str:
    """How many points each method's oracle chooses from.

    ``sizes``: method -> number of grid points its oracle reads (the reference included).
    """
    if reference not in sizes:
        raise ValueError(f"sizes has no {reference!r} entry: give the size of its grid too")
    others = {m: int(v) for m, v in sizes.items() if m != reference}
    ref = int(sizes[reference])
    if not others:
        return f"* **Search size.** {reference}'s oracle picks the best of {ref:,} points."
    lo, hi = min(others.values()), max(others.values())
    at = {v: _join([m for m, s in others.items() if s == v]) for v in (lo, hi)}
    ratio = ref / hi
    verdict = (f"{ratio:,.0f} times the largest baseline grid" if ref > hi
               else "no more than the largest baseline grid")
    return (f"* **Search size.** {reference}'s oracle picks the best of {ref:,} grid points, "
            f"{verdict}; each baseline's oracle picks among its own grid, from {lo:,} "
            f"({at[lo]}) to {hi:,} ({at[hi]}) points. The best of more points is inflated "
            "more by chance, so the oracle columns favour the method with the larger grid.")


def printed_counts_finding(table: pd.DataFrame) -> str:
    """Which of the paper's printed accuracies cannot be ``k / N`` (:func:`printed_counts`)."""
    _require(table, ["experiment", "method", "accuracy_percent", "n_target", "k_over_n",
                     "nearest"], "table")
    bad = table[~table.k_over_n]
    head = (f"* **Printed accuracies as counts.** {int(table.k_over_n.sum())} of {len(table)} "
            "of the paper's accuracies are k/N (to two decimals) for the size N of their "
            "target set")
    if bad.empty:
        return head + "; every one is."
    return head + f"; {len(bad)} {'is' if len(bad) == 1 else 'are'} not: " + _join(
        [f"{r.method} {_short(r.experiment)} {r.accuracy_percent:.2f} (N = {r.n_target}; "
         f"nearest {r.nearest})" for r in bad.itertuples()]) + \
        ". No classifier output on that target set gives these numbers."
