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
