"""Findings of notebook 07 written from the data: small synthetic tables whose right
conclusion is known (no data files). Each finding names the right row, and its verdict flips
when the data flip."""

import numpy as np
import pandas as pd
import pytest

from tgsr_lib.compare import stats
from tgsr_lib.report import baseline_findings as bf


def cmp_table(d_default, d_oracle, paper=(60.0, 50.0, 40.0), methods=("SVM", "A", "B")):
    """compare_with_paper-like rows: d[method] = ours - paper on experiments 5 and 9."""
    rows = []
    for sel, d in (("default", d_default), ("oracle", d_oracle)):
        for m, p in zip(methods, paper, strict=True):
            for e, dd in zip((5, 9), d[m], strict=True):
                rows.append({"experiment": e, "method": m, "selection": sel,
                             "accuracy_percent": p + dd, "accuracy_percent_paper": p,
                             "d_accuracy": dd})
    return pd.DataFrame(rows)


def test_paper_gaps_by_hand():
    cmp = cmp_table({"SVM": (0, 0), "A": (-4, -2), "B": (-10, 2)},
                    {"SVM": (1, 1), "A": (-1, 5), "B": (0, 0)})
    g = bf.paper_gaps(cmp).set_index(["method", "selection"])
    assert g.loc[("A", "default"), "mean_d"] == -3
    assert g.loc[("A", "default"), "mean_abs_d"] == 3
    assert g.loc[("A", "default"), "n_within"] == 1  # |-4| > 3, |-2| <= 3
    assert g.loc[("B", "default"), "mean_acc"] == 36  # (30 + 42) / 2
    assert g.loc[("B", "oracle"), "mean_acc_paper"] == 40
    with pytest.raises(ValueError, match="d_accuracy"):
        bf.paper_gaps(cmp.drop(columns="d_accuracy"))


def test_selection_findings_name_the_right_rows_and_flip():
    cmp = cmp_table({"SVM": (0, 0), "A": (-4, -2), "B": (-10, -8)},
                    {"SVM": (9, 0), "A": (-6, -5), "B": (0.001, 1)})
    text = bf.selection_findings(bf.paper_gaps(cmp), cmp)
    assert "2 of 2 adaptive methods fall below" in text
    assert "from 3.00 (A) to 9.00 (B)" in text
    assert "A (1 of 2)" in text and "B (1 of 2)" not in text
    assert "mean |d| from closest to farthest: B 0.50, SVM 4.50, A 5.50" in text
    assert "2 cells print the paper's accuracy: SVM on Exp.9 and B on Exp.5" in text
    assert "Below the paper even with the oracle" in text and "A (mean d -5.50" in text
    assert "most on Exp.5: -6.00" in text
    assert "SVM on Exp.5 (+9.00)" in text
    # B gains 9.5 points from default to oracle; the paper's methods spread 20 points
    assert "B's (31.00 -> 40.50 mean accuracy, +9.50 points), smaller than" in text
    # flipped data: defaults above the paper, oracle near it, gain beyond the paper's spread
    flipped = cmp_table({"SVM": (0, 0), "A": (4, 2), "B": (-10, -10)},
                        {"SVM": (0, 0), "A": (4, 2), "B": (20, 20)}, paper=(50, 50, 45))
    text = bf.selection_findings(bf.paper_gaps(flipped), flipped)
    assert "1 of 2 adaptive methods fall below" in text
    assert "Below the paper even with the oracle" not in text
    assert "at least as large as" in text and "depends on the selection rule" in text


def test_svm_finding_pass_fail_and_grid():
    svm = pd.DataFrame({"experiment": [5, 6, 9], "accuracy_percent": [63.3803, 50.0, 40.0],
                        "accuracy_percent_paper": [63.38, 51.0, 45.0],
                        "macro_f1": [0.6186, 0.5, 0.4], "macro_f1_paper": [0.6186, 0.5, 0.4]})
    text = bf.svm_finding(svm, required=2)
    assert "PASS" in text and "2 of 3 experiments are within 3 points" in text
    assert "paper's accuracy and macro-F1 on Exp.5:" in text
    assert "Exp.6 (-1.00 points: 50.00 vs 51.00) and Exp.9 (-5.00" in text
    assert "FAIL" in bf.svm_finding(svm, required=3)
    grid = pd.DataFrame({"experiment": [6, 6, 9], "accuracy": [0.51, 0.3, 0.3]})
    text = bf.svm_finding(svm, grid, required=2)
    assert "No setting of the SVM's grid gives the paper's accuracy on Exp.9;" in text
    assert "Another setting of the SVM's grid gives the paper's accuracy on Exp.6" in text


def test_kmm_finding_flips():
    kmm = pd.DataFrame({"experiment": [5, 11], "n_source": [71, 130], "n_zero": [10, 100],
                        "median": [0.5, 0.0], "max": [3.0, 21.7]})
    text = bf.kmm_finding(kmm)
    assert "on 1 of 2 experiments" in text and "most on Exp.11: 100 of 130 zero" in text
    assert "median weight 0.000" in text
    assert "largest 21.7" in text and "a few source samples" in text
    kmm["n_zero"] = [0, 10]
    text = bf.kmm_finding(kmm)
    assert "on 0 of 2 experiments" in text and "keep a weight" in text


def test_best_baselines_and_finding_flip():
    scores = pd.DataFrame({"experiment": [5, 5, 5, 9, 9, 9],
                           "method": ["TGSR", "A", "B"] * 2,
                           "accuracy": [0.6, 0.7, 0.5, 0.8, 0.6, 0.7],
                           "macro_f1": [0.6, 0.5, 0.4, 0.8, 0.6, 0.7]})
    tests = pd.DataFrame({"experiment": [5, 5, 9, 9], "method": ["A", "B", "A", "B"],
                          "p_holm": [0.01, 1.0, 1.0, 0.5],
                          "verdict": ["A better", "no significant difference",
                                      "no significant difference", "no significant difference"]})
    best = bf.best_baselines(scores, tests)
    assert best.method.tolist() == ["A", "B"]
    assert best.p_holm.tolist() == [0.01, 0.5]
    text = bf.best_baseline_finding(best)
    assert "higher accuracy on 1 of 2 experiments: A on Exp.5 (+10.00 points);" in text
    assert "higher macro-F1 on 0 of 2" in text
    assert "1 of these accuracy differences is significant after Holm: A on Exp.5" in text
    scores.loc[1, "accuracy"] = 0.45  # A falls below B on Exp.5: B is best, below TGSR
    best = bf.best_baselines(scores, tests)
    assert best.method.tolist() == ["B", "B"]
    assert "higher accuracy on 0 of 2 experiments" in bf.best_baseline_finding(best)
    with pytest.raises(ValueError, match="no 'TGSR' row"):
        bf.best_baselines(scores[scores.method != "TGSR"])


def test_paired_finding_counts_the_holm_family():
    tests = pd.DataFrame({"experiment": [5, 5, 9, 9], "method": ["A", "B", "A", "B"],
                          "p_value": [0.001, 0.03, 0.2, 0.9]})
    tests["p_holm"] = stats.holm(tests.p_value.to_numpy())[0]
    tests["verdict"] = ["TGSR better", "no significant difference",
                        "no significant difference", "no significant difference"]
    text = bf.paired_finding(tests)
    assert "one family of 4 comparisons: TGSR against 2 baselines on 2 experiments" in text
    assert "1 of 4 are significant after Holm (2 before)" in text
    assert "TGSR better than A on Exp.5 (p = 0.004)" in text
    tests["verdict"] = ["A better"] + ["no significant difference"] * 3
    assert "A better on Exp.5 (p = 0.004)" in bf.paired_finding(tests)
    tests["p_value"] = [0.045, 0.03, 0.2, 0.9]
    tests["p_holm"] = stats.holm(tests.p_value.to_numpy())[0]
    text = bf.paired_finding(tests)
    assert "None is significant at the 0.05 level after Holm (2 are before" in text
    assert "smallest adjusted p is 0.12 (B on Exp.5)" in text


def test_search_size_finding():
    text = bf.search_size_finding({"TGSR": 23460, "SVM": 4, "STM": 4, "DRLS": 259})
    assert "best of 23,460 grid points, 91 times the largest baseline grid" in text
    assert "from 4 (SVM and STM) to 259 (DRLS) points" in text
    text = bf.search_size_finding({"TGSR": 10, "SVM": 4, "DRLS": 259})
    assert "no more than the largest baseline grid" in text
    with pytest.raises(ValueError, match="no 'TGSR' entry"):
        bf.search_size_finding({"SVM": 4})


def test_printed_counts_against_a_direct_search():
    paper = pd.DataFrame({"experiment": [5, 10, 10], "method": ["SVM", "GFK", "TCA"],
                          "target": ["SMIC_NIR", "CASME2", "CASME2"],
                          "accuracy_percent": [63.38, 61.50, 59.23]})
    table = bf.printed_counts(paper, {"SMIC_NIR": 71, "CASME2": 130})
    direct = [any(round(100 * k / n, 2) == v for k in range(n + 1))
              for v, n in zip(paper.accuracy_percent, [71, 130, 130], strict=True)]
    assert table.k_over_n.tolist() == direct == [True, False, True]
    assert table.nearest[1] == "79/130 = 60.77, 80/130 = 61.54"
    text = bf.printed_counts_finding(table)
    assert "2 of 3 of the paper's accuracies are k/N" in text
    assert "1 is not: GFK Exp.10 61.50 (N = 130; nearest 79/130 = 60.77" in text
    assert "every one is" in bf.printed_counts_finding(table[table.k_over_n])
    with pytest.raises(ValueError, match="no size for CASME2"):
        bf.printed_counts(paper, {"SMIC_NIR": 71})


def test_count_denominator():
    rng = np.random.default_rng(1)
    assert bf.count_denominator(rng.integers(0, 165, 50) / 164) == 164
    assert bf.count_denominator(np.arange(0, 72) / 71) == 71
    assert bf.count_denominator([0.5, 0.25]) == 4  # shared factors give a divisor
    with pytest.raises(ValueError, match="no N"):
        bf.count_denominator([1 / np.pi], max_n=50)


def test_interval_finding_by_size():
    lo, hi = stats.clopper_pearson(50, 71)
    scores = pd.DataFrame({"n": [71, 130], "accuracy_low": [lo, 0.5],
                           "accuracy_high": [hi, 0.6], "macro_f1_low": [0.5, 0.4],
                           "macro_f1_high": [0.7, 0.5]})
    text = bf.interval_finding(scores)
    assert f"N = 71: one sample is 1.41 points; the accuracy intervals span " \
           f"{100 * (hi - lo):.1f}-{100 * (hi - lo):.1f} points" in text
    assert "N = 130: one sample is 0.77 points" in text
