"""Findings of notebook 08 written from small synthetic tables (no data files)."""

import numpy as np
import pandas as pd

from tgsr_lib.report import selection_findings as sf

RULES = ["source_cv", "reverse", "mmd"]


def long_table(values, grouping="authors", xis=None):
    """values: {selection: [f1 per experiment]} for Exp.5 and Exp.6; acc = f1."""
    rows = []
    for sel, f1s in values.items():
        for i, (n, f1) in enumerate(zip((5, 6), f1s, strict=True)):
            xi = (xis or {}).get(sel, [1.0, 1.0])[i]
            rows.append({"experiment": n, "grouping": grouping, "selection": sel, "kappa": 1,
                         "xi": xi, "f1": f1, "acc": f1})
    return pd.DataFrame(rows)


BASE = {"oracle": [70.0, 80.0], "oracle_subgrid": [70.0, 79.0], "source_cv": [50.0, 60.0],
        "reverse": [69.0, 70.0], "mmd": [60.0, 78.5]}


def test_gap_names_the_closest_rule_and_flips():
    text = sf.gap_finding(long_table(BASE), "authors", RULES)
    assert "closest to it is `reverse`: **69.50%**" in text
    assert "mean gap of **5.50 macro-F1 points**" in text
    assert "at most 10.00 (Exp.6 (N->V))" in text
    assert "within 2 points of the oracle in 1 of 2 (at Exp.5 (V->N))" in text
    assert "`mmd` 5.75 (69.25%), `source_cv` 20.00" in text
    flipped = dict(BASE, mmd=[70.0, 79.0])
    text = sf.gap_finding(long_table(flipped), "authors", RULES)
    assert "closest to it is `mmd`" in text and "in 2 of 2" in text


def test_subgrid_verdict_flips():
    both = pd.concat([long_table(BASE), long_table(BASE, "blocks")])
    text = sf.subgrid_finding(both, ["authors", "blocks"], RULES)
    assert "is not the reason" in text and "0.50 (authors), 0.50 (blocks)" in text
    assert "`reverse`, is 5.00 points below the sub-grid oracle" in text
    coarse = dict(BASE, oracle_subgrid=[60.0, 70.0])
    both = pd.concat([long_table(coarse), long_table(coarse, "blocks")])
    assert "explains much of the gap" in sf.subgrid_finding(both, ["authors", "blocks"], RULES)


def test_tracking():
    corr = pd.DataFrame({"source_cv": [0.1, 0.2], "iwcv": [0.2, 0.2], "reverse": [0.5, 0.7]})
    text = sf.tracking_finding(corr)
    assert "`reverse` 0.60, `iwcv` 0.20, `source_cv` 0.15" in text
    assert "tracks the target less than `reverse`" in text
    corr["iwcv"] = [0.9, 0.9]
    assert "not uniformly the weakest" in sf.tracking_finding(corr)


def test_xi_picks():
    xis = {"oracle": [5.0, 0.001], "source_cv": [0.001, 0.001], "reverse": [3.0, 4.0],
           "mmd": [0.01, 2.0]}
    text = sf.xi_pick_finding(long_table(BASE, xis=xis), "authors", RULES, 0.1)
    assert "`oracle` 1, `source_cv` 2, `reverse` 0, `mmd` 1" in text
    assert "With the `authors` grouping every rule that scores source predictions switches" in text
    xis["oracle"] = [0.001, 0.001]
    assert "switch" not in sf.xi_pick_finding(long_table(BASE, xis=xis), "authors", RULES, 0.1)


def test_weights():
    ess = pd.DataFrame({"source samples": [71, 130], "ESS": [35.0, 13.0],
                        "ESS %": [49.3, 10.0]}, index=["Exp.5 (V->N)", "Exp.9 (C->V)"])
    g = pd.DataFrame({"source_cv": [10.0, 12.0], "iwcv": [10.0, 11.0], "dev": [11.0, 11.0]})
    text = sf.weights_finding(ess, g)
    assert "10.0-49.3%" in text and "13.0 of 130 for Exp.9 (C->V)" in text
    assert "barely narrow" in text and "10.50 and 11.00 against 11.00" in text
    g["iwcv"] = [1.0, 1.0]
    assert "barely" not in sf.weights_finding(ess, g)


def board_table():
    return pd.DataFrame({"oracle": [62.0, 65.0, 53.0, 62.5], "default": [np.nan, np.nan, 49.0,
                                                                         50.0],
                         "reverse": [56.0, 53.0, 52.0, np.nan],
                         "mmd": [58.0, 59.0, np.nan, np.nan]},
                        index=["TGSR (authors)", "TGSR (blocks)", "SVM", "GFK"])


def test_fixed_rule():
    text = sf.fixed_rule_finding(board_table(), "reverse", ["TGSR (authors)", "TGSR (blocks)"])
    assert "56.00% (TGSR (authors)), 53.00% (TGSR (blocks))" in text
    assert "here `mmd` has the highest mean" in text


def test_ranking_flips():
    board = board_table()
    text = sf.ranking_finding(board, "TGSR (authors)")
    assert "rank 2 of 3" in text and "closest: GFK, 62.50%" in text
    assert "(`mmd`, 58.00%) stays above" in text and "best: SVM with `reverse`, 52.00%" in text
    board.loc["SVM", "reverse"] = 60.0
    text = sf.ranking_finding(board, "TGSR (authors)")
    assert "does not beat every label-free baseline" in text


def test_baselines():
    base = pd.DataFrame({"method": ["SVM", "SVM", "GFK", "GFK"], "experiment": [5, 6, 5, 6],
                         "default": [60.0, 60.0, 50.0, 50.0], "oracle": [60.0, 60.0, 70.0, 60.0],
                         "source_cv": [55.0, 55.0, np.nan, np.nan],
                         "reverse": [59.0, 59.0, np.nan, np.nan]})
    text = sf.baseline_finding(base, ["source_cv", "reverse"])
    assert "on average 7.50 macro-F1 points below" in text and "most for GFK (15.00), SVM" in text
    assert "default already is the oracle for SVM" in text
    assert "SVM: best rule `reverse` (1.00 points below the oracle), worst `source_cv` (5.00)" \
        in text
    assert "GFK: best rule" not in text


def test_paired():
    tests = pd.DataFrame({"rule": ["reverse"] * 2 + ["dev"] * 2, "experiment": [5, 6, 5, 6],
                          "method": ["SVM", "DRLS", "SVM", "DRLS"],
                          "acc_reference": [0.7, 0.6, 0.5, 0.5],
                          "acc_method": [0.5, 0.65, 0.6, 0.4],
                          "p_holm": [0.01, 0.9, 0.2, 0.3],
                          "verdict": ["TGSR better", "no significant difference"] + [
                              "no significant difference"] * 2})
    text = sf.paired_finding(tests)
    assert ("`reverse` (2 comparisons, Holm over this rule's family): TGSR has the higher "
            "accuracy in 1, 1 significant at 0.05: TGSR better on Exp.5 (V->N) vs SVM "
            "(Holm p = 0.01)") in text
    assert "`dev` (2 comparisons" in text
    assert "0 significant at 0.05 (smallest Holm p = 0.2)" in text


def test_bias():
    bias = pd.DataFrame({"method": ["TGSR", "TGSR", "SVM", "SVM"], "experiment": [5, 6, 5, 6],
                         "n_points": [616, 616, 4, 4], "oracle": [0.7, 0.8, 0.6, 0.5],
                         "null_mean": [0.45, 0.45, 0.4, 0.4], "point_null": [0.3, 0.3, 0.3, 0.3],
                         "search_gain": [0.15, 0.15, 0.1, 0.1], "p_value": [0.005, 0.005, 0.01,
                                                                            0.2],
                         "label_free": [0.6, 0.7, 0.6, 0.5]})
    text = sf.bias_finding(bias)
    assert "**TGSR** (616 points searched here): oracle 75.00%" in text
    assert "averages 45.00% (one fixed point: 30.00%, so the search alone adds 15.00 points)" \
        in text
    assert "in 2 of 2 experiments; the label-free choice averages 65.00% (10.00 points" in text
    assert "**SVM** (4 points searched here)" in text and "in 1 of 2 experiments" in text


def test_resolution_and_weights_comparison():
    text = sf.resolution_note({"SMIC": 71, "CASME II": 130})
    assert "one SMIC sample is 1.41 accuracy points (N = 71)" in text and "0.77" in text
    text = sf.flatter_weights_finding({"skada's KDE": 59.6, "the project's": 35.2}, 71)
    assert "Skada's KDE gives the flatter weights" in text and "built on the project's." in text
    text = sf.flatter_weights_finding({"skada's KDE": 20.0, "the project's": 35.2}, 71)
    assert "The project's gives the flatter weights" in text
