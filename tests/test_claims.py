"""Claims of the paper: every verdict follows small synthetic evidence and flips with it."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from tgsr_lib.report import claims
from tgsr_lib.report.claims import CONTRADICTED, NOT_SUPPORTED, NOT_TESTABLE, SUPPORTED

from .conftest import requires_data


def test_directional_verdict():
    assert claims.directional_verdict(0.01, 0.99) == SUPPORTED
    assert claims.directional_verdict(0.99, 0.01) == CONTRADICTED
    assert claims.directional_verdict(0.2, 0.8) == NOT_SUPPORTED
    with pytest.raises(ValueError, match="p_for must be a p-value"):
        claims.directional_verdict(1.5, 0.1)


def paper(tgsr_acc=(70.0, 60.0), svm_acc=(60.0, 65.0)):
    """A two-experiment paper table: Exp.5 (computable) and Exp.1 (SMIC-HS)."""
    rows = []
    for n, t, s in zip((5, 1), tgsr_acc, svm_acc, strict=True):
        rows += [{"experiment": n, "protocol": "I", "method": "TGSR", "macro_f1": t / 100,
                  "accuracy_percent": t},
                 {"experiment": n, "protocol": "I", "method": "SVM", "macro_f1": s / 100,
                  "accuracy_percent": s}]
    return pd.DataFrame(rows)


def paired_table(acc_t, acc_m, p_holm, experiments=(5,), methods=("SVM",)):
    rows = []
    for n in experiments:
        for m in methods:
            rows.append({"experiment": n, "method": m, "acc_reference": acc_t,
                         "acc_method": acc_m, "reference_only": 9, "other_only": 1,
                         "p_value": p_holm, "p_holm": p_holm, "f1_tgsr": acc_t,
                         "f1_method": acc_m})
    return pd.DataFrame(rows)


def test_table_wins_follow_the_paired_test():
    p = paper(tgsr_acc=(70.0, 70.0), svm_acc=(60.0, 65.0))
    rows = claims.table_win_claims(p, paired_table(0.7, 0.6, 0.01))
    assert rows.experiment.tolist() == [1, 5]
    assert rows.set_index("experiment").verdict.to_dict() == {1: NOT_TESTABLE, 5: SUPPORTED}
    assert "TGSR beats SVM (the paper prints" in rows.claim.iloc[1]
    assert rows.wording.unique().tolist() == ["table"]
    assert "Holm p = 0.01" in rows.evidence.iloc[1]
    flipped = claims.table_win_claims(p, paired_table(0.6, 0.7, 0.01))
    assert flipped.set_index("experiment").verdict[5] == CONTRADICTED
    unclear = claims.table_win_claims(p, paired_table(0.7, 0.6, 0.2))
    assert unclear.set_index("experiment").verdict[5] == NOT_SUPPORTED


def test_no_row_where_the_paper_shows_no_win():
    rows = claims.table_win_claims(paper(tgsr_acc=(60.0, 60.0), svm_acc=(60.0, 65.0)),
                                   paired_table(0.7, 0.6, 0.01))
    assert rows.empty


def multi_tests(diffs, methods=("A", "B", "C")):
    rows = []
    for n, d in enumerate(diffs, start=5):
        for m in methods:
            rows.append({"experiment": n, "method": m, "acc_reference": 0.6 + d,
                         "acc_method": 0.6, "p_holm": 0.5})
    return pd.DataFrame(rows)


def test_outperforms_most_counts_significant_baselines():
    six = [0.05] * 6  # TGSR better on all 6 experiments: one-sided p = 1/64
    row = claims.outperforms_most_claim(multi_tests(six))
    assert row["verdict"] == SUPPORTED and "better than 3 of 3 baselines" in row["evidence"]
    assert claims.outperforms_most_claim(multi_tests([-d for d in six]))["verdict"] == CONTRADICTED
    assert claims.outperforms_most_claim(multi_tests([0.05, -0.05] * 3))["verdict"] == NOT_SUPPORTED


def test_beyond_half_uses_the_best_baseline():
    p = paper()
    t = multi_tests([0.05] * 6)
    row = claims.beyond_half_claim(t, p)
    assert row["verdict"] == SUPPORTED
    assert f"p = {sps.binomtest(6, 6, 0.5, 'greater').pvalue:.3g}" in row["evidence"]
    assert "leads every baseline on 1 of 2 tasks by accuracy, on 1 by macro-F1" in row["evidence"]
    # one baseline far better everywhere: the best baseline beats TGSR on all 6
    t.loc[t.method == "C", "acc_method"] = 0.9
    assert claims.beyond_half_claim(t, p)["verdict"] == CONTRADICTED


def ablation_grids(full_f1, xi0_f1):
    """full: 2 kappas x 3 xis with the given F1 per xi; xi0: one F1."""
    rows = [{"variant": "full", "kappa": k, "xi": x, "macro_f1": f - 0.01 * (k == 2)}
            for k in (1, 2) for x, f in zip((0.1, 1.0, 10.0), full_f1, strict=True)]
    rows += [{"variant": "xi0", "kappa": 1, "xi": 0.0, "macro_f1": xi0_f1}]
    return pd.DataFrame(rows)


def test_mmd_claim_flips_with_the_xi_zero_grid():
    better = {n: ablation_grids((0.7, 0.7, 0.5), 0.6) for n in range(6)}
    row = claims.mmd_claim(better, fig4="Fig. 4 note")
    assert row["verdict"] == SUPPORTED and row["wording"] == "quote"
    assert "better at 67% of the xi values" in row["evidence"] and row["evidence"].endswith(
        "Fig. 4 note")
    worse = {n: ablation_grids((0.7, 0.5, 0.5), 0.6) for n in range(6)}
    assert claims.mmd_claim(worse)["verdict"] == CONTRADICTED
    mixed = {n: ablation_grids((0.7, 0.7, 0.5) if n % 2 else (0.5, 0.5, 0.7), 0.6)
             for n in range(6)}
    assert claims.mmd_claim(mixed)["verdict"] == NOT_SUPPORTED


def test_xi_curve_evidence_reads_the_best_kappa():
    rec = pd.DataFrame({"kappa": [1, 1, 1, 2, 2, 2], "xi": [0.1, 1.0, 10.0] * 2,
                        "accuracy": [0.5] * 6, "macro_f1": [0.2, 0.3, 0.1, 0.9, 0.8, 0.7]})
    text = claims.xi_curve_evidence(rec, "Exp.1")
    assert "kappa 2" in text and "F1 0.9000 at xi 0.1" in text and "0.7000 at xi 10" in text
    assert "at 67% of the xi values" in text


def test_kappa_claim():
    test = {"p_sign": 0.01, "full_better": 6, "ablation_better": 0, "ties": 0}
    few = {n: 10 for n in range(1, 13)}
    assert claims.kappa_claim(test, few)["verdict"] == SUPPORTED
    assert claims.kappa_claim({**test, "p_sign": 0.5}, few)["verdict"] == NOT_SUPPORTED
    all_groups = {n: (85 if n <= 7 else 10) for n in range(1, 13)}
    row = claims.kappa_claim(test, all_groups)
    assert row["verdict"] == CONTRADICTED and "on 7 of 12 experiments" in row["evidence"]


def test_region_groups_of_the_two_groupings():
    authors = claims.region_groups("authors")
    blocks = claims.region_groups("blocks")
    assert authors.size == blocks.size == 85
    assert authors.index[authors].tolist() == [0]  # only the whole-face chunk is a region
    assert blocks.all()


def test_selected_block_test_and_region_claim():
    # scale 8 blocks are groups 21..84 of the blocks grouping; 36 inner, 28 on the border
    inner = [21 + c * 8 + r for c in range(1, 7) for r in range(1, 7)]
    border = sorted(set(range(21, 85)) - set(inner))
    assert len(inner) == 36 and len(border) == 28
    t_in = claims.selected_block_test({5: inner[:20], 6: inner[20:]})
    assert t_in["n_inner"] == t_in["n_kept"] == 36
    assert t_in["p_inner"] == pytest.approx(sps.binomtest(36, 36, 36 / 64, "greater").pvalue)
    t_out = claims.selected_block_test({5: border, 6: [0, 1]})  # groups of other scales ignored
    assert (t_out["n_kept"], t_out["n_inner"]) == (28, 0)
    blocks = claims.region_groups("blocks")
    assert claims.region_claim(blocks, t_in, "blocks")["verdict"] == SUPPORTED
    assert claims.region_claim(blocks, t_out, "blocks")["verdict"] == CONTRADICTED
    row = claims.region_claim(claims.region_groups("authors"))
    assert row["verdict"] == NOT_SUPPORTED and "1 of 85 groups" in row["evidence"]


def test_type_claim_against_scipy():
    lower = {n: (0.8 if n <= 6 else 0.5) + 0.01 * n for n in range(1, 13)}
    row = claims.type_claim(lower)
    assert row["verdict"] == SUPPORTED
    p = sps.mannwhitneyu([lower[n] for n in range(1, 7)], [lower[n] for n in range(7, 13)],
                         alternative="greater", method="exact").pvalue
    assert f"p = {p:.3g}" in row["evidence"]
    higher = {n: 1.5 - v for n, v in lower.items()}
    assert claims.type_claim(higher)["verdict"] == CONTRADICTED


def test_swapped_pairs():
    t = pd.concat([paired_table(0.8, 0.6, 0.01, experiments=(5, 6)),
                   paired_table(0.6, 0.6, 1.0, experiments=(9, 10))])
    rows = claims.swapped_pair_claims(t)
    assert len(rows) == 6  # six database pairs in the paper
    by = dict(zip(rows.claim.str.extract(r"(Exp\.\d+)")[0], rows.verdict, strict=True))
    assert by == {"Exp.1": NOT_TESTABLE, "Exp.3": NOT_TESTABLE, "Exp.5": SUPPORTED,
                  "Exp.7": NOT_TESTABLE, "Exp.9": NOT_SUPPORTED, "Exp.11": NOT_TESTABLE}
    t.loc[t.experiment == 6, "acc_method"] = 0.95
    rows = claims.swapped_pair_claims(t)
    assert rows.verdict.iloc[2] == CONTRADICTED


def test_markdown_is_one_line_per_claim():
    df = pd.DataFrame([{"claim": "a | b", "wording": "quote", "test": "t", "evidence": "e\nf",
                        "verdict": SUPPORTED}] * 2)
    text = claims.claims_markdown(df)
    lines = text.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| 1 | a \\| b (quote)")
    assert "e f" in lines[2] and lines[2].endswith("**supported** |")
    assert text == claims.claims_markdown(df)
    table_row = claims.claims_markdown(df.assign(wording="table")).splitlines()[2]
    assert table_row.startswith("| 1 | a \\| b | t |")
    with pytest.raises(ValueError, match="lacks the column"):
        claims.claims_markdown(df.drop(columns="verdict"))


def test_unknown_verdict_refused():
    with pytest.raises(ValueError, match="is not one of"):
        claims._row("mmd", "t", "e", "maybe")


def test_quotes_are_marked():
    assert {w for _, w in claims.QUOTES.values()} <= {"quote", "paraphrase"}
    assert np.all([isinstance(c, str) and c for c, _ in claims.QUOTES.values()])


def test_embed_table_replaces_only_the_marked_part():
    start, end = claims.README_MARKERS
    readme = f"# T\n\nbefore\n{start}\nold | table\n{end}\nafter\n"
    out = claims.embed_table(readme, "| new |\n")
    assert out == f"# T\n\nbefore\n{start}\n| new |\n{end}\nafter\n"
    assert claims.embed_table(out, "| new |") == out
    with pytest.raises(ValueError, match="exactly one"):
        claims.embed_table("no markers", "| t |")
    with pytest.raises(ValueError, match="exactly one"):
        claims.embed_table(f"{end}\n{start}", "| t |")


@requires_data
def test_baseline_oracle_predictions_read_notebook_07s_cache():
    """Read from the committed cache, the oracle predictions of a baseline equal a live fit
    at the same setting (SVM on Exp.5) and score as the oracle row."""
    from tgsr_lib.compare import metrics, paired

    from .conftest import REPO

    cache = REPO / "notebooks" / "cache"
    table = pd.read_csv(cache / "baselines.csv")
    svm = table[(table.method == "SVM") & (table.experiment == 5)]
    got = claims.baseline_oracle_predictions(svm, [5],
                                             cache=cache / "baselines_predictions.csv")
    row = svm[svm.selection == "oracle"].iloc[0]
    y_true, live = paired.baseline_predictions("SVM", 5, row.params)
    np.testing.assert_array_equal(got.y_pred, live)
    np.testing.assert_array_equal(got.y_true, y_true)
    assert metrics.accuracy(got.y_true, got.y_pred) == pytest.approx(row.accuracy, abs=1e-12)


def test_summary_counts_the_table_wins_per_table():
    rows = pd.DataFrame([
        {"claim": "c", "wording": "quote", "test": "t", "evidence": "e", "verdict": SUPPORTED,
         "experiment": np.nan, "method": None},
        {"claim": "w1", "wording": "table", "test": "t", "evidence": "e", "verdict": SUPPORTED,
         "experiment": 5, "method": "SVM"},
        {"claim": "w2", "wording": "table", "test": "t", "evidence": "e",
         "verdict": NOT_SUPPORTED, "experiment": 6, "method": "TCA"},
        {"claim": "w3", "wording": "table", "test": "t", "evidence": "e",
         "verdict": NOT_TESTABLE, "experiment": 8, "method": "GFK"}])
    md = claims.summary_markdown(rows)
    lines = md.strip().splitlines()
    assert len(lines) == 2 + 3  # header, the quoted claim, Table I, Table II
    assert "1 supported / 1 not supported / 0 contradicted" in lines[3]
    assert "supported: SVM on Exp.5" in lines[3]
    assert "0 supported / 0 not supported / 0 contradicted / 1 not testable" in lines[4]
    flipped = rows.assign(verdict=[SUPPORTED, CONTRADICTED, NOT_SUPPORTED, NOT_TESTABLE])
    assert "contradicted: SVM on Exp.5" in claims.summary_markdown(flipped)


@requires_data
def test_recomputed_baseline_predictions_are_shared_within_a_run(tmp_path, monkeypatch):
    """With ``recompute`` the oracle fits run and are kept beside the cache; a later call in
    the same recomputation run (``TGSR_RECOMPUTED_SINCE``) reads them instead of fitting
    again, and a call outside the run fits again."""
    import time

    from tgsr_lib.compare import paired
    from tgsr_lib.experiments import cache as grid_cache

    from .conftest import REPO

    table = pd.read_csv(REPO / "notebooks" / "cache" / "baselines.csv")
    svm = table[(table.method.isin(["SVM", "TCA"])) & (table.experiment == 5)]
    fits = []
    live = paired.baseline_predictions
    monkeypatch.setattr(paired, "baseline_predictions",
                        lambda *a: fits.append(a[0]) or live(*a))
    where = tmp_path / "baselines_predictions.csv"
    monkeypatch.setenv(grid_cache.RECOMPUTED_SINCE, repr(time.time() - 1))
    first = claims.baseline_oracle_predictions(svm, [5], cache=where, recompute=True)
    assert sorted(fits) == ["SVM", "TCA"]
    assert claims.recomputed_baselines_path(where, 5).is_file()
    again = claims.baseline_oracle_predictions(svm, [5], cache=where, recompute=True)
    assert len(fits) == 2  # read, not fitted again
    pd.testing.assert_frame_equal(first, again)
    y_true, y_pred = live("SVM", 5, svm[(svm.selection == "oracle")
                                        & (svm.method == "SVM")].params.iloc[0])
    got = first[first.method == "SVM"]
    np.testing.assert_array_equal(got.y_pred, y_pred)
    np.testing.assert_array_equal(got.y_true, y_true)
    monkeypatch.setenv(grid_cache.RECOMPUTED_SINCE, repr(time.time() + 60))  # a later run
    claims.baseline_oracle_predictions(svm, [5], cache=where, recompute=True)
    assert len(fits) == 4
