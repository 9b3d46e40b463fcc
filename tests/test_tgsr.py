import tracemalloc

import numpy as np
import pytest

from tgsr_lib import TGSR, datasets, metrics
from tgsr_lib.grid import paper_xis
from tgsr_lib.tgsr import augmented_data, ialm

from .conftest import requires_data


def naive_ialm(A, L, kappa, n_groups, max_iter=1000):
    """Algorithm 1 written literally with the d x d inverse (small d only)."""
    d = A.shape[1]
    c = L.shape[1]
    X, Lt = A.T, L.T
    C = np.ones((d, c))
    T = np.zeros((d, c))
    mu = 1e-3
    for it in range(1, max_iter + 1):
        D = np.linalg.inv(mu * np.eye(d) + 2 * X @ X.T) @ (2 * X @ Lt.T + mu * C - T)
        W = D + T / mu
        Wg = W.reshape(n_groups, -1, c)
        g = np.array([np.linalg.norm(w) for w in Wg])
        t = 0.0 if kappa == n_groups else sorted(g, reverse=True)[kappa]
        Cg = np.zeros_like(Wg)
        for i in range(n_groups):
            if g[i] > t:
                Cg[i] = Wg[i] * (g[i] - t) / g[i]
        C = Cg.reshape(d, c)
        if np.max(np.abs(D - C)) < 1e-8:
            return C, it
        T = T + mu * (D - C)
        mu = min(1.1 * mu, 1e15)
    return C, max_iter


@pytest.mark.parametrize("kappa, xi", [(1, 0.5), (3, 10.0), (6, 0.0), (8, 1.0)])
def test_ialm_matches_naive_dense_solver(kappa, xi):
    rng = np.random.default_rng(kappa)
    Xs = rng.random((20, 8 * 6))
    ys = np.repeat([1, 2, 3], [7, 7, 6])
    Xt = rng.random((9, 8 * 6)) + 0.2
    A, L, _ = augmented_data(Xs, ys, Xt, xi)
    C, it, ok = ialm(A, L, kappa, 8)
    Cn, itn = naive_ialm(A, L, kappa, 8)
    assert ok and it == itn
    np.testing.assert_allclose(C, Cn, atol=1e-9)
    assert np.count_nonzero(np.abs(C.reshape(8, -1)).sum(1)) == kappa


def _record_points(record, n, seed):
    """n (kappa, xi) rows of a record: every kappa once, the rest random, random xi."""
    rng = np.random.default_rng(seed)
    kappas = np.concatenate([np.arange(1, 86), rng.integers(1, 86, n - 85)])
    xi_idx = rng.integers(0, 276, n)
    return record.iloc[(kappas - 1) * 276 + xi_idx]


@requires_data
@pytest.mark.parametrize("source, target, seed", [("SMIC_VIS", "SMIC_NIR", 5),
                                                  ("SMIC_NIR", "SMIC_VIS", 6)])
def test_reference_solver_reproduces_records(source, target, seed):
    """150 points of each of Exp.5 and Exp.6 (300 in all): identical to the released records."""
    Xs, ys, _ = datasets.load_features(source)
    Xt, yt, _ = datasets.load_features(target)
    rows = _record_points(datasets.load_record(source, target), 150, seed)
    assert rows.kappa.nunique() == 85 and rows.xi.nunique() > 100
    for _, r in rows.iterrows():
        pred = TGSR(int(r.kappa), r.xi).fit(Xs, ys, Xt).predict(Xt)
        assert metrics.accuracy(yt, pred) == pytest.approx(r.accuracy, abs=1e-6)
        assert metrics.macro_f1(yt, pred) == pytest.approx(r.macro_f1, abs=1e-6)


@requires_data
def test_recorded_best_point_of_exp5(vis, nir):
    model = TGSR(kappa=12, xi=44).fit(vis.X, vis.y, nir.X)
    pred = model.predict(nir.X)
    assert metrics.accuracy(nir.y, pred) == pytest.approx(0.70422535, abs=1e-8)
    assert metrics.macro_f1(nir.y, pred) == pytest.approx(0.69840610, abs=1e-8)
    assert model.coef_.shape == (15045, 3)
    assert model.selected_groups_.size == 12
    assert np.array_equal(model.classes_, [1, 2, 3])
    assert model.n_iter_ > 1 and model.converged_
    scores = model.decision_function(nir.X)
    assert np.array_equal(model.classes_[scores.argmax(1)], pred)


@requires_data
def test_kappa_all_groups_stops_after_one_iteration(vis, nir):
    assert TGSR(kappa=85, xi=1).fit(vis.X, vis.y, nir.X).n_iter_ == 1


@requires_data
def test_blocks_grouping_selects_whole_blocks(vis, nir):
    from tgsr_lib import layout

    model = TGSR(kappa=5, xi=1, grouping="blocks").fit(vis.X, vis.y, nir.X)
    assert model.selected_groups_.size == 5
    nonzero = np.flatnonzero(np.abs(model.coef_).sum(1))
    g = layout.groups("blocks")
    assert set(nonzero) <= set(g[model.selected_groups_].ravel())


@requires_data
def test_memory_grows_with_samples_not_dims(vis, nir):
    """A d x d matrix (15045^2 doubles) would take 1.8 GB; the Woodbury solver stays small."""
    tracemalloc.start()
    TGSR(kappa=40, xi=1).fit(vis.X, vis.y, nir.X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100e6


def test_paper_xi_list():
    xi = paper_xis()
    assert xi.size == 276 and np.unique(xi).size == 271
    assert xi[0] == 0.001 and xi[-1] == 1000 and xi[45] == xi[46] == 0.01


@pytest.mark.parametrize("kwargs, message", [
    (dict(kappa=0), "kappa=0 is out of range"),
    (dict(kappa=86), "kappa=86 is out of range"),
    (dict(xi=-1), "xi=-1.0 is out of range"),
    (dict(xi=float("nan")), "out of range"),
    (dict(grouping="rows"), "unknown grouping"),
])
def test_bad_hyperparameters(kwargs, message):
    rng = np.random.default_rng(0)
    X = rng.random((6, 15045))
    with pytest.raises(ValueError, match=message):
        TGSR(**{"kappa": 3, "xi": 1.0, **kwargs}).fit(X, [1, 2, 3, 1, 2, 3], X)


def test_bad_data():
    rng = np.random.default_rng(0)
    X = rng.random((6, 15045))
    y = np.array([1, 2, 3, 1, 2, 3])
    with pytest.raises(ValueError, match="100 dimensions, expected 15045"):
        TGSR().fit(X[:, :100], y, X[:, :100])
    Xn = X.copy()
    Xn[2, 7] = np.nan
    with pytest.raises(ValueError, match="source features contain NaN"):
        TGSR().fit(Xn, y, X)
    with pytest.raises(ValueError, match="target features contain NaN"):
        TGSR().fit(X, y, Xn)
    with pytest.raises(ValueError, match="target set is empty"):
        TGSR().fit(X, y, X[:0])
    with pytest.raises(ValueError, match=r"class\(es\) \[3\] have no source sample"):
        TGSR(classes=[1, 2, 3]).fit(X, [1, 2, 1, 2, 1, 2], X)
    with pytest.raises(ValueError, match="single class"):
        TGSR().fit(X, [1] * 6, X)
    with pytest.raises(RuntimeError, match="not fitted"):
        TGSR().predict(X)
