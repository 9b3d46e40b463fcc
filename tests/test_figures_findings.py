"""Findings of notebooks 01, 04 and 05: the text follows small synthetic inputs."""

import numpy as np
import pandas as pd
import pytest

from tgsr_lib.report import figures_findings as ff


def order_table(col=(0.7, 0.6), row=(-0.2, 0.0), share=(1.0, 0.97)):
    return pd.DataFrame({"scale": [2, 4], "plane": ["XY", "YT"], "median_column_major": col,
                         "median_row_major": row, "share_column_higher": share})


def test_block_order_verdict_flips():
    assert ff.block_order_verdict(order_table()) == "column-major"
    assert ff.block_order_verdict(order_table(col=(-0.2, 0.0), row=(0.7, 0.6),
                                              share=(0.0, 0.03))) == "row-major"
    # one cell disagrees: undecided
    assert ff.block_order_verdict(order_table(col=(0.7, -0.1), row=(-0.2, 0.2),
                                              share=(1.0, 0.2))) == "undecided"
    text = ff.block_order_finding(order_table())
    assert "+0.60 .. +0.70" in text and "-0.20 .. +0.00" in text and "97% .. 100%" in text
    with pytest.raises(ValueError, match="lacks"):
        ff.block_order_verdict(order_table().drop(columns="share_column_higher"))


def best_rows(kappas):
    return pd.DataFrame({"label": [f"Exp.{i}" for i in range(len(kappas))], "kappa": kappas})


def test_all_groups_finding_names_rows_at_K_and_flips():
    check = dict(n_groups=85, n_selected=85, n_iter=1, converged=True, mu0=1e-3,
                 max_diff=1e-12)
    text = ff.all_groups_finding(best_rows([12, 85, 85]), check, label="label")
    assert "Exp.1, Exp.2" in text and "Exp.0" not in text
    assert "**is** that single ridge step" in text
    bad = dict(check, n_iter=7)
    assert "**not** a single ridge step" in ff.all_groups_finding(best_rows([85]), bad,
                                                                  label="label")
    assert "No best row" in ff.all_groups_finding(best_rows([12, 40]), check, label="label")


def test_all_groups_check_is_one_ridge_step():
    """On small random data with 3 groups: kappa = K stops after one iteration and equals the
    scikit-learn ridge step; the check reports it."""
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(20, 9)), rng.normal(size=(15, 9)) + 0.3
    ys = np.repeat([1, 2, 3], [7, 7, 6])
    groups = np.repeat([0, 1, 2], 3)
    check = ff.all_groups_check(Xs, ys, Xt, xi=0.5, grouping=groups)
    assert check["n_groups"] == 3 and check["n_selected"] == 3 and check["n_iter"] == 1
    assert check["max_diff"] < ff.RIDGE_STEP_TOL


def grid(values):
    return pd.DataFrame({"kappa": np.arange(1, len(values) + 1), "xi": 1.0,
                         "macro_f1": values})


def test_good_share_and_spread_finding_flip():
    assert ff.good_share(grid([0.5, 0.58, 0.6, 0.3]), 0.05) == 0.5
    assert ff.good_share(grid([0.5, 0.58, 0.6, 0.3]), 0.0) == 0.25
    t = pd.DataFrame({"experiment": ["A", "B", "C"], "share_authors": [0.1, 0.5, 0.2],
                      "share_blocks": [0.3, 0.1, 0.4]})
    text = ff.spread_finding(t)
    assert "under `blocks` on 2 of 3 experiments (A, C)" in text
    assert "spread over more of the grid under `blocks`**" in text
    flipped = t.rename(columns={"share_authors": "share_blocks", "share_blocks": "share_authors"})
    assert "under `authors`** on most" in ff.spread_finding(flipped)
    with pytest.raises(ValueError, match="margin"):
        ff.good_share(grid([0.5]), -1)


def test_record_equality_finding():
    ok = ff.record_equality_finding({"Exp.5": (True, 10), "Exp.6": (True, 5)})
    assert "all 15 points" in ok and "Exp.5, Exp.6" in ok
    bad = ff.record_equality_finding({"Exp.5": (True, 10), "Exp.6": (False, 5)})
    assert "Not every grid" in bad and "Exp.6 differ" in bad
    assert "No computed grid" in ff.record_equality_finding({})


def test_caption_finding():
    assert "inconsistent" in ff.caption_finding(4, "H->N")
    assert "Exp.3 (H->N)" in ff.caption_finding(4, "H->N")
    assert "one experiment" in ff.caption_finding(3, "H->N")
    assert "Both are drawn" in ff.caption_finding(4, "H->N", drawn=True)
    assert "not both drawn" in ff.caption_finding(4, "H->N", drawn=False)
    assert "drawn" not in ff.caption_finding(4, "H->N")
    with pytest.raises(ValueError, match="direction"):
        ff.caption_finding(3, "X->Y")
