"""Algorithm 1 of the paper (inexact augmented Lagrangian method), each step written once.

TGSR solves ``min_C ||L~ - C^T X~||^2 + lambda ||C||_{2,1}``-type problems with the splitting
``D = C``: the IALM alternates

1. the **D-step** ``D = (mu I + 2 X~ X~^T)^{-1} (2 X~ L~^T + mu C - T)`` (a ridge solve);
2. the **C-step**, the proximal step of the group norm on ``W = D + T / mu``:
   ``C_i = s_i W_i`` with the shrink factor ``s_i = max(0, 1 - lambda / ||W_i||)``. The
   threshold ``lambda`` is the ``(kappa + 1)``-th largest group norm of ``W``, so at most
   ``kappa`` groups survive; ties at the threshold keep fewer than ``kappa`` groups, and
   ``kappa = K`` (every group) means ``lambda = 0``: no shrinkage at all, the C-step copies
   ``W`` and the fit is a ridge step;
3. the **multiplier update** ``T = T + mu (D - C)``, which equals ``mu (W - C) =
   mu (1 - s_i) W_i`` group by group (the form every solver here uses);
4. ``mu = min(rho mu, mu_max)``;

until the **stop rule** ``max |D - C| < tol``; ``D - C = (1 - s_i) W_i - T_old / mu``.
Initialisation: ``C = 1`` (every entry), ``T = 0``, ``mu = mu0``. Constants are the authors':
``mu0 = 1e-3``, ``rho = 1.1``, ``mu_max = 1e15``, ``tol = 1e-8``, at most 1000 iterations.

This module holds those steps and constants. :func:`solve_dense` runs them on the augmented
data (the reference solver, one fit at a time); the grid engines
(:mod:`tgsr_lib.model.engine` on the CPU, :mod:`tgsr_lib.model.array_engine` with CuPy or
NumPy) run the same steps in a smaller coordinate system for many fits at once. The
elementwise steps are plain arithmetic, so they serve NumPy and CuPy arrays and are compiled
by numba into the CPU engine's kernels unchanged.
"""

from __future__ import annotations

import numpy as np

from tgsr_lib.checks import check_solver_options

MU0 = 1e-3
RHO = 1.1
MU_MAX = 1e15
TOL = 1e-8
MAX_ITER = 1000
#: Every entry of the initial ``C`` (``T`` starts at 0, ``mu`` at ``mu0``).
C_INIT = 1.0


def solver_options(mu0: float = MU0, rho: float = RHO, mu_max: float = MU_MAX,
                   tol: float = TOL, max_iter: int = MAX_ITER) -> dict:
    """The validated constants as a dict (``mu0, rho, mu_max, tol, max_iter``)."""
    return check_solver_options(mu0, rho, mu_max, tol, max_iter)


def _xp(a):
    """NumPy, or CuPy for CuPy arrays."""
    mod = type(a).__module__.split(".")[0]
    if mod == "cupy":
        import cupy

        return cupy
    return np


def group_threshold(norms, kappa):
    """lambda of the C-step: the ``(kappa + 1)``-th largest of the group norms, 0 when
    ``kappa >= K``.

    ``norms`` is ``(..., K)`` (one row per fit), ``kappa`` a scalar or one value per row.
    """
    xp = _xp(norms)
    K = norms.shape[-1]
    kappa = xp.asarray(kappa)
    idx = xp.clip(K - kappa - 1, 0, K - 1)
    srt = xp.sort(norms, axis=-1)
    t = xp.take_along_axis(srt, xp.broadcast_to(idx, norms.shape[:-1])[..., None], axis=-1)
    return xp.where(kappa < K, t[..., 0], 0.0)


def shrink_factors(norms, lam):
    """``s_i = (||W_i|| - lambda) / ||W_i||`` for the groups above the threshold, else 0
    (the l2,1 proximal step); ``lam`` has the shape of ``norms`` without its last axis."""
    xp = _xp(norms)
    lam = xp.asarray(lam)[..., None]
    above = norms > lam
    return xp.where(above, (norms - lam) / xp.where(above, norms, 1.0), 0.0)


def residual(one_minus_s, w, t_old, inv_mu):
    """An entry (or coefficient) of ``D - C = (1 - s) W - T_old / mu``."""
    return one_minus_s * w - t_old * inv_mu


def multiplier(mu, one_minus_s, w):
    """The new multiplier ``T = T_old + mu (D - C) = mu (1 - s) W``."""
    return mu * one_minus_s * w


def next_mu(mu, rho: float, mu_max: float):
    """``min(rho mu, mu_max)``."""
    return np.minimum(rho * mu, mu_max)


def converged(max_abs_residual, tol: float):
    """The stop rule ``max |D - C| < tol`` (False for NaN: a diverged fit never converges)."""
    return max_abs_residual < tol


def group_norms_dense(W: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Frobenius norm of each group of ``W`` (d, c) whose rows are grouped consecutively with
    the given ``sizes``."""
    K = sizes.size
    if np.all(sizes == sizes[0]):
        Wg = W.reshape(K, -1, W.shape[1])
        return np.sqrt(np.einsum("kij,kij->k", Wg, Wg))
    sq = (W * W).sum(axis=1)
    return np.sqrt(np.add.reduceat(sq, np.concatenate([[0], np.cumsum(sizes)[:-1]])))


def solve_dense(A: np.ndarray, L: np.ndarray, kappa: int, sizes, *, mu0: float = MU0,
                rho: float = RHO, mu_max: float = MU_MAX, tol: float = TOL,
                max_iter: int = MAX_ITER):
    """Algorithm 1 on the augmented data, one fit (the reference solver).

    Parameters
    ----------
    A : (n, d) augmented samples as rows (``X~^T``), columns grouped consecutively.
    L : (n, c) augmented one-hot labels (``L~^T``).
    kappa : groups kept, 1..K.
    sizes : (K,) column count of each group, in column order.

    Returns
    -------
    C : (d, c) coefficients; n_iter : iterations run; converged : bool (False when the
    iteration limit was reached or the iterates became non-finite).

    The D-step uses the Woodbury identity ``(mu I + 2 A^T A)^{-1} Y =
    (Y - A^T (mu/2 I + A A^T)^{-1} A Y) / mu``: ``A`` has only ``N_s + 1`` rows, so an
    iteration costs ``O(d N_s c)``.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    d, c = A.shape[1], L.shape[1]
    lam, V = np.linalg.eigh(A @ A.T)
    B = 2.0 * (A.T @ L)  # 2 X~ L~^T
    C = np.full((d, c), C_INIT)
    T = np.zeros((d, c))
    mu = mu0
    row_group = np.repeat(np.arange(sizes.size), sizes)
    ok = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        Y = B + mu * C - T
        AY = V.T @ (A @ Y)
        D = (Y - A.T @ (V @ (AY / (0.5 * mu + lam)[:, None]))) / mu
        W = D + T / mu
        norms = group_norms_dense(W, sizes)
        s = shrink_factors(norms, group_threshold(norms, kappa))
        one_s = (1.0 - s)[row_group, None]
        E = residual(one_s, W, T, 1.0 / mu)
        C = s[row_group, None] * W
        T = multiplier(mu, one_s, W)
        err = np.max(np.abs(E))
        if not np.isfinite(err):
            break
        if converged(err, tol):
            ok = True
            break
        mu = next_mu(mu, rho, mu_max)
    return C, n_iter, bool(ok)
