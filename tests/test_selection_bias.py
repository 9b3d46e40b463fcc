"""The shuffled-label null of an oracle's best (tgsr_lib.compare.selection_bias)."""

import numpy as np
import pytest
from scipy import stats as sps

from tgsr_lib.compare import metrics, paired, selection_bias


def _random(rng, n_points, n=40, classes=3):
    y = rng.integers(1, classes + 1, n)
    pred = rng.integers(1, classes + 1, (n_points, n))
    return y, pred


def test_null_best_of_one_point_is_its_permutation_distribution():
    """Naive reference: the same seeded permutations, scored one at a time."""
    rng = np.random.default_rng(1)
    y, pred = _random(rng, 1)
    got = selection_bias.null_best(y, pred[0], n_permutations=50, seed=7)
    perm = np.random.default_rng(7)
    want = [metrics.macro_f1(perm.permutation(y), pred[0]) for _ in range(50)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_accuracy_null_of_one_binary_point_is_hypergeometric():
    """With m positives among N labels and k predicted positives, the number correct under a
    random permutation is 2X + N - k - m, X ~ Hypergeometric(N, m, k)."""
    N, m, k, B = 40, 15, 20, 4000
    y = np.r_[np.ones(m, int), np.zeros(N - m, int)]
    pred = np.r_[np.ones(k, int), np.zeros(N - k, int)]
    acc = selection_bias.null_best(y, pred, metric="accuracy", n_permutations=B, seed=0)
    x = (np.rint(acc * N).astype(int) - (N - k - m)) // 2
    support = np.arange(0, min(m, k) + 1)
    empirical = np.array([(x <= s).mean() for s in support])
    exact = sps.hypergeom(N, m, k).cdf(support)
    assert np.abs(empirical - exact).max() < 0.03  # DKW: P(sup > 0.03) < 2 exp(-2 B 0.03^2)
    assert abs(x.mean() - sps.hypergeom(N, m, k).mean()) < 0.1


def test_null_best_grows_with_the_number_of_points():
    rng = np.random.default_rng(2)
    y, pred = _random(rng, 40)
    nulls = [selection_bias.null_best(y, pred[:p], n_permutations=100, seed=3)
             for p in (1, 5, 40)]
    assert np.all(nulls[0] <= nulls[1]) and np.all(nulls[1] <= nulls[2])
    assert nulls[2].mean() > nulls[0].mean() + 0.05  # the search inflates the best score
    # repeated points add nothing: the null is over distinct prediction vectors
    again = selection_bias.null_best(y, np.vstack([pred[:5], pred[:5]]), n_permutations=100,
                                     seed=3)
    np.testing.assert_array_equal(again, nulls[1])


def test_search_null_against_a_naive_loop():
    rng = np.random.default_rng(4)
    y, pred = _random(rng, 6, n=30)
    pred[2] = pred[0]  # a repeated point counts twice in the point null
    B = 60
    out = selection_bias.search_null(y, pred, n_permutations=B, seed=5)
    perm = np.random.default_rng(5)
    table = np.array([[metrics.macro_f1(yp, p) for p in pred]
                      for yp in (perm.permutation(y) for _ in range(B))])
    oracle = max(metrics.macro_f1(y, p) for p in pred)
    best = table.max(axis=1)
    assert out["n_points"] == 6 and out["n_distinct"] == 5
    assert out["oracle"] == pytest.approx(oracle, abs=1e-12)
    assert out["null_mean"] == pytest.approx(best.mean(), abs=1e-12)
    assert out["null_q"] == pytest.approx(np.quantile(best, 0.95), abs=1e-12)
    assert out["point_null"] == pytest.approx(table.mean(), abs=1e-12)
    assert out["p_value"] == pytest.approx((1 + np.sum(best >= oracle)) / (1 + B))
    assert out["search_gain"] == pytest.approx(best.mean() - table.mean(), abs=1e-12)


def test_an_informative_grid_beats_its_null_and_a_random_one_does_not():
    rng = np.random.default_rng(6)
    y, pred = _random(rng, 20, n=60)
    informative = pred.copy()
    informative[0] = y  # one point predicts the labels
    assert selection_bias.search_null(y, informative, n_permutations=99)["p_value"] == 0.01
    assert selection_bias.search_null(y, pred, n_permutations=99)["p_value"] > 0.05


@pytest.mark.parametrize("kwargs, match", [
    ({"metric": "auc"}, "metric='auc'"),
    ({"n_permutations": 0}, "n_permutations=0"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        selection_bias.null_best([1, 2, 1], [[1, 2, 2]], **kwargs)


def test_bad_shape():
    with pytest.raises(ValueError, match=r"predictions must be \(P, 3\)"):
        selection_bias.search_null([1, 2, 1], [[1, 2]])


def test_baseline_cache_round_trip(tmp_path, monkeypatch):
    calls = []

    def fake(method, number, params):
        calls.append(params)
        return np.array([1, 2, 3]), np.array([1, 2, 3]) * int(params["C"])

    monkeypatch.setattr(paired, "baseline_predictions", fake)
    grid = [{"C": 1}, {"C": 2}]
    points, pred = selection_bias.baseline_grid_predictions("SVM", 5, grid, cache_dir=tmp_path)
    np.testing.assert_array_equal(pred, [[1, 2, 3], [2, 4, 6]])
    assert points["params"].tolist() == ['{"C": 1}', '{"C": 2}']
    again = selection_bias.baseline_grid_predictions("SVM", 5, grid, cache_dir=tmp_path)
    np.testing.assert_array_equal(again[1], pred)
    assert len(calls) == 2  # the second call read the cache
    with pytest.raises(ValueError, match="other parameter settings"):
        selection_bias.baseline_grid_predictions("SVM", 5, [{"C": 3}, {"C": 4}],
                                                 cache_dir=tmp_path)
