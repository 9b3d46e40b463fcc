"""The grid engine written with whole-array operations, for a GPU (CuPy) or NumPy.

Same mathematics as :mod:`tgsr_lib.engine` (shared Q basis, per-group coefficients,
continuous batching), but every step of an iteration is one array operation over all fits
in flight, and the stopping rule ``max |D - C| < tol`` is evaluated exactly every iteration
(on a GPU that costs less than bounding it). With ``xp=numpy`` it runs anywhere, which is how
the tests check it without a GPU; ``engine="gpu"`` in :func:`tgsr_lib.grid.compute_grid`
uses CuPy.
"""

from __future__ import annotations

import numpy as np

from .engine import GridProblem
from .tgsr import MU0, MU_MAX, RHO, TOL


def cupy_module():
    """Import CuPy and check that a GPU is usable, with a clear error otherwise."""
    try:
        import cupy
    except ImportError:
        raise RuntimeError("engine 'gpu' needs CuPy (pip install cupy-cuda12x) and an NVIDIA "
                           "GPU; use engine 'fast' on the CPU") from None
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as err:
        raise RuntimeError(f"engine 'gpu': CuPy sees no usable GPU ({err})") from None
    return cupy


def solve_many_array(problem: GridProblem, kappas, xis, *, xp=None, n_slots: int = 2048,
                     max_iter: int = 1000, mu0: float = MU0, rho: float = RHO,
                     mu_max: float = MU_MAX, tol: float = TOL, on_result=None):
    """Like :func:`tgsr_lib.engine.solve_many`, with array module ``xp`` (default CuPy)."""
    xp = cupy_module() if xp is None else xp
    kappas = np.asarray(kappas, dtype=np.int64)
    xis = np.asarray(xis, dtype=np.float64)
    n_fits = kappas.size
    K, m, c, gdim = problem.n_groups, problem.m, problem.c, problem.gdim
    nt = problem.Pt.shape[2]
    xi_ids, entry_ids, U_np, lam_np, UtBL_np = problem.xi_tables(xis)
    U_all, lam_all, UtBL_all = xp.asarray(U_np), xp.asarray(lam_np), xp.asarray(UtBL_np)
    Gt = xp.asarray(problem.Gall.T.copy())
    q = xp.asarray(problem.q)  # (K, m)
    Qg = xp.asarray(problem.Qg)  # (K, gdim, m)
    Pt = xp.asarray(problem.Pt.reshape(K * m, nt))
    rowsum = xp.asarray(problem.rowsum_t)  # (K, Nt)
    q_sum = problem.q.sum(axis=0)

    P = max(1, min(n_slots, n_fits))
    act = xp.zeros((P, K), dtype=bool)
    alpha = xp.zeros((P, K))
    beta = xp.zeros((P, K, c, m))
    H = xp.zeros((P, K, c, m))
    a = xp.zeros((P, K))
    b = xp.zeros((P, K, c, m))
    ct = xp.zeros((P, c, m))
    tt = xp.zeros((P, c, m))
    mu = xp.zeros(P)
    kap = xp.zeros(P, dtype=xp.int64)
    Us = xp.zeros((P, m, m))
    lam = xp.zeros((P, m))
    UtBL = xp.zeros((P, c, m))
    it = np.zeros(P, dtype=np.int64)
    fit_of = np.full(P, -1, dtype=np.int64)

    pred = np.zeros((n_fits, nt), dtype=problem.classes.dtype)
    n_iter = np.zeros(n_fits, dtype=np.int64)
    converged = np.zeros(n_fits, dtype=bool)
    next_fit = 0

    def load(slots: np.ndarray) -> None:
        nonlocal next_fit
        slots = slots[: max(0, n_fits - next_fit)]
        if slots.size == 0:
            return
        fits = np.arange(next_fit, next_fit + slots.size)
        next_fit += slots.size
        s = xp.asarray(slots)
        fit_of[slots] = fits
        it[slots] = 0
        act[s] = True
        alpha[s] = 1.0
        beta[s] = 0.0
        H[s] = 0.0
        a[s] = 0.0
        b[s] = 0.0
        ct[s] = xp.asarray(q_sum)[None, None, :]
        tt[s] = 0.0
        mu[s] = mu0
        kap[s] = xp.asarray(kappas[fits])
        x = xp.asarray(xi_ids[fits])
        Us[s] = U_all[x]
        lam[s] = lam_all[x]
        UtBL[s] = UtBL_all[xp.asarray(entry_ids[fits])]

    load(np.arange(P))
    while True:
        live_np = np.flatnonzero(fit_of >= 0)
        if live_np.size == 0:
            break
        live = xp.asarray(live_np)
        L = live_np.size
        mu_l = mu[live][:, None, None]
        act_l = act[live]
        y = ct[live] - tt[live] / mu_l
        uy = xp.matmul(y, Us[live])  # (L, c, m): U^T y per column
        lam_l = lam[live][:, None, :]
        w = 2.0 * (UtBL[live] - lam_l * uy) / (mu_l + 2.0 * lam_l)
        v = xp.matmul(w, Us[live].transpose(0, 2, 1))  # (L, c, m)
        GV = (v.reshape(L * c, m) @ Gt).reshape(L, c, K, m).transpose(0, 2, 1, 3)
        mask = act_l[:, :, None, None]
        gam = xp.where(mask, beta[live], 0.0) + v[:, None]
        Hg = xp.where(mask, H[live], 0.0) + GV
        al = xp.where(act_l, alpha[live], 0.0)
        s1 = xp.einsum("km,lkcm->lk", q, gam)
        s2 = (gam * Hg).sum(axis=(2, 3))
        g = xp.sqrt(xp.maximum(al * al * (gdim * c) + 2.0 * al * s1 + s2, 0.0))
        kap_l = kap[live]
        t = xp.sort(g, axis=1)[xp.arange(L), xp.clip(K - kap_l - 1, 0, K - 1)]
        t = xp.where(kap_l < K, t, 0.0)[:, None]
        s = xp.where(g > t, (g - t) / xp.where(g > 0, g, 1.0), 0.0)
        one_s = 1.0 - s
        mu_k = mu[live][:, None]
        e = one_s * al - a[live] / mu_k
        F = one_s[:, :, None, None] * gam - b[live] / mu_l[:, :, :, None]
        Emax = xp.abs(xp.matmul(Qg[None], F.transpose(0, 1, 3, 2))
                      + e[:, :, None, None]).max(axis=(1, 2, 3))
        new_act = s > 0
        s4 = s[:, :, None, None]
        a[live] = mu_k * one_s * al
        b[live] = mu_l[:, :, :, None] * one_s[:, :, None, None] * gam
        alpha[live] = s * al
        act[live] = new_act
        beta[live] = s4 * gam
        Hn = s4 * Hg
        H[live] = Hn
        ctn = (s * al) @ q
        ctn = ctn[:, None, :] + Hn.sum(axis=1)
        tt[live] = mu_l * (ct[live] + v - ctn)
        ct[live] = ctn
        it[live_np] += 1
        conv = xp.asnumpy(Emax < tol) if hasattr(xp, "asnumpy") else np.asarray(Emax < tol)
        stop = conv | (it[live_np] >= max_iter)
        going = live[xp.asarray(~stop)]
        mu[going] = xp.minimum(rho * mu[going], mu_max)
        if not stop.any():
            continue
        done_np = live_np[stop]
        done = xp.asarray(done_np)
        scores = (beta[done].transpose(0, 2, 1, 3).reshape(done_np.size * c, K * m) @ Pt)
        scores = scores.reshape(done_np.size, c, nt) + (alpha[done] @ rowsum)[:, None, :]
        best = scores.argmax(axis=1)
        best = xp.asnumpy(best) if hasattr(xp, "asnumpy") else np.asarray(best)
        fits = fit_of[done_np]
        pred[fits] = problem.classes[best]
        n_iter[fits] = it[done_np]
        converged[fits] = conv[stop]
        fit_of[done_np] = -1
        if on_result is not None:
            on_result(fits, pred[fits], n_iter[fits], converged[fits])
        load(done_np)
    return pred, n_iter, converged
