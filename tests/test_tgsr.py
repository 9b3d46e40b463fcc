import tracemalloc

import numpy as np
import pytest

from tgsr_lib import TGSR
from tgsr_lib.compare import metrics
from tgsr_lib.data import datasets
from tgsr_lib.experiments.axes import paper_xis
from tgsr_lib.model import ialm
from tgsr_lib.model.estimator import augmented_data

from . import naive
from .conftest import requires_data


def test_dense_solver_matches_naive_algorithm():
    """The reference solver on the authors' kind of layout (equal consecutive chunks)."""
    rng = np.random.default_rng(3)
    Xs = rng.random((20, 8 * 6))
    ys = np.repeat([1, 2, 3], [7, 7, 6])
    Xt = rng.random((9, 8 * 6)) + 0.2
    gid = np.repeat(np.arange(8), 6)
    for kappa, xi in [(1, 0.5), (3, 10.0), (6, 0.0), (8, 1.0)]:
        A, L, _ = augmented_data(Xs, ys, Xt, xi)
        C, it, ok = ialm.solve_dense(A, L, kappa, np.full(8, 6))
        ref = naive.ialm(Xs, ys, Xt, kappa, xi, gid)
        assert ok and it == ref["n_iter"]
        np.testing.assert_allclose(C, ref["C"], atol=1e-9)
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
    from tgsr_lib.data import layout

    model = TGSR(kappa=5, xi=1, groups="blocks").fit(vis.X, vis.y, nir.X)
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
    (dict(groups="rows"), "unknown grouping"),
    (dict(kappa=3.5), "kappa=3.5 is out of range"),
    (dict(kappa="3"), "not a number"),
    (dict(xi=float("inf")), "out of range"),
    (dict(tol=0), "tol=0.0 is out of range"),
    (dict(rho=0.5), "rho=0.5 is out of range"),
    (dict(max_iter=0), "max_iter=0 is out of range"),
    (dict(mu0=float("nan")), "mu0=nan is out of range"),
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
    with pytest.raises(ValueError, match="features have 100 columns: give groups="):
        TGSR().fit(X[:, :100], y, X[:, :100])
    Xn = X.copy()
    Xn[2, 7] = np.nan
    with pytest.raises(ValueError, match=r"source features contain NaN or inf \(rows \[2\]"):
        TGSR().fit(Xn, y, X)
    with pytest.raises(ValueError, match="target features contain NaN"):
        TGSR().fit(X, y, Xn)
    with pytest.raises(ValueError, match="target features are empty"):
        TGSR().fit(X, y, X[:0])
    with pytest.raises(ValueError, match="source features are not numbers"):
        TGSR().fit(X.astype(str), y, X)
    with pytest.raises(ValueError, match="6 source samples but 5 labels"):
        TGSR().fit(X, y[:5], X)
    with pytest.raises(ValueError, match="columns but target features"):
        TGSR().fit(X, y, X[:, :-1])
    with pytest.raises(ValueError, match=r"class\(es\) \[3\] have no source sample"):
        TGSR(classes=[1, 2, 3]).fit(X, [1, 2, 1, 2, 1, 2], X)
    with pytest.raises(ValueError, match="holds one class"):
        TGSR().fit(X, [1] * 6, X)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        TGSR().predict(X)


def test_any_features_groups_and_labels():
    """Features of another dimension, custom non-contiguous groups, string labels."""
    Xs, ys, Xt, gid = naive.make_problem(seed=12, n_groups=5)
    names = np.array(["negative", "positive", "surprise"])[ys - 1]
    model = TGSR(kappa=2, xi=0.5, groups=gid).fit(Xs, names, Xt)
    ref = naive.ialm(Xs, ys, Xt, 2, 0.5, gid)
    assert model.classes_.tolist() == ["negative", "positive", "surprise"]
    assert model.n_features_in_ == Xs.shape[1] and model.groups_.n_groups == 5
    np.testing.assert_allclose(model.coef_, ref["C"], atol=1e-8)
    assert np.array_equal(model.predict(Xt), np.array(["negative", "positive",
                                                       "surprise"])[naive.predict(
                                                           ref["C"], ref["classes"], Xt)[1] - 1])
    with pytest.raises(ValueError, match="kappa=6 is out of range: .* 1..5"):
        TGSR(kappa=6, groups=gid).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        TGSR(groups=[0, 1, 2]).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="integer group ids"):
        TGSR(groups=gid + 0.5).fit(Xs, ys, Xt)


def _nan_after(monkeypatch, n_calls):
    """Make the shared shrink step return NaN from its n-th call on (iterates blow up)."""
    real = ialm.shrink_factors
    calls = {"n": 0}

    def shrink(norms, lam):
        calls["n"] += 1
        out = real(norms, lam)
        return out * np.nan if calls["n"] >= n_calls else out

    monkeypatch.setattr(ialm, "shrink_factors", shrink)


def test_non_finite_iterates_are_an_error(monkeypatch):
    """Iterates that become NaN are an error in the estimator, never a "converged" fit."""
    Xs, ys, Xt, gid = naive.make_problem(seed=13)
    _nan_after(monkeypatch, 3)
    with pytest.raises(ValueError, match="TGSR diverged: its iterates became non-finite at "
                                         "iteration 3"):
        TGSR(kappa=2, xi=1.0, groups=gid).fit(Xs, ys, Xt)


@pytest.mark.parametrize("backend", [dict(backend="numba"), dict(backend="array", xp=np)],
                         ids=["numba", "array"])
def test_non_finite_iterates_never_converge_in_the_engines(monkeypatch, backend):
    from tgsr_lib.model import GridProblem, solve_many

    Xs, ys, Xt, gid = naive.make_problem(seed=13)
    problem = GridProblem(Xs, ys, Xt, gid)
    if backend["backend"] == "numba":  # its threshold and shrink run inside its kernels
        _nan_in_numba_after(monkeypatch, 3)
    else:
        _nan_after(monkeypatch, 3)
    _, n_iter, converged = solve_many(problem, [1, 2, 3], [0.5, 0.5, 2.0], **backend)
    assert not converged.any() and (n_iter <= 4).all()


def _nan_in_numba_after(monkeypatch, n_calls):
    """Make the CPU engine's iterates NaN from its n-th iteration on (``Q^T C`` poisoned
    before the step: the D-step, group norms and bounds follow)."""
    from tgsr_lib.model import engine

    real = engine.NumbaBackend.step
    calls = {"n": 0}

    def step(self, slots, mu, tol):
        calls["n"] += 1
        if calls["n"] >= n_calls:
            self.st.ct[slots] = np.nan
        return real(self, slots, mu, tol)

    monkeypatch.setattr(engine.NumbaBackend, "step", step)


def test_features_too_large_to_square():
    Xs, ys, Xt, gid = naive.make_problem(seed=13)
    with pytest.raises(ValueError, match="too large"):
        TGSR(kappa=2, xi=1.0, groups=gid).fit(Xs * 1e160, ys, Xt)


def test_scikit_learn_parameters():
    from sklearn.base import clone

    model = TGSR(kappa=3, xi=0.5, groups="blocks", tol=1e-6)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert repr(model) == "TGSR(groups='blocks', kappa=3, tol=1e-06, xi=0.5)"
