"""Findings of notebook 08 (label-free selection against the oracle), written from its tables.

Each function takes a table the notebook computes and returns Markdown, so a rerun with other
parameters (experiments, groupings, sub-grid, rules) states what *its* tables show. Scores in
the tables are percentages (``f1``, ``acc``, and the method columns of the baseline tables)
unless a docstring says fractions.

The tables:

* ``long``: one row per (experiment, grouping, selection) with ``experiment``, ``grouping``,
  ``selection`` (``oracle``, ``oracle_subgrid`` or a rule), ``kappa``, ``xi``, ``f1``, ``acc``;
* ``corr``: Spearman correlation of each rule's score with the target macro-F1, one row per
  (grouping, experiment), one column per rule;
* ``base``: one row per (method, experiment) with ``default``, ``oracle`` and, for the methods
  the rules ran on, one column per rule;
* ``board``: mean target macro-F1 per method (rows) under each selection (columns);
* ``tests``: :func:`tgsr_lib.compare.paired.paired_tests` rows with ``rule`` and
  ``experiment``, Holm-adjusted over one family per rule;
* ``bias``: one row per (method, experiment) with the fields of
  :func:`tgsr_lib.compare.selection_bias.search_null` (fractions) and ``label_free`` (the
  macro-F1 fraction at the method's label-free choice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from tgsr_lib.data import protocols

__all__ = ["gap_finding", "subgrid_finding", "tracking_finding", "xi_pick_finding",
           "weights_finding", "fixed_rule_finding", "baseline_finding", "ranking_finding",
           "paired_finding", "bias_finding", "resolution_note", "flatter_weights_finding",
           "gaps"]

#: Rules that score the source predictions (plain or importance-weighted accuracy).
CV_RULES = ("source_cv", "iwcv", "dev")


def _label(n) -> str:
    return protocols.get_experiment(int(n)).label


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def gaps(long: pd.DataFrame, grouping: str, metric: str = "f1",
         reference: str = "oracle") -> pd.DataFrame:
    """``reference`` minus each other selection, in points, one row per experiment."""
    d = long[long.grouping == grouping].pivot(index="experiment", columns="selection",
                                              values=metric)
    return pd.DataFrame({s: d[reference] - d[s] for s in d.columns if s != reference})


def gap_finding(long: pd.DataFrame, grouping: str, rules: Sequence[str],
                within: float = 2.0) -> str:
    """How far each rule's pick is from the full-grid oracle for one grouping: the rule with
    the smallest mean macro-F1 gap, its largest gap and how often it is within ``within``
    points, then the others in order."""
    g = gaps(long, grouping)[list(rules)]
    g_acc = gaps(long, grouping, "acc")[list(rules)]
    f1 = long[long.grouping == grouping].groupby("selection")["f1"].mean()
    order = g.mean().sort_values(kind="stable").index.tolist()
    best = order[0]
    worst_exp = g[best].idxmax()
    hits = g.index[g[best] <= within].tolist()
    hit_text = (f" (at {_names([_label(n) for n in hits])})" if hits else "")
    n = len(g)
    text = (f"With the `{grouping}` grouping the oracle (first best target macro-F1 of the full "
            f"grid) averages **{f1['oracle']:.2f}%** over {n} experiment(s). The label-free rule "
            f"closest to it is `{best}`: **{f1[best]:.2f}%** on average, a mean gap of "
            f"**{g[best].mean():.2f} macro-F1 points** ({g_acc[best].mean():.2f} accuracy "
            f"points), at most {g[best].max():.2f} ({_label(worst_exp)}), within {within:g} "
            f"points of the oracle in {len(hits)} of {n}{hit_text}.")
    if len(order) > 1:
        others = ", ".join(f"`{r}` {g[r].mean():.2f} ({f1[r]:.2f}%)" for r in order[1:])
        text += f" Mean gaps of the other rules, closest first: {others}."
    return text


def subgrid_finding(long: pd.DataFrame, groupings: Sequence[str], rules: Sequence[str]) -> str:
    """Is the sub-grid the reason for the gaps? The sub-grid oracle's shortfall against the
    full-grid oracle beside the best rule's gap to the sub-grid oracle."""
    all_gaps = pd.concat([gaps(long, g) for g in groupings])
    shortfall = {g: gaps(long, g)["oracle_subgrid"].mean() for g in groupings}
    to_sub = all_gaps[list(rules)].sub(all_gaps["oracle_subgrid"], axis=0)
    best = all_gaps[list(rules)].mean().idxmin()
    mean_short = all_gaps["oracle_subgrid"].mean()
    part = ", ".join(f"{v:.2f} ({g})" for g, v in shortfall.items())
    verdict = ("**The sub-grid is not the reason.**" if mean_short < to_sub[best].mean()
               else "**The sub-grid explains much of the gap.**")
    return (f"{verdict} The oracle restricted to the points the rules saw is on average "
            f"{part} macro-F1 points below the full-grid oracle, while the best rule over all "
            f"{len(all_gaps)} (experiment, grouping) cases, `{best}`, is "
            f"{to_sub[best].mean():.2f} points below the sub-grid oracle: that part is the "
            "rule's choice.")


def tracking_finding(corr: pd.DataFrame) -> str:
    """Which rule's score ranks the grid points most like the target macro-F1 (mean Spearman
    over the cases), and whether the rules that score source predictions track it less."""
    mean = corr.mean().sort_values(ascending=False, kind="stable")
    listed = ", ".join(f"`{r}` {v:.2f}" for r, v in mean.items())
    cv = [r for r in mean.index if r in CV_RULES]
    other = [r for r in mean.index if r not in CV_RULES]
    text = (f"Mean Spearman correlation of each rule's score with the target macro-F1 over "
            f"the {len(corr)} cases, highest first: {listed}.")
    if cv and other:
        below = mean[cv].max() < mean[other].min()
        text += (" Every rule that scores source predictions tracks the target less than "
                 f"{_names([f'`{r}`' for r in other])}." if below else
                 " The rules that score source predictions are not uniformly the weakest.")
    return text


def xi_pick_finding(long: pd.DataFrame, grouping: str, rules: Sequence[str],
                    small_xi: float) -> str:
    """In how many experiments each rule (and the oracle) picks xi <= ``small_xi``: a rule
    that reads source accuracy has no reason to keep the transfer term."""
    d = long[(long.grouping == grouping) & long.selection.isin(["oracle", *rules])]
    counts = (d.xi <= small_xi).groupby(d.selection).sum()
    n = d.experiment.nunique()
    parts = ", ".join(f"`{s}` {int(counts[s])}" for s in ["oracle", *rules] if s in counts)
    cv = [r for r in rules if r in CV_RULES]
    text = (f"Experiments (of {n}, `{grouping}` grouping) in which a selection picks "
            f"xi <= {small_xi:g}: {parts}.")
    if cv and all(counts[r] > counts["oracle"] for r in cv):
        text += (f" With the `{grouping}` grouping every rule that scores source predictions "
                 "switches the transfer term off more often than the oracle does.")
    return text


def weights_finding(ess: pd.DataFrame, all_gaps: pd.DataFrame, tolerance: float = 2.0) -> str:
    """How far the domains are apart (effective sample size of the importance weights) and
    whether importance weighting (IWCV, DEV) narrows plain source CV's gap (by less than
    ``tolerance`` points: "barely").

    ``ess`` has ``source samples``, ``ESS`` and ``ESS %`` per experiment (index: label);
    ``all_gaps`` the macro-F1 gaps of every (experiment, grouping) case, one column per rule.
    """
    low, high = ess["ESS %"].min(), ess["ESS %"].max()
    worst = ess["ESS"].idxmin()
    text = (f"The importance weights keep an effective {low:.1f}-{high:.1f}% of the source "
            f"samples (fewest: {ess.loc[worst, 'ESS']:.1f} of "
            f"{int(ess.loc[worst, 'source samples'])} for {worst}).")
    if {"source_cv", "iwcv", "dev"} <= set(all_gaps.columns):
        m = all_gaps.mean()
        gain = m["source_cv"] - m[["iwcv", "dev"]]
        verdict = "barely narrow" if gain.max() < tolerance else "narrow"
        text += (f" IWCV and DEV {verdict} plain source CV's mean gap over the "
                 f"{len(all_gaps)} cases: {m['iwcv']:.2f} and {m['dev']:.2f} against "
                 f"{m['source_cv']:.2f} points.")
    return text


def fixed_rule_finding(board: pd.DataFrame, rule: str, rows: Sequence[str]) -> str:
    """The mean target macro-F1 of TGSR when ``rule`` is fixed before looking at any table."""
    parts = ", ".join(f"{board.loc[r, rule]:.2f}% ({r})" for r in rows)
    best = board.loc[list(rows)].drop(columns=["oracle", "default"], errors="ignore")
    best = best.mean().idxmax()
    return (f"**Choosing the rule is itself a choice.** Naming the best rule after seeing these "
            f"tables uses the target labels once more (here `{best}` has the highest mean). A "
            f"rule fixed in advance, `{rule}`, gives on average {parts}.")


def baseline_finding(base: pd.DataFrame, rules: Sequence[str]) -> str:
    """How far each baseline's default and rule picks are from its own oracle."""
    gap = base.assign(**{c: base["oracle"] - base[c] for c in ["default", *rules]
                         if c in base})
    means = gap.groupby("method", sort=False)[["default", *rules]].mean()
    top = means["default"].sort_values(ascending=False, kind="stable")
    top3 = ", ".join(f"{m} ({v:.2f})" for m, v in top.head(3).items())
    zero = means.index[means["default"].abs() < 1e-9].tolist()
    text = (f"**Baselines.** Their oracles flatter too: the default settings (no target label) "
            f"are on average {means['default'].mean():.2f} macro-F1 points below each method's "
            f"own oracle over the {len(means)} baselines; most for {top3}.")
    if zero:
        text += f" The default already is the oracle for {_names(zero)}."
    ruled = means.dropna(subset=list(rules), how="all")
    for method, row in ruled.iterrows():
        r = row[list(rules)].dropna()
        text += (f" {method}: best rule `{r.idxmin()}` ({r.min():.2f} points below the "
                 f"oracle), worst `{r.idxmax()}` ({r.max():.2f}), default {row['default']:.2f}.")
    return text


def ranking_finding(board: pd.DataFrame, reference: str) -> str:
    """Where ``reference`` (a row of ``board``) ranks with and without target labels."""
    others = board.drop(index=[i for i in board.index if i.startswith("TGSR")])
    oracle_rank = int((others["oracle"] > board.loc[reference, "oracle"]).sum()) + 1
    closest = (others["oracle"] - board.loc[reference, "oracle"]).abs().idxmin()
    free_cols = [c for c in board.columns if c != "oracle"]
    ref_free = board.loc[reference, free_cols].dropna()
    base_free = others[free_cols].stack()
    best_base = base_free.idxmax()
    text = (f"**Ranking with and without labels.** With the oracle {reference} averages "
            f"{board.loc[reference, 'oracle']:.2f}%, rank {oracle_rank} of {len(others) + 1} "
            f"beside the {len(others)} baselines (closest: {closest}, "
            f"{others.loc[closest, 'oracle']:.2f}%). "
            f"Label-free, its best selection (`{ref_free.idxmax()}`, {ref_free.max():.2f}%) ")
    if ref_free.max() > base_free.max():
        text += "stays above every label-free baseline number in the table"
    else:
        text += "does not beat every label-free baseline number in the table"
    text += f" (best: {best_base[0]} with `{best_base[1]}`, {base_free.max():.2f}%)"
    if ref_free.min() <= base_free.max():
        text += (f"; its worst (`{ref_free.idxmin()}`, {ref_free.min():.2f}%) does not, so the "
                 "ranking depends on the rule")
    return text + "."


def paired_finding(tests: pd.DataFrame, alpha: float = 0.05) -> str:
    """The paired comparisons at the label-free picks: for each rule (one Holm family) how
    many comparisons are significant and in whose favour."""
    lines = []
    for rule, d in tests.groupby("rule", sort=False):
        sig = d[d.p_holm <= alpha]
        head = (f"* `{rule}` ({len(d)} comparisons, Holm over this rule's family): "
                f"TGSR has the higher accuracy in {int((d.acc_reference > d.acc_method).sum())}, "
                f"{len(sig)} significant at {alpha:g}")
        if len(sig):
            items = [f"{r.verdict} on {_label(r.experiment)} vs {r.method} "
                     f"(Holm p = {r.p_holm:.3g})" for r in sig.itertuples()]
            head += ": " + "; ".join(items)
        else:
            head += f" (smallest Holm p = {d.p_holm.min():.3g})"
        lines.append(head + ".")
    return "\n".join(lines)


def bias_finding(bias: pd.DataFrame, alpha: float = 0.05) -> str:
    """What each method's oracle best is worth against its shuffled-label null, and how far
    its label-free choice falls below it (one bullet per method)."""
    lines = []
    for method, d in bias.groupby("method", sort=False):
        above = int((d.p_value <= alpha).sum())
        lines.append(
            f"* **{method}** ({int(d.n_points.iloc[0])} points searched here): oracle "
            f"{100 * d.oracle.mean():.2f}% mean macro-F1; the best of the same points on "
            f"shuffled labels averages {100 * d.null_mean.mean():.2f}% (one fixed point: "
            f"{100 * d.point_null.mean():.2f}%, so the search alone adds "
            f"{100 * d.search_gain.mean():.2f} points); the oracle beats the null at "
            f"p <= {alpha:g} in {above} of {len(d)} experiments; the label-free choice "
            f"averages {100 * d.label_free.mean():.2f}% "
            f"({100 * (d.oracle - d.label_free).mean():.2f} points below the oracle).")
    return "\n".join(lines)


def resolution_note(sizes: Mapping[str, int]) -> str:
    """How many accuracy points one target sample is worth, for each target database."""
    parts = ", ".join(f"one {name} sample is {100 / n:.2f} accuracy points (N = {n})"
                      for name, n in sizes.items())
    return (f"**Caveats.** The targets are small: {parts}, so gaps of a few points are a few "
            "samples.")


def flatter_weights_finding(ess: Mapping[str, float], n_source: int) -> str:
    """Which of two importance weightings is closer to uniform (larger effective sample
    size), with both values."""
    (a, ea), (b, eb) = list(ess.items())[:2]
    flat, other = (a, b) if ea >= eb else (b, a)
    return (f"Effective sample size of the importance weights on all {n_source} source "
            f"samples: {a} {ea:.1f}, {b} {eb:.1f}. {flat[0].upper() + flat[1:]} gives the "
            f"flatter weights, so the IWCV score built on it stays closer to the unweighted "
            f"accuracy than the one built on {other}.")

