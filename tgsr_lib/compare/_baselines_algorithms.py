"""Clean-room NumPy/SciPy kernels of the baselines that no maintained library implements.

Plain arrays in, plain arrays out; no input parsing (the estimators in
:mod:`tgsr_lib.compare.baselines` validate). Rows are samples throughout. Each function writes out
the equation it solves, with the paper it comes from. Equation numbers are given where they
could be checked; elsewhere the formula itself is written out, so the code can be checked
against any version of the paper.

* TCA: Pan, Tsang, Kwok, Yang, "Domain adaptation via transfer component analysis",
  IEEE TNN 22(2), 2011 (unsupervised TCA).
* GFK: Gong, Shi, Sha, Grauman, "Geodesic flow kernel for unsupervised domain adaptation",
  CVPR 2012.
* TKL: Long, Wang, Sun, Yu, "Domain invariant transfer kernel learning", IEEE TKDE 27(6), 2015.
* STM: Chu, De la Torre, Cohn, "Selective transfer machine for personalized facial action
  unit detection", CVPR 2013 (and TPAMI 39(3), 2017).
* TSRG / DRLS: Zong, Huang, Zheng, Cui, Zhao, "Learning a target sample re-generator for
  cross-database micro-expression recognition", ACM MM 2017; Zong, Zheng, Huang, Shi, Cui,
  Zhao, "Domain regeneration for cross-database micro-expression recognition", IEEE TIP
  27(5), 2018.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.optimize
from numba import njit

# ----------------------------------------------------------------------------- kernels


def kernel(A: np.ndarray, B: np.ndarray, kind: str = "linear", gamma: float = 1.0) -> np.ndarray:
    """``k(a_i, b_j)`` for rows of ``A`` and ``B``: ``"linear"`` (``a.b``) or ``"rbf"``
    (``exp(-gamma |a - b|^2)``), scikit-learn's ``linear_kernel`` / ``rbf_kernel``."""
    from sklearn.metrics.pairwise import linear_kernel, rbf_kernel

    if kind == "linear":
        return linear_kernel(A, B)
    if kind == "rbf":
        return rbf_kernel(A, B, gamma=gamma)
    raise ValueError(f"unknown kernel {kind!r}: use 'linear' or 'rbf'")


def median_gamma(X: np.ndarray) -> float:
    """RBF width by the median heuristic: ``gamma = 1 / (2 sigma^2)``, ``sigma`` = median
    pairwise Euclidean distance between the rows of ``X`` (as Huang et al. 2007 set KMM)."""
    sq = (X * X).sum(1)[:, None] + (X * X).sum(1)[None, :] - 2.0 * (X @ X.T)
    d2 = np.maximum(sq[np.triu_indices(X.shape[0], 1)], 0.0)
    med = float(np.median(d2))
    return 1.0 / (2.0 * med) if med > 0 else 1.0


def mmd2(K: np.ndarray, ns: int, weights: np.ndarray | None = None) -> float:
    """Squared maximum mean discrepancy between the first ``ns`` rows (source, optionally
    weighted with mean-one weights) and the rest (target), from the joint kernel ``K``."""
    n = K.shape[0]
    e = np.concatenate([np.ones(ns) / ns if weights is None else weights / ns,
                        -np.ones(n - ns) / (n - ns)])
    return float(e @ K @ e)


# ----------------------------------------------------------------------------- TCA


def tca_components(K: np.ndarray, ns: int, mu: float, n_components: int) -> np.ndarray:
    """Transfer components ``W`` (n, m) of unsupervised TCA (Pan et al. 2011).

    TCA solves ``min_W tr(W^T K L K W) + mu tr(W^T W)`` subject to ``W^T K H K W = I``, with
    ``K`` the joint (n, n) kernel of source then target samples, ``L = e e^T``
    (``e_i = 1/ns`` on source, ``-1/nt`` on target: ``tr(W^T K L K W)`` is the MMD of the
    embedded domains) and the centring matrix ``H = I - 11^T/n``. The solution is the ``m``
    leading eigenvectors of ``(K L K + mu I)^{-1} K H K``, i.e. of the symmetric-definite
    generalised problem ``K H K w = lambda (K L K + mu I) w`` solved here. The embedding of
    the samples is ``K W``; ``W`` is scaled to satisfy the constraint exactly.

    (skada 0.6 computes ``eigh(solve(I + mu K L K, K H K))``: ``eigh`` of that non-symmetric
    matrix reads only its lower triangle, so its components are not TCA's; see notebook 07.)
    """
    n = K.shape[0]
    e = np.concatenate([np.ones(ns) / ns, -np.ones(n - ns) / (n - ns)])
    KLK = np.outer(K @ e, K @ e)
    H = np.eye(n) - 1.0 / n
    KHK = K @ H @ K
    KHK = (KHK + KHK.T) / 2
    _, vecs = scipy.linalg.eigh(KHK, KLK + mu * np.eye(n),
                                subset_by_index=[n - n_components, n - 1])
    vecs = vecs[:, ::-1]
    # scale to TCA's constraint W^T K H K W = I (each centred component has variance 1/n)
    return vecs / np.sqrt(np.einsum("ij,ik,kj->j", vecs, KHK, vecs))


# ----------------------------------------------------------------------------- GFK


def pca_basis(X: np.ndarray, dim: int) -> np.ndarray:
    """Orthonormal basis (D, dim) of the ``dim`` leading principal directions of ``X``
    (scikit-learn's ``PCA``, exact SVD)."""
    from sklearn.decomposition import PCA

    return PCA(n_components=dim, svd_solver="full").fit(X).components_.T


def gfk_factors(Ps: np.ndarray, Pt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The geodesic flow kernel ``G = F M F^T`` in factored form (Gong et al. 2012).

    ``Ps``, ``Pt``: orthonormal (D, d) bases of the source and target subspaces. With the
    SVDs ``Ps^T Pt = U1 Gamma V^T`` and ``Rs^T Pt = -U2 Sigma V^T`` (``Rs`` the orthogonal
    complement of ``Ps``; ``Gamma = cos(theta)``, ``Sigma = sin(theta)``, ``theta`` the
    principal angles), the geodesic from ``Ps`` (t = 0) to ``Pt`` (t = 1) on the Grassmannian
    is ``Phi(t) = Ps U1 Gamma(t) - Rs U2 Sigma(t)``, and the kernel is
    ``G = int_0^1 Phi(t) Phi(t)^T dt``. Integrating gives ``F = [Ps U1, Rs U2]`` and
    ``M = [[L1, L2], [L2, L3]]`` with diagonal
    ``L1 = (1 + sin(2 theta)/(2 theta)) / 2``, ``L2 = (cos(2 theta) - 1)/(4 theta)``,
    ``L3 = (1 - sin(2 theta)/(2 theta)) / 2``. The paper writes the same ``Lambda_1..3``
    without the common factor 1/2, which scales ``G`` only.

    ``Rs U2`` is formed without the (D, D - d) complement: ``Rs Rs^T = I - Ps Ps^T`` gives
    ``Rs U2 = -(Pt - Ps Ps^T Pt) V Sigma^{-1}`` (columns with ``theta = 0`` contribute
    nothing, since ``L2 = L3 = 0`` there).

    Returns ``F`` (D, 2d), ``M`` (2d, 2d) and the principal angles ``theta`` (d,).
    """
    U1, cos_t, Vt = np.linalg.svd(Ps.T @ Pt)
    cos_t = np.clip(cos_t, -1.0, 1.0)
    theta = np.arccos(cos_t)
    sin_t = np.sin(theta)
    resid = (Pt - Ps @ (Ps.T @ Pt)) @ Vt.T  # = -Rs U2 Sigma
    safe = sin_t > 1e-12
    RsU2 = np.zeros_like(resid)
    RsU2[:, safe] = -resid[:, safe] / sin_t[safe]
    two_t = 2.0 * theta
    sinc = np.sinc(two_t / np.pi)  # sin(2 theta) / (2 theta), 1 at theta = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        l2 = np.where(theta > 1e-12, (np.cos(two_t) - 1.0) / (2.0 * two_t), 0.0)
    l1 = (1.0 + sinc) / 2.0
    l3 = (1.0 - sinc) / 2.0
    F = np.hstack([Ps @ U1, RsU2])
    M = np.block([[np.diag(l1), np.diag(l2)], [np.diag(l2), np.diag(l3)]])
    return F, M, theta


# ----------------------------------------------------------------------------- TKL


def tkl_spectrum(K: np.ndarray, ns: int, damping: float, rtol: float = 1e-10):
    """Domain-invariant kernel of TKL (Long et al. 2015).

    ``K`` is the joint (n, n) kernel, source rows first. The target kernel
    ``K_Z = Phi_Z Lambda_Z Phi_Z^T`` is eigendecomposed and its eigenvectors extrapolated to
    the source samples with the Nystroem formula ``Phi_X = K_XZ Phi_Z Lambda_Z^{-1}``
    (Mercer's theorem). With ``Phi = [Phi_X; Phi_Z]``, TKL learns the spectrum ``lambda`` of
    ``Kbar = Phi diag(lambda) Phi^T`` that best approximates the ground-truth kernel,

        ``min_lambda ||Phi diag(lambda) Phi^T - K||_F^2``
        subject to ``lambda_i >= damping * lambda_{i+1}`` and ``lambda >= 0``

    (the eigenspectrum damping constraint, ``damping`` = zeta >= 1). The objective is the
    quadratic ``lambda^T ((Phi^T Phi) o (Phi^T Phi)) lambda - 2 sum_i lambda_i phi_i^T K phi_i``
    (``o`` = elementwise product), solved here with SLSQP.

    Returns ``(Phi_Z, eigvals_Z, lambda)``: the retained target eigenvectors and eigenvalues
    (for extrapolating new samples) and the learned spectrum.
    """
    Kzz = K[ns:, ns:]
    w, V = np.linalg.eigh((Kzz + Kzz.T) / 2)
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    keep = w > rtol * max(w[0], 0.0)
    w, V = w[keep], V[:, keep]
    Phi = np.vstack([K[:ns, ns:] @ V / w, V])
    G = Phi.T @ Phi
    Q = G * G
    q = np.einsum("ij,ik,kj->j", Phi, K, Phi)
    r = w.size
    # feasible start: the target spectrum, each eigenvalue capped by the damped previous one
    lam0 = w.copy()
    for i in range(1, r):
        lam0[i] = min(lam0[i], lam0[i - 1] / damping)
    scale = max(float(np.abs(q).max()), 1e-300)
    D = np.zeros((r - 1, r))
    D[np.arange(r - 1), np.arange(r - 1)] = 1.0
    D[np.arange(r - 1), np.arange(1, r)] = -damping
    res = scipy.optimize.minimize(
        lambda x: (x @ Q @ x - 2 * q @ x) / scale, lam0,
        jac=lambda x: (2 * Q @ x - 2 * q) / scale, method="SLSQP",
        bounds=[(0.0, None)] * r,
        constraints=[{"type": "ineq", "fun": lambda x: D @ x, "jac": lambda x: D}],
        options={"maxiter": 500, "ftol": 1e-12})
    lam = np.maximum(res.x, 0.0)
    return V, w, lam


# ----------------------------------------------------------------------------- KMM / STM


def _project_box_sum(v: np.ndarray, B: float, lo: float, hi: float) -> np.ndarray:
    """Euclidean projection of ``v`` on ``{0 <= s <= B, lo <= sum(s) <= hi}``:
    ``clip(v - tau, 0, B)`` with the scalar ``tau`` found by bisection (0 if feasible)."""
    s = np.clip(v, 0.0, B)
    total = s.sum()
    if lo <= total <= hi:
        return s
    goal = hi if total > hi else lo
    a, b = float(v.min()) - B - 1.0, float(v.max()) + 1.0  # sum(clip) is B*n at a, 0 at b
    for _ in range(100):
        tau = (a + b) / 2
        if np.clip(v - tau, 0.0, B).sum() > goal:
            a = tau
        else:
            b = tau
    return np.clip(v - (a + b) / 2, 0.0, B)


def kmm_qp(Kss: np.ndarray, kappa: np.ndarray, B: float, eps: float,
           linear: np.ndarray | None = None, max_iter: int = 20000,
           tol: float = 1e-10) -> np.ndarray:
    """``min_s 1/2 s^T Kss s - kappa^T s (+ linear^T s)`` subject to ``0 <= s <= B`` and
    ``|sum(s) - ns| <= ns eps``: the KMM quadratic program of Huang et al. (NIPS 2007), with
    the extra linear term of STM's weight step. Solved by accelerated projected gradient
    (FISTA, step ``1 / lambda_max(Kss)``) from ``s = 1``."""
    ns = Kss.shape[0]
    c = -kappa if linear is None else linear - kappa
    lo, hi = ns * (1 - eps), ns * (1 + eps)
    step = 1.0 / max(float(np.linalg.eigvalsh(Kss)[-1]), 1e-12)
    s = _project_box_sum(np.ones(ns), B, lo, hi)
    z, t = s.copy(), 1.0
    for _ in range(max_iter):
        s_new = _project_box_sum(z - step * (Kss @ z + c), B, lo, hi)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = s_new + (t - 1) / t_new * (s_new - s)
        done = np.max(np.abs(s_new - s)) <= tol * max(1.0, float(np.max(np.abs(s_new))))
        s, t = s_new, t_new
        if done:
            break
    return s


def ovr_squared_hinge(decision: np.ndarray, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Per-sample loss ``sum_k max(0, 1 - y_ik f_k(x_i))^2`` of a one-vs-rest linear SVM
    (``y_ik = +1`` if ``y_i`` is class ``k``, else -1); for two classes, the single score."""
    if decision.ndim == 1:
        sign = np.where(y == classes[1], 1.0, -1.0)
        return np.maximum(0.0, 1.0 - sign * decision) ** 2
    sign = np.where(y[:, None] == classes[None, :], 1.0, -1.0)
    return (np.maximum(0.0, 1.0 - sign * decision) ** 2).sum(axis=1)


# ----------------------------------------------------------------------------- TSRG / DRLS


def regenerator(K: np.ndarray, ns: int, B: np.ndarray, lam: float, mu: float, *,
                kappa0: float = 1e-3, rho: float = 1.1, kappa_max: float = 1e15,
                tol: float = 1e-8, max_iter: int = 2000) -> tuple[np.ndarray, int]:
    """Coefficients ``P`` (n, q) of the domain regenerator of TSRG / DRLS (Zong et al.).

    The regenerator maps a sample to ``P^T k(x)``, ``k(x) = [k(x, x_1), ..., k(x, x_n)]``
    over all source and target samples. With ``Ks`` (n, ns) and ``Kt`` (n, nt) the kernel
    columns of the source and target samples, it solves

        ``min_P ||B^T - P^T Ks||_F^2 + lam ||P^T (Ks 1/ns - Kt 1/nt)||^2 + mu ||P||_1``

    where ``B`` (ns, q) is the source features (TSRG / DRFS-S: regenerated source samples stay
    themselves) or the one-hot source labels (DRLS: regeneration in the label space). The
    second term aligns the means of the regenerated source and target, the l1 term keeps
    ``P`` sparse. Stacking ``A = [Ks^T; sqrt(lam) (Ks 1/ns - Kt 1/nt)^T]`` and
    ``Y = [B; 0]`` it is the lasso ``min ||Y - A P||^2 + mu ||P||_1``, solved as in the
    papers by the inexact augmented Lagrangian method on ``P = Q``:

        ``Q = (A^T A + kappa/2 I)^{-1} (A^T Y + (kappa P + T)/2)``   (Woodbury, small solve)
        ``P = soft(Q - T/kappa, mu/kappa)``
        ``T = T + kappa (P - Q)``, ``kappa = min(rho kappa, kappa_max)``

    with the authors' constants (``kappa0 = 1e-3``, ``rho = 1.1``, ``kappa_max = 1e15``,
    stop when ``max |P - Q| < 1e-8``). Returns ``P`` and the number of iterations.
    """
    n = K.shape[0]
    Ks = K[:, :ns]
    delta = Ks.mean(axis=1) - K[:, ns:].mean(axis=1)
    A = np.vstack([Ks.T, np.sqrt(lam) * delta[None, :]])
    Y = np.vstack([B, np.zeros((1, B.shape[1]))])
    s, V = np.linalg.eigh(A @ A.T)
    AV = A.T @ V  # (n, r): the Woodbury solve below in two products, not four
    AtY = A.T @ Y
    P = np.zeros((n, B.shape[1]))
    T = np.zeros_like(P)
    # the iteration's (n, q) arrays, written in place by two fused one-pass numba kernels
    # around the two products (q = 15045 for TSRG: NumPy's ~35 elementwise passes cost as much
    # as the products; fused, bitwise the same, one thread, n = 294: 126 -> 66 ms an iteration)
    R, Q = np.empty_like(P), np.empty_like(P)
    kappa = kappa0
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        _regen_rhs(P, T, AtY, kappa, R)  # R = AtY + (kappa P + T) / 2
        c = kappa / 2
        np.matmul(AV, (AV.T @ R) / (s + c)[:, None], out=Q)
        # Q = (R - Q) / c, P = soft(Q - T / kappa, mu / kappa), T += kappa (P - Q)
        if _regen_shrink(R, Q, T, P, kappa, c, mu / kappa) < tol:
            break
        kappa = min(rho * kappa, kappa_max)
    return P, n_iter


@njit(cache=True)
def _regen_rhs(P, T, AtY, kappa, R):
    """``R = (P kappa + T) / 2 + AtY`` in one pass (the order of the NumPy steps it fuses)."""
    n, q = P.shape
    for i in range(n):
        for j in range(q):
            R[i, j] = (P[i, j] * kappa + T[i, j]) / 2.0 + AtY[i, j]


@njit(cache=True)
def _regen_shrink(R, Qp, T, P, kappa, c, thr):
    """One pass of the iteration after the products ``Qp = AV (...)``: ``q = (R - Qp) / c``,
    ``w = q - T / kappa``, ``P = max(|w| - thr, 0) sign(w)``, ``e = P - q``,
    ``T = T + e kappa``; returns ``max |e|`` (NaN if any ``e`` is NaN). NaN propagates as in
    ``np.maximum`` / ``np.sign``. Branch-free, so that LLVM vectorizes it."""
    n, m = P.shape
    ae = np.empty(m)  # |e| of one row
    bits = ae.view(np.uint64)
    top = np.uint64(0)
    for i in range(n):
        for j in range(m):
            q = (R[i, j] - Qp[i, j]) / c
            t = T[i, j]
            w = q - t / kappa
            p = abs(w) - thr
            p = 0.0 if p < 0.0 else p  # np.maximum(p, 0.0): NaN stays
            sg = (1.0 if w > 0.0 else 0.0) - (1.0 if w < 0.0 else 0.0)  # np.sign(w) ...
            sg = w if w != w else sg  # ... NaN for NaN
            p = p * sg
            e = p - q
            P[i, j] = p
            T[i, j] = t + e * kappa
            ae[j] = abs(e)
        # the max of |e| >= 0 as integers: the same order, any NaN above inf, and vectorized
        for j in range(m):
            b = bits[j]
            top = b if b > top else top
    out = np.empty(1, np.uint64)
    out[0] = top
    return out.view(np.float64)[0]
