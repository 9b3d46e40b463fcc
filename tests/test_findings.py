"""Findings written from the data: the text follows small synthetic tables (no data files)."""

import pandas as pd

from tgsr_lib.report import findings, tables


def grid(kappa=(1, 2, 3), acc=(0.5, 0.7, 0.7), f1=(0.6, 0.6, 0.5)):
    return pd.DataFrame({"kappa": list(kappa), "xi": [1.0] * len(kappa),
                         "accuracy": list(acc), "macro_f1": list(f1)})


def summary(df, name, paper_f1, paper_acc):
    """The ``name_*`` columns of tables.tgsr_comparison for one grid."""
    bf, ba = tables.first_best(df), tables.first_best(df, "accuracy")
    return {f"{name}_kappa": int(bf.kappa), f"{name}_xi": float(bf.xi),
            f"{name}_f1": float(bf.macro_f1), f"{name}_acc": 100 * float(bf.accuracy),
            f"{name}_maxacc": 100 * float(ba.accuracy), f"{name}_maxacc_f1": float(ba.macro_f1),
            f"{name}_has_paper_pair": tables.reachable(df, paper_f1, paper_acc)}


def row(paper, computed=None, recorded=None, experiment=11):
    r = {"experiment": experiment, "task": "C->N", "paper_f1": paper[0], "paper_acc": paper[1]}
    for name, df in (("computed", computed), ("recorded", recorded)):
        if df is not None:
            r.update(summary(df, name, *paper))
    return r


def test_names_the_first_best_row():
    text = findings.experiment_finding(row((0.6, 50.0), computed=grid()), n_groups=85)
    assert "reproduced.**" in text and "not reproduced" not in text
    assert "0.6000 / 50.00% (kappa 1, xi 1)" in text
    # the max-accuracy alternative (kappa 2: 70% at F1 0.6) is named because it differs
    assert "max-accuracy row differs: 0.6000 / 70.00%" in text


def test_verdict_flips_with_the_data():
    g = grid()
    assert "not reproduced" in findings.experiment_finding(row((0.7, 80.0), computed=g))
    assert "occurs nowhere in this grid" in findings.experiment_finding(row((0.7, 80.0),
                                                                            computed=g))
    text = findings.experiment_finding(row((0.6, 70.0), computed=g))
    assert "not reproduced" in text and "occurs elsewhere in this grid" in text
    assert "F1 +0.0000, accuracy -20.00 points" in text


def test_kappa_equal_to_k_note():
    g = grid(kappa=(1, 2, 3), f1=(0.5, 0.6, 0.7))  # best row at kappa 3
    assert "kappa = 3 (all groups)" in findings.experiment_finding(row((0.7, 70.0), computed=g),
                                                                   n_groups=3)
    assert "all groups" not in findings.experiment_finding(row((0.7, 70.0), computed=g),
                                                           n_groups=85)
    g2 = grid(kappa=(1, 2, 3), f1=(0.7, 0.6, 0.5))  # best row at kappa 1
    assert "all groups" not in findings.experiment_finding(row((0.7, 50.0), computed=g2),
                                                           n_groups=3)


def test_paper_pair_absent_from_the_record_whose_best_equals_ours():
    g = grid()
    text = findings.experiment_finding(row((0.9, 90.0), computed=g, recorded=g.copy()),
                                       record_equal=True)
    assert "is absent from the authors' own released grid" in text
    assert "0.6000 / 50.00% equals ours" in text
    assert "equals the authors' record at every point" in text
    rec = grid(f1=(0.55, 0.6, 0.5))  # the record's best row moves to kappa 2
    text = findings.experiment_finding(row((0.9, 90.0), computed=g, recorded=rec),
                                       record_equal=False)
    assert "differs from ours" in text and "differs from the authors' record" in text
    # the record gives the paper's entry: no "absent" sentence
    text = findings.experiment_finding(row((0.6, 50.0), computed=g, recorded=g.copy()))
    assert "absent" not in text and "record at every point" not in text


def test_recorded_only_and_missing_grids():
    comp = pd.DataFrame([row((0.6, 50.0), recorded=grid(), experiment=8),
                         row((0.6, 50.0), experiment=7)])
    text = findings.type_table_findings(comp)
    assert "Exp.8 (H->C): the paper's entry is the released record's best row" in text
    assert "No grid for Exp.7" in text and "Exp.7 (C->H):" not in text


def test_blocks_text_names_only_its_grouping():
    comp = pd.DataFrame([row((0.6, 50.0), computed=grid(acc=(0.6, 0.7, 0.7)), experiment=5)])
    text = findings.type_table_findings(comp, grouping="blocks")
    assert "grouping `blocks`" in text and "authors" not in text and "record" not in text


def test_grid_equals_record():
    a = grid()
    assert findings.grid_equals_record(a, a.copy(), 10)
    b = a.copy()
    b.loc[1, "accuracy"] = 0.8  # one more correct sample out of 10
    assert not findings.grid_equals_record(a, b, 10)
    c = a.copy()
    c.loc[0, "macro_f1"] += 1e-9
    assert not findings.grid_equals_record(a, c, 10)
    d = a.copy()
    d.loc[0, "accuracy"] += 1e-9  # same correct count
    assert findings.grid_equals_record(a, d, 10)
    assert not findings.grid_equals_record(a, a.iloc[::-1].reset_index(drop=True), 10)
    assert not findings.grid_equals_record(a, a.iloc[:2], 10)


def test_all_groups_note_says_one_ridge_step_with_the_grids_iterations():
    g = grid(kappa=(1, 2, 3), f1=(0.5, 0.6, 0.7)).assign(n_iter=[40, 30, 1])
    r = row((0.7, 70.0), computed=g)
    r["computed_n_iter"] = 1
    text = findings.experiment_finding(r, n_groups=3)
    assert "kappa = 3 (all groups): that is not group selection" in text
    assert "stopped after 1 iteration," in text and "one ridge step with mu0 = 0.001" in text
    r["computed_n_iter"] = 2  # the text follows the grid's count
    assert "stopped after 2 iterations," in findings.experiment_finding(r, n_groups=3)
    # a recorded grid has no n_iter: the rule is stated, not a count
    text = findings.experiment_finding(row((0.7, 70.0), recorded=g), n_groups=3)
    assert "the solver stops after one iteration" in text


def test_other_grouping_states_differences_not_the_papers_numbers():
    g = grid(acc=(0.6, 0.7, 0.7))  # best row: 0.6000 / 60.00%
    text = findings.experiment_finding(row((0.5123, 55.55), computed=g, experiment=5),
                                       grouping="blocks")
    assert "Exp.5 (V->N), grouping `blocks`:** the first max-F1 row" in text
    assert "0.6000 / 60.00% (kappa 1, xi 1)" in text
    assert "F1 +0.0877, accuracy +4.45 points against the paper's entry" in text
    assert "0.5123" not in text and "55.55" not in text and "reproduced" not in text
    same = findings.experiment_finding(row((0.6, 60.0), computed=g, experiment=5),
                                       grouping="blocks")
    assert "printed as the paper's entry" in same


def test_records_check_line():
    line = findings.records_check_line({5: True, 6: True}, {5: 23460, 6: 23460})
    assert line == ("Records check: the recomputed grids of Exp.5 and Exp.6 equal the authors' "
                    "records at all 23,460 points each (correct counts exactly, macro-F1 within "
                    "1e-12).")
    line = findings.records_check_line({5: True, 6: False}, {5: 10, 6: 10})
    assert "grids of Exp.5 equal" in line and "grids of Exp.6 differ" in line
    assert "not applicable to grouping `blocks`" in findings.records_check_line(
        {}, {}, grouping="blocks")


def _scores(experiment, correct, n, interval, f1=0.6, f1_interval=(0.5, 0.7)):
    return {"experiment": experiment, "correct": correct, "n": n, "accuracy": correct / n,
            "accuracy_low": interval[0], "accuracy_high": interval[1], "macro_f1": f1,
            "macro_f1_low": f1_interval[0], "macro_f1_high": f1_interval[1]}


def test_precision_findings_count_samples_and_interval_widths():
    comp = pd.DataFrame({"experiment": [5, 11, 10], "paper_f1": [0.6, 0.6, 0.6],
                         "paper_acc": [100 * 50 / 71, 100 * 41 / 71, 100 * 80 / 130]})
    scores = pd.DataFrame([_scores(5, 50, 71, (0.58, 0.81)),
                           _scores(11, 38, 71, (0.41, 0.55)),
                           _scores(10, 81, 130, (0.53, 0.70))])
    text = findings.precision_findings(comp, scores)
    assert ("**N = 71** (Exp.5 and Exp.11): one sample is 1.41 points of accuracy; the 95% "
            "Clopper-Pearson interval of the accuracies here spans 14.0 to 23.0 points") in text
    assert "**N = 130** (Exp.10): one sample is 0.77 points" in text and "17.0 points" in text
    assert "within one sample: Exp.5 (0 samples), Exp.10 (+1 sample)" in text
    assert "more than one sample apart: Exp.11 (-4.23 points, -3 samples of 71)" in text
    # Exp.11's paper accuracy (57.75%) lies above our interval
    assert "inside both (accuracy and macro-F1) for Exp.5 and Exp.10" in text
    assert "outside at least one for Exp.11" in text
    # the verdict flips with the data: the paper's accuracy one sample from ours, printed
    # with 2 decimals as the paper does (54.93 = 39/71 rounded)
    comp.loc[1, "paper_acc"] = 54.93
    text = findings.precision_findings(comp, scores)
    assert "Exp.11 (-1 sample)" in text and "more than one sample" not in text
    assert "not k/N" not in text
    comp.loc[1, "paper_acc"] = 54.20  # no k/71 prints as 54.20
    text = findings.precision_findings(comp, scores)
    assert "Exp.11 (-0.48 samples)" in text
    assert "the paper's accuracy of Exp.11 is not k/N for any whole number k" in text
    assert findings.precision_findings(comp, scores.iloc[:0]) == ""
