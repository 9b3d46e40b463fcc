"""Tests of the baselines: interface, registry, and each method doing what its paper says,
on small synthetic data (one smoke test on the real features)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.integrate
import scipy.linalg
from sklearn.base import clone
from sklearn.linear_model import Lasso

from tgsr_lib.compare import _baselines_algorithms as alg
from tgsr_lib.compare import baselines as bl
from tgsr_lib.data import datasets

PAPER_NAMES = ["SVM", "IW-SVM", "TCA", "GFK", "SA", "STM", "TKL", "TSRG", "DRLS"]


def shifted_domains(seed=0, ns=36, nt=30, d=12, shift=1.5):
    """Three Gaussian classes; the target is the source moved by ``shift`` along one axis
    and slightly rescaled (a covariate shift with the same labelling rule)."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.normal(size=(3, d))
    ys = np.repeat([1, 2, 3], ns // 3)
    yt = np.repeat([1, 2, 3], nt // 3)
    Xs = centres[ys - 1] + rng.normal(size=(ns, d))
    direction = np.zeros(d)
    direction[0] = shift
    Xt = 1.1 * (centres[yt - 1] + rng.normal(size=(nt, d))) + direction
    return Xs, ys, Xt, yt


SMALL = {"TCA": {"n_components": 5}, "GFK": {"dim": 5}, "SA": {"dim": 5},
         "STM": {"max_iter": 2}}


# --------------------------------------------------------------------------- interface


def test_registry_has_the_paper_names():
    assert list(bl.METHODS) == PAPER_NAMES


@pytest.mark.parametrize("name", PAPER_NAMES)
def test_fit_predict_interface(name):
    Xs, ys, Xt, yt = shifted_domains()
    est = bl.make_method(name, **SMALL.get(name, {}))
    with pytest.raises(RuntimeError, match="not fitted"):
        est.predict(Xt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert est.fit(Xs, ys, Xt) is est
    pred = est.predict(Xt)
    assert pred.shape == yt.shape and set(pred) <= {1, 2, 3}
    assert np.mean(pred == yt) > 0.5  # well-separated classes: every method should manage
    with pytest.raises(ValueError, match="n_samples"):
        est.predict(Xt[:, :-1])
    assert clone(est).get_params() == est.get_params()
    assert set(bl.grid_points(type(est).param_grid)[0]) == set(type(est).param_grid)


def test_fit_validates_input():
    Xs, ys, Xt, _ = shifted_domains()
    with pytest.raises(ValueError, match="labels"):
        bl.make_method("SVM").fit(Xs, ys[:-1], Xt)
    with pytest.raises(ValueError, match="columns"):
        bl.make_method("SVM").fit(Xs, ys, Xt[:, :-1])
    with pytest.raises(ValueError, match="dim="):
        bl.make_method("GFK", dim=500).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="unknown method"):
        bl.make_method("NOPE")


def test_register_a_user_method():
    @bl.register_method("Nearest-mean")
    class NearestMean(bl.DomainAdaptationClassifier):
        param_grid = {"centre_target": [False, True]}

        def __init__(self, centre_target=True):
            self.centre_target = centre_target

        def _fit(self, Xs, ys, Xt):
            self.shift_ = Xt.mean(0) - Xs.mean(0) if self.centre_target else 0.0
            self.means_ = np.array([Xs[ys == c].mean(0) for c in self.classes_])

        def _predict(self, X):
            d = ((X - self.shift_)[:, None, :] - self.means_[None]) ** 2
            return self.classes_[d.sum(-1).argmin(1)]

    try:
        Xs, ys, Xt, yt = shifted_domains()
        grid = bl.grid_search("Nearest-mean", 5, data=(Xs, ys, Xt, yt))
        assert list(grid["params"]) == ['{"centre_target": false}', '{"centre_target": true}']
        assert bl.select_oracle(grid)["macro_f1"] == grid["macro_f1"].max()
        with pytest.raises(ValueError, match="already registered"):
            bl.register_method("Nearest-mean")(type("Other", (NearestMean,), {}))
    finally:
        bl.METHODS.pop("Nearest-mean")


def test_select_oracle_takes_first_best():
    g = pd.DataFrame({"macro_f1": [0.2, 0.5, 0.5], "accuracy": [0.3, 0.6, 0.7]})
    assert bl.select_oracle(g).name == 1


# --------------------------------------------------------------------------- the papers' claims


def test_kmm_weights_match_the_target_mean():
    """IW-SVM (Huang et al. 2007): the KMM-weighted source mean in the RKHS is closer to the
    target mean than the unweighted one."""
    Xs, ys, Xt, _ = shifted_domains()
    est = bl.make_method("IW-SVM").fit(Xs, ys, Xt)
    K = alg.kernel(np.vstack([Xs, Xt]), np.vstack([Xs, Xt]), "rbf", est.gamma_)
    assert alg.mmd2(K, len(Xs), est.weights_) < 0.5 * alg.mmd2(K, len(Xs))
    assert np.all(est.weights_ >= 0) and np.all(est.weights_ <= est.B + 1e-9)


def test_kmm_qp_agrees_with_skada():
    """Our KMM solver (used inside STM) against skada's KMMReweightAdapter (used by IW-SVM):
    same weights, same optimum."""
    Xs, ys, Xt, _ = shifted_domains()
    X, sd = bl._domains(Xs, Xt)
    gamma = alg.median_gamma(X)
    ref = bl._with_skada().KMMReweightAdapter(kernel="rbf", gamma=gamma, B=1000.0,
                                             solver="scipy").fit(X, sample_domain=sd)
    ns = len(Xs)
    Kss = alg.kernel(Xs, Xs, "rbf", gamma)
    kappa = ns / len(Xt) * alg.kernel(Xs, Xt, "rbf", gamma).sum(1)
    w = alg.kmm_qp(Kss, kappa, 1000.0, (np.sqrt(ns) - 1) / np.sqrt(ns))

    def f(s):
        return 0.5 * s @ Kss @ s - kappa @ s

    w_ref = np.asarray(ref.source_weights_)
    assert f(w) <= f(w_ref) + 1e-6 * abs(f(w_ref))
    np.testing.assert_allclose(w, w_ref, atol=0.02 * w_ref.max())


def test_sa_aligns_the_subspaces():
    """SA (Fernando et al. 2013): M = Ps^T Pt minimises ||Ps M - Pt||_F, so the aligned
    source basis is closer to the target basis than the source basis itself."""
    Xs, ys, Xt, _ = shifted_domains(d=20)
    est = bl.make_method("SA", dim=4).fit(Xs, ys, Xt)
    Ps = est.adapter_.pca_source_.components_.T
    Pt = est.adapter_.pca_target_.components_.T
    M = est.adapter_.M_
    aligned = np.linalg.norm(Ps @ M - Pt)
    assert aligned < np.linalg.norm(Ps - Pt)
    rng = np.random.default_rng(1)
    for _ in range(5):  # M is the least-squares optimum
        assert aligned <= np.linalg.norm(Ps @ (M + 0.05 * rng.normal(size=M.shape)) - Pt)


def test_tca_components_solve_the_trace_problem_and_shrink_mmd():
    """TCA (Pan et al. 2011): W solves K H K w = lambda (K L K + mu I) w, satisfies the
    constraint W^T K H K W = I, and the embedded domains are closer (MMD) than with the
    same number of kernel PCA components."""
    Xs, ys, Xt, _ = shifted_domains(shift=3.0)
    X = np.vstack([Xs, Xt])
    K = X @ X.T
    ns, n, m, mu = len(Xs), len(X), 3, 1.0
    W = alg.tca_components(K, ns, mu, m)
    e = np.r_[np.ones(ns) / ns, -np.ones(n - ns) / (n - ns)]
    KLK = np.outer(K @ e, K @ e)
    H = np.eye(n) - 1.0 / n
    KHK = K @ H @ K
    np.testing.assert_allclose(W.T @ KHK @ W, np.eye(m), atol=1e-8)
    lam = np.diag(W.T @ KHK @ W) / np.diag(W.T @ (KLK + mu * np.eye(n)) @ W)
    np.testing.assert_allclose(KHK @ W, (KLK + mu * np.eye(n)) @ W * lam, rtol=1e-6,
                               atol=1e-6 * np.abs(KHK @ W).max())
    vals, V = np.linalg.eigh(KHK)
    Wp = V[:, -m:] / np.sqrt(vals[-m:])  # kernel PCA, same constraint

    def mmd_emb(W):
        Z = K @ W
        return np.sum((Z[:ns].mean(0) - Z[ns:].mean(0)) ** 2)

    assert mmd_emb(W) < 0.1 * mmd_emb(Wp)


def _gfk_naive(Ps, Pt, steps=2001):
    """G = int_0^1 Phi(t) Phi(t)^T dt by quadrature, with the full complement Rs."""
    Rs = scipy.linalg.null_space(Ps.T)
    U1, g, Vt = np.linalg.svd(Ps.T @ Pt)
    theta = np.arccos(np.clip(g, -1, 1))
    U2 = -(Rs.T @ Pt @ Vt.T) / np.sin(theta)
    t = np.linspace(0, 1, steps)
    Phis = [Ps @ U1 @ np.diag(np.cos(s * theta)) - Rs @ U2 @ np.diag(np.sin(s * theta))
            for s in t]
    G = scipy.integrate.simpson(np.array([P @ P.T for P in Phis]), x=t, axis=0)
    return G, Phis


def test_gfk_closed_form_equals_the_integral_of_the_geodesic_flow():
    """GFK (Gong et al. 2012): the closed form equals the integral over the geodesic, which
    starts at the source subspace and ends at the target subspace."""
    rng = np.random.default_rng(0)
    D, d = 9, 3
    Ps = np.linalg.qr(rng.normal(size=(D, d)))[0]
    Pt = np.linalg.qr(Ps + 0.6 * rng.normal(size=(D, d)))[0]
    F, M, theta = alg.gfk_factors(Ps, Pt)
    G_naive, Phis = _gfk_naive(Ps, Pt)
    np.testing.assert_allclose(F @ M @ F.T, G_naive, atol=1e-8)
    np.testing.assert_allclose(Phis[0] @ Phis[0].T, Ps @ Ps.T, atol=1e-12)
    np.testing.assert_allclose(Phis[-1] @ Phis[-1].T, Pt @ Pt.T, atol=1e-10)
    # identical subspaces: the flow stays put, G is the projection on the subspace
    F0, M0, th0 = alg.gfk_factors(Ps, Ps)
    np.testing.assert_allclose(F0 @ M0 @ F0.T, Ps @ Ps.T, atol=1e-10)
    assert np.allclose(th0, 0, atol=1e-6)


@pytest.mark.parametrize("damping", [1.5, 5.0])
def test_tkl_spectrum_obeys_damping_and_reduces_mmd(damping):
    """TKL (Long et al. 2015): the learned spectrum decays at least by the damping factor
    and the domain-invariant kernel shows a smaller distribution gap than the input one."""
    Xs, ys, Xt, _ = shifted_domains(shift=3.0)
    est = bl.make_method("TKL", damping=damping, kernel="rbf").fit(Xs, ys, Xt)
    lam = est.spectrum_
    assert np.all(lam >= -1e-12) and lam.max() <= 10 * est.target_eigvals_.max()
    assert np.all(lam[:-1] >= damping * lam[1:] - 1e-8 * lam.max())
    X = np.vstack([Xs, Xt])
    K = alg.kernel(X, X, "rbf", est.gamma_)
    Phi = np.vstack([est.Phis_, est._extrapolate(Xt)])
    Kbar = (Phi * lam) @ Phi.T
    # normalise both by their mean self-similarity before comparing the MMDs
    assert (alg.mmd2(Kbar, len(Xs)) / np.trace(Kbar)
            < alg.mmd2(K, len(Xs)) / np.trace(K))


def test_stm_selects_samples_and_matches_kmm_when_lam_is_large():
    """STM (Chu et al. 2013): the weights stay feasible; for a huge distribution weight the
    weight step is KMM; a smaller one down-weights the samples the classifier finds hard."""
    Xs, ys, Xt, _ = shifted_domains()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        big = bl.make_method("STM", lam=1e9, max_iter=2).fit(Xs, ys, Xt)
        small = bl.make_method("STM", lam=10.0, max_iter=2).fit(Xs, ys, Xt)
    ns = len(Xs)
    eps = (np.sqrt(ns) - 1) / np.sqrt(ns)
    for est in (big, small):
        assert np.all(est.weights_ >= -1e-9) and np.all(est.weights_ <= est.B + 1e-6)
        assert abs(est.weights_.sum() - ns) <= ns * eps + 1e-6
    Kss = alg.kernel(Xs, Xs, "rbf", big.gamma_)
    kappa = ns / len(Xt) * alg.kernel(Xs, Xt, "rbf", big.gamma_).sum(1)
    kmm = alg.kmm_qp(Kss, kappa, big.B, eps)
    np.testing.assert_allclose(big.weights_, kmm, atol=1e-3 * kmm.max())
    # a sample made hard (label flipped) loses weight when the loss term counts
    ys_flip = ys.copy()
    ys_flip[0] = 2 if ys[0] != 2 else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hard = bl.make_method("STM", lam=10.0, max_iter=3).fit(Xs, ys_flip, Xt)
    assert hard.weights_[0] < 0.5 * hard.weights_.mean()


def test_regenerator_solves_the_lasso():
    """The IALM of TSRG/DRLS nearly reaches the lasso optimum (checked against a slow,
    obviously correct solver: scikit-learn's coordinate descent, column by column). With the
    authors' penalty growth rho = 1.1 it stops within 1 % of the optimal objective; a slower
    growth gets closer (an increasing penalty freezes the iterate before full convergence)."""
    Xs, ys, Xt, _ = shifted_domains(ns=15, nt=12, d=4)
    X = np.vstack([Xs, Xt])
    K = X @ X.T / 10
    lam, mu = 0.5, 0.3
    P, n_iter = alg.regenerator(K, len(Xs), Xs, lam, mu)
    assert n_iter < 2000
    ns = len(Xs)
    delta = K[:, :ns].mean(1) - K[:, ns:].mean(1)
    A = np.vstack([K[:, :ns].T, np.sqrt(lam) * delta])
    Y = np.vstack([Xs, np.zeros((1, Xs.shape[1]))])

    def objective(P):
        return np.sum((Y - A @ P) ** 2) + mu * np.abs(P).sum()

    naive = np.column_stack([
        Lasso(alpha=mu / (2 * len(A)), fit_intercept=False, tol=1e-12, max_iter=200000)
        .fit(A, Y[:, j]).coef_ for j in range(Y.shape[1])])
    best = objective(naive)
    assert best <= objective(P) <= best * 1.01
    P_slow, _ = alg.regenerator(K, len(Xs), Xs, lam, mu, rho=1.01, max_iter=20000)
    assert objective(P_slow) - best < 0.5 * (objective(P) - best)


def _same_floats(a, b):
    """Equal arrays, NaN where NaN, and the same sign on every zero."""
    num = ~np.isnan(a)
    return (np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a[num]), np.signbit(b[num])))


def _regenerator_numpy(K, ns, B, lam, mu, kappa0=1e-3, rho=1.1, kappa_max=1e15, tol=1e-8,
                       max_iter=2000):
    """The IALM loop of ``alg.regenerator`` in plain NumPy (the code before its numba
    kernels), step by step in the same floating-point order."""
    Ks = K[:, :ns]
    delta = Ks.mean(axis=1) - K[:, ns:].mean(axis=1)
    A = np.vstack([Ks.T, np.sqrt(lam) * delta[None, :]])
    Y = np.vstack([B, np.zeros((1, B.shape[1]))])
    s, V = np.linalg.eigh(A @ A.T)
    AV = A.T @ V
    AtY = A.T @ Y
    P = np.zeros((K.shape[0], B.shape[1]))
    T = np.zeros_like(P)
    kappa = kappa0
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        R = ((P * kappa) + T) / 2 + AtY
        c = kappa / 2
        Q = (R - AV @ ((AV.T @ R) / (s + c)[:, None])) / c
        W = Q - T / kappa
        P = np.maximum(np.abs(W) - mu / kappa, 0.0) * np.sign(W)
        E = P - Q
        if np.max(np.abs(E)) < tol:
            break
        T = T + E * kappa
        kappa = min(rho * kappa, kappa_max)
    return P, n_iter


@pytest.mark.parametrize("labels", [False, True])
def test_regenerator_is_bitwise_the_numpy_loop(labels):
    """The fused numba kernels of ``alg.regenerator`` give bit for bit the plain NumPy loop,
    with ``B`` the source features (TSRG) or one-hot source labels (DRLS)."""
    rng = np.random.default_rng(3)
    n, ns, q = 40, 22, 500
    X = rng.normal(size=(n, 8))
    K = X @ X.T / 8
    if labels:
        B = np.eye(5)[rng.integers(0, 5, size=ns)]
    else:
        B = np.abs(rng.normal(size=(ns, q)))
    for lam, mu, max_iter in [(0.5, 0.05, 2000), (2.0, 0.3, 2000), (1.0, 0.01, 60)]:
        P, n_iter = alg.regenerator(K, ns, B, lam, mu, max_iter=max_iter)
        P_ref, n_ref = _regenerator_numpy(K, ns, B, lam, mu, max_iter=max_iter)
        assert n_iter == n_ref
        assert np.array_equal(P, P_ref) and _same_floats(P, P_ref)


def test_regenerator_kernel_keeps_numpy_special_values():
    """The fused step after the products treats NaN, infinities and signed zeros as the NumPy
    steps do (``np.maximum`` / ``np.sign`` keep NaN) and reports NaN as its ``max |E|``."""
    rng = np.random.default_rng(4)
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e300]
    R, Qp, T = (rng.normal(size=(6, 9)) for _ in range(3))
    R[0, :7], Qp[1, :7], T[2, :7] = special, special, special
    R[3, :7] = Qp[3, :7]  # q = +-0
    kappa, c, thr = 0.7, 0.35, 0.2
    with np.errstate(invalid="ignore"):
        Q = (R - Qp) / c
        W = Q - T / kappa
        P_ref = np.maximum(np.abs(W) - thr, 0.0) * np.sign(W)
        E = P_ref - Q
        T_ref = T + E * kappa
        R_ref = ((P_ref * kappa) + T) / 2 + Q
    P, T_new = np.empty_like(R), T.copy()
    got = alg._regen_shrink(R, Qp, T_new, P, kappa, c, thr)
    assert _same_floats(P, P_ref) and _same_floats(T_new, T_ref)
    assert np.isnan(got) and not got < 1e-8
    rows = [4, 5]
    got = alg._regen_shrink(R[rows], Qp[rows], T[rows].copy(), P[rows], kappa, c, thr)
    assert got == np.max(np.abs(E[rows]))
    Rr = np.empty_like(R)
    alg._regen_rhs(P_ref, T, Q, kappa, Rr)
    assert _same_floats(Rr, R_ref)


@pytest.mark.parametrize("name", ["TSRG", "DRLS"])
def test_regeneration_reduces_the_mean_discrepancy(name):
    """TSRG/DRLS (Zong et al.): the regenerated target mean approaches the regenerated source
    mean as the alignment weight lam grows."""
    Xs, ys, Xt, _ = shifted_domains(shift=4.0)
    gaps = []
    for lam in (0.0, 1.0, 100.0):
        est = bl.make_method(name, lam=lam, mu=0.01).fit(Xs, ys, Xt)
        gaps.append(np.linalg.norm(est.regenerate(Xs).mean(0) - est.regenerate(Xt).mean(0)))
    assert gaps[2] < gaps[1] < gaps[0]
    assert gaps[2] < 0.2 * gaps[0]
    if name == "TSRG":  # regenerated source samples stay close to themselves
        est = bl.make_method(name, lam=1.0, mu=0.01).fit(Xs, ys, Xt)
        assert np.linalg.norm(est.regenerate(Xs) - Xs) < 0.1 * np.linalg.norm(Xs)


# --------------------------------------------------------------------------- any features


def test_subspace_sizes_are_bounded_by_the_features():
    """GFK and SA take features of any dimension; their subspaces cannot be larger than it
    (6 features here, fewer than the samples of either domain)."""
    Xs, ys, Xt, yt = shifted_domains(d=6)
    for name in ("GFK", "SA"):
        with pytest.raises(ValueError, match=r"dim=7 must be in 1\.\.6 .*the 6 features"):
            bl.make_method(name, dim=7).fit(Xs, ys, Xt)
        pred = bl.make_method(name, dim=6).fit(Xs, ys, Xt).predict(Xt)
        assert pred.shape == yt.shape


def test_grid_search_on_own_features():
    """grid_search on a user's (Xs, ys, Xt, yt) of any dimension, without an experiment: each
    row is the method fitted with that setting and scored with the project's metrics."""
    Xs, ys, Xt, yt = shifted_domains(d=40)
    grid = bl.grid_search("SVM", None, {"C": [0.01, 1.0]}, data=(Xs, ys, Xt, yt))
    assert grid["experiment"].isna().all() and len(grid) == 2
    for (_, row), C in zip(grid.iterrows(), [0.01, 1.0], strict=True):
        pred = bl.make_method("SVM", C=C).fit(Xs, ys, Xt).predict(Xt)
        assert row["macro_f1"] == bl.metrics.macro_f1(yt, pred)
        assert row["accuracy"] == bl.metrics.accuracy(yt, pred)
    with pytest.raises(ValueError, match="give an experiment, or your own data"):
        bl.grid_search("SVM", None)
    with pytest.raises(ValueError, match="unknown method"):
        bl.grid_search("NOPE", None, data=(Xs, ys, Xt, yt))


# --------------------------------------------------------------------------- real features


def _have_data():
    try:
        bl.load_experiment(5)
    except datasets.DataUnavailableError:
        return False
    return True


needs_data = pytest.mark.skipif(not _have_data(), reason="set TGSR_DATA_DIR to the features")


@needs_data
def test_svm_on_real_features_matches_the_paper_exp5(tmp_path):
    """Smoke test on the authors' features: SVM (LIBSVM linear, C = 1) on Exp.5 gives the
    paper's 63.38 % / 0.6186; the command line writes the same."""
    parser = argparse.ArgumentParser()
    bl.configure_parser(parser)
    out = tmp_path / "b.csv"
    args = parser.parse_args(["--experiment", "5", "--method", "SVM", "--out", str(out)])
    assert bl.run(args) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["experiment", "method", "accuracy", "macro_f1"]
    assert df.loc[0, "method"] == "SVM"
    assert round(100 * df.loc[0, "accuracy"], 2) == 63.38
    assert round(df.loc[0, "macro_f1"], 4) == 0.6186


def test_cli_rejects_bad_input(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    bl.configure_parser(parser)
    args = parser.parse_args(["--experiment", "5", "--method", "XYZ", "--out",
                              str(tmp_path / "x.csv")])
    assert bl.run(args) == 2
    assert "unknown method" in capsys.readouterr().err


@needs_data
def test_cached_predictions_give_the_cached_scores():
    """notebooks/cache/baselines_predictions.csv (the target predictions of notebook 07's
    paired tests) holds one vector per row of baselines.csv, at the same setting, and each
    vector gives that row's accuracy and macro-F1 on the experiment's target labels."""
    from tgsr_lib.compare import metrics

    cache = Path(__file__).resolve().parents[1] / "notebooks" / "cache"
    results = pd.read_csv(cache / "baselines.csv")
    preds = pd.read_csv(cache / "baselines_predictions.csv")
    keys = ["experiment", "method", "selection", "params"]
    merged = results.merge(preds, on=keys, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    labels = {n: bl.load_experiment(n)[3] for n in merged.experiment.unique()}
    for r in merged.itertuples():
        y_pred = np.array(r.predictions.split(), dtype=int)
        assert metrics.accuracy(labels[r.experiment], y_pred) == pytest.approx(r.accuracy)
        assert metrics.macro_f1(labels[r.experiment], y_pred) == pytest.approx(r.macro_f1)
