"""Ablations: ridge against its closed form, the oracle pick, the paired tests against scipy,
on small synthetic inputs; and the committed caches against the grids they come from."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from tgsr_lib import TGSR
from tgsr_lib.compare import ablations, metrics, stats
from tgsr_lib.experiments.runner import compute_grid

from . import naive
from .conftest import REPO, requires_data

CACHE = REPO / "notebooks" / "cache" / "ablations"


def naive_ridge(Xs, ys, Xt, alpha):
    """Primal ridge on one-hot targets, solved with numpy; class = argmax."""
    classes = np.unique(ys)
    Y = (ys[:, None] == classes[None, :]).astype(float)
    W = np.linalg.solve(Xs.T @ Xs + alpha * np.eye(Xs.shape[1]), Xs.T @ Y)
    return classes[np.argmax(Xt @ W, axis=1)]


def test_ridge_equals_the_closed_form():
    Xs, ys, Xt, _ = naive.make_problem(seed=3, n_groups=6)
    alphas = [0.01, 1.0, 100.0]
    pred = ablations.ridge_predictions(Xs, ys, Xt, alphas)
    assert pred.shape == (3, Xt.shape[0])
    for row, alpha in zip(pred, alphas, strict=True):
        np.testing.assert_array_equal(row, naive_ridge(Xs, ys, Xt, alpha))


def test_ridge_grid_scores_each_penalty():
    Xs, ys, Xt, _ = naive.make_problem(seed=4)
    yt = np.resize(np.unique(ys), Xt.shape[0])
    grid = ablations.ridge_grid(Xs, ys, Xt, yt, [0.1, 10.0])
    pred = ablations.ridge_predictions(Xs, ys, Xt, [0.1, 10.0])
    assert grid.accuracy.tolist() == [metrics.accuracy(yt, p) for p in pred]
    assert grid.macro_f1.tolist() == [metrics.macro_f1(yt, p) for p in pred]


@pytest.mark.parametrize("alphas", [[], [0.0], [-1.0], [np.nan]])
def test_ridge_refuses_bad_penalties(alphas):
    Xs, ys, Xt, _ = naive.make_problem(seed=5)
    with pytest.raises(ValueError, match="alphas must be"):
        ablations.ridge_predictions(Xs, ys, Xt, alphas)


def test_xi_zero_grid_is_tgsr_without_the_transfer_term():
    """The xi = 0 ablation runs through the grid engine; it must equal the estimator at xi=0,
    and on a shifted target differ from xi > 0 only through the transfer term."""
    Xs, ys, Xt, gid = naive.make_problem(seed=7, n_groups=5, shift=2.0)
    grid = compute_grid((Xs, ys), (Xt, np.resize(ys, len(Xt))), kappas=[1, 3, 5], xis=[0.0],
                        grouping=gid, progress=False)
    for kappa, acc in zip(grid.kappa, grid.accuracy, strict=True):
        model = TGSR(kappa=int(kappa), xi=0.0, groups=gid).fit(Xs, ys, Xt)
        assert metrics.accuracy(np.resize(ys, len(Xt)), model.predict(Xt)) == acc
    # xi = 0 with any target equals xi = 0 without one (the transfer term is gone)
    a = TGSR(kappa=3, xi=0.0, groups=gid).fit(Xs, ys, Xt).predict(Xt)
    b = TGSR(kappa=3, xi=0.0, groups=gid).fit(Xs, ys).predict(Xt)
    np.testing.assert_array_equal(a, b)


def grids(values):
    """A stacked ablation table: variant -> list of macro-F1 values."""
    rows = []
    for variant, f1s in values.items():
        for i, f in enumerate(f1s):
            rows.append({"variant": variant, "kappa": i + 1, "xi": 1.0, "alpha": np.nan,
                         "accuracy": f, "macro_f1": f})
    return pd.DataFrame(rows)


def test_selected_points_take_the_first_best_row():
    picks = ablations.selected_points(grids({"full": [0.5, 0.7, 0.7], "xi0": [0.6, 0.4]}))
    assert picks.variant.tolist() == ["full", "xi0"]
    assert picks.kappa.tolist() == [2, 1]  # first of the tied maxima
    assert picks.n_points.tolist() == [3, 2]
    with pytest.raises(ValueError, match="lacks the column"):
        ablations.selected_points(pd.DataFrame({"macro_f1": [1.0]}))


def points(diffs, full=0.6):
    rows = []
    for n, d in enumerate(diffs, start=1):
        rows += [{"experiment": n, "variant": "full", "macro_f1": full},
                 {"experiment": n, "variant": "xi0", "macro_f1": full - d}]
    return pd.DataFrame(rows)


def test_across_experiments_against_scipy():
    diffs = [0.1, 0.05, 0.02, 0.01, -0.03, 0.0]
    res = ablations.across_experiments(points(diffs)).iloc[0]
    assert (res.full_better, res.ablation_better, res.ties) == (4, 1, 1)
    assert res.p_sign == pytest.approx(sps.binomtest(4, 5, 0.5, "greater").pvalue)
    perm = stats.paired_permutation_test([0.6] * 6, [0.6 - d for d in diffs],
                                         alternative="greater")
    assert res.p_permutation == perm["p_value"]
    assert res.mean_diff == pytest.approx(np.mean(diffs))
    assert res.p_sign_reverse == pytest.approx(sps.binomtest(4, 5, 0.5, "less").pvalue)
    # the verdict's input flips when the data flip
    flipped = ablations.across_experiments(points([-d for d in diffs])).iloc[0]
    assert (flipped.full_better, flipped.ablation_better) == (1, 4)
    assert flipped.p_sign > res.p_sign


def test_mcnemar_table_against_a_direct_binomial():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    full = np.where(rng.random(60) < 0.8, y, (y + 1) % 3)
    abl = np.where(rng.random(60) < 0.5, y, (y + 2) % 3)
    rows = []
    for variant, pred in (("full", full), ("xi0", abl), ("ridge", full)):
        rows.append(pd.DataFrame({"experiment": 5, "variant": variant, "sample": range(60),
                                  "y_true": y, "y_pred": pred}))
    table = ablations.mcnemar_table(pd.concat(rows))
    xi0 = table[table.ablation == "xi0"].iloc[0]
    b = int(np.sum((full == y) & (abl != y)))
    c = int(np.sum((full != y) & (abl == y)))
    assert (xi0.full_only, xi0.ablation_only) == (b, c)
    assert xi0.p_value == pytest.approx(sps.binomtest(min(b, c), b + c, 0.5).pvalue)
    assert xi0.p_holm == pytest.approx(min(1.0, 2 * xi0.p_value))  # two rows, one with p = 1
    assert xi0.verdict == "full better"
    ridge = table[table.ablation == "ridge"].iloc[0]
    assert ridge.p_value == 1.0 and ridge.verdict == "no significant difference"


def test_only_public_experiments():
    with pytest.raises(ValueError, match="SMIC_HS features"):
        ablations.ablation_grids(1)


@requires_data
def test_committed_predictions_score_as_the_selected_points():
    """The cached predictions give the accuracy and macro-F1 of the grid points they were
    recomputed at (the grid's values, exactly for the counts)."""
    if not (CACHE / "predictions.csv").is_file():
        pytest.skip("no committed ablation cache")
    preds = pd.read_csv(CACHE / "predictions.csv")
    for (n, variant), sub in preds.groupby(["experiment", "variant"]):
        grid = ablations.ablation_grids(int(n), grid_cache=REPO / "notebooks/cache/grids",
                                        cache_dir=CACHE)
        pick = ablations.selected_points(grid[grid.variant == variant]).iloc[0]
        assert (sub.kappa.iloc[0], sub.xi.iloc[0]) == pytest.approx(
            (pick.kappa, pick.xi), nan_ok=True)
        y, p = sub.y_true.to_numpy(), sub.y_pred.to_numpy()
        assert round(metrics.accuracy(y, p) * len(y)) == round(pick.accuracy * len(y))
        assert metrics.macro_f1(y, p) == pytest.approx(pick.macro_f1, abs=1e-12)


def test_cache_folder_is_small():
    if CACHE.is_dir():
        assert sum(f.stat().st_size for f in Path(CACHE).iterdir()) < 2_000_000


def test_findings_follow_the_tests():
    yes = ablations.findings(ablations.across_experiments(points([0.05] * 6)))
    assert "does the MMD term help?" in yes and "higher on 6 of 6" in yes
    assert "Answer: yes, significantly." in yes
    no = ablations.findings(ablations.across_experiments(points([-0.05] * 6)))
    assert "Answer: no: the ablation is ahead more often." in no
    assert "(the ablation better: sign test p = 0.0156)" in no
    weak = ablations.findings(ablations.across_experiments(points([0.05, 0.05, -0.01, 0.0])))
    assert "not significantly" in weak and "tied on 1" in weak
    with pytest.raises(ValueError, match="lacks the column"):
        ablations.findings(pd.DataFrame({"ablation": ["xi0"]}))


def test_ridge_da_follows_the_estimator_interface():
    Xs, ys, Xt, _ = naive.make_problem(seed=8)
    est = ablations._RidgeDA(alpha=2.0).fit(Xs, ys, Xt)
    np.testing.assert_array_equal(est.predict(Xt), naive_ridge(Xs, ys, Xt, 2.0))


def test_label_free_points_look_up_the_target_scores():
    g = pd.concat([grids({"full": [0.5, 0.7, 0.6]}),
                   pd.DataFrame({"variant": "ridge", "kappa": np.nan, "xi": np.nan,
                                 "alpha": [0.1, 1.0], "accuracy": [0.3, 0.4],
                                 "macro_f1": [0.35, 0.45]})], ignore_index=True)
    scores = pd.DataFrame({"variant": ["full", "full", "ridge", "ridge"],
                           "kappa": [1, 3, np.nan, np.nan], "xi": [1.0, 1.0, np.nan, np.nan],
                           "alpha": [np.nan, np.nan, 0.1, 1.0], "cv_f1": [0.2, 0.9, 0.8, 0.1]})
    picks = ablations.label_free_points(g, scores)
    # the rule picks by cv_f1 (kappa 3; alpha 0.1), not by the target F1 (kappa 2; alpha 1)
    assert picks.kappa.iloc[0] == 3 and picks.macro_f1.iloc[0] == 0.6
    assert picks.alpha.iloc[1] == 0.1 and picks.macro_f1.iloc[1] == 0.35
    assert picks.n_points.tolist() == [2, 2] and picks.cv_f1.tolist() == [0.9, 0.8]
    with pytest.raises(ValueError, match="not a point of the grid"):
        ablations.label_free_points(g, scores.assign(xi=2.0))


@requires_data
def test_committed_label_free_predictions_score_as_their_points():
    path = CACHE / "predictions_label_free.csv"
    if not path.is_file():
        pytest.skip("no committed label-free cache")
    preds = pd.read_csv(path)
    for n, sub_n in preds.groupby("experiment"):
        grid = ablations.ablation_grids(int(n), grid_cache=REPO / "notebooks/cache/grids",
                                        cache_dir=CACHE)
        scores = ablations.label_free_scores(int(n), cache_dir=CACHE,
                                             selection_cache=REPO / "notebooks/cache/selection")
        picks = ablations.label_free_points(grid, scores).set_index("variant")
        for variant, sub in sub_n.groupby("variant"):
            y, p = sub.y_true.to_numpy(), sub.y_pred.to_numpy()
            assert metrics.macro_f1(y, p) == pytest.approx(picks.macro_f1[variant], abs=1e-12)


def test_small_tables_recomputed_in_this_run_are_read(tmp_path, monkeypatch):
    """``recompute`` recomputes the xi0/ridge tables, except one written in the current
    recomputation run (what ``python -m tgsr_lib.reproduce --recompute`` computes beside the
    grids for notebook 10); without the run marker it recomputes again."""
    import os
    import time

    from tgsr_lib.experiments import cache as grid_cache

    calls = []
    monkeypatch.setattr(ablations, "_small_grids",
                        lambda n: calls.append(n) or pd.DataFrame({"variant": ["xi0"],
                                                                   "macro_f1": [0.5]}))
    monkeypatch.delenv(grid_cache.RECOMPUTED_SINCE, raising=False)
    ablations.small_grids(5, cache_dir=tmp_path, recompute=True)
    ablations.small_grids(5, cache_dir=tmp_path, recompute=True)
    assert calls == [5, 5]
    ablations.small_grids(5, cache_dir=tmp_path)  # the cache, no recompute
    assert calls == [5, 5]
    old = time.time() - 100
    os.utime(tmp_path / "grids_exp5.csv", (old, old))
    monkeypatch.setenv(grid_cache.RECOMPUTED_SINCE, repr(time.time() - 1))
    ablations.small_grids(5, cache_dir=tmp_path, recompute=True)  # written before: recompute
    got = ablations.small_grids(5, cache_dir=tmp_path, recompute=True)  # this run's: read
    assert calls == [5, 5, 5]
    assert got.macro_f1.tolist() == [0.5]
