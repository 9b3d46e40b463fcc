"""The grid engine written with whole-array operations, for a GPU (CuPy) or NumPy.

It runs on the shared driver (:func:`tgsr_lib.model.driver.solve_many`, ``backend="array"``)
in the same small basis as the CPU engine (:mod:`tgsr_lib.model.problem`) and calls the same
steps of Algorithm 1 (:mod:`tgsr_lib.model.ialm`). Every step of an iteration is one array
operation over all fits in flight: ``G_i v`` is formed for every group (one large GEMM) and
the stop rule ``max |D - C| < tol`` is evaluated exactly every iteration (on a GPU that costs
less than bounding it). With ``xp=numpy`` it runs anywhere, which is how the tests check it
without a GPU; ``engine="gpu"`` in :func:`tgsr_lib.experiments.runner.compute_grid` uses CuPy.
"""

from __future__ import annotations

import numpy as np

from tgsr_lib.model import ialm
from tgsr_lib.model.problem import GridProblem


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


class ArrayBackend:
    """State of the fits in the slots as device arrays (first axis = slot)."""

    def __init__(self, problem: GridProblem, P: int, U, lam, UtBL, xp=None):
        self.xp = xp = cupy_module() if xp is None else xp
        K, m, c = problem.n_groups, problem.m, problem.c
        self.problem = problem
        self.U_all, self.lam_all, self.UtBL_all = xp.asarray(U), xp.asarray(lam), \
            xp.asarray(UtBL)
        self.Gt = xp.asarray(problem.Gall.T.copy())
        self.q = xp.asarray(problem.q)  # (K, m)
        self.Qg = xp.asarray(problem.Qg)  # (K, gmax, m), zero-padded
        self.row_ok = xp.asarray(np.arange(problem.gmax)[None, :] < problem.gsize[:, None])
        self.gsize = xp.asarray(problem.gsize.astype(np.float64))
        self.Pt = xp.asarray(problem.Pt.reshape(K * m, problem.n_eval))
        self.rowsum = xp.asarray(problem.rowsum_t)  # (K, N_eval)
        self.ct0 = xp.asarray(ialm.C_INIT * problem.q.sum(axis=0))
        z = xp.zeros
        self.act = z((P, K), dtype=bool)
        self.alpha, self.a = z((P, K)), z((P, K))
        self.beta, self.H, self.b = z((P, K, c, m)), z((P, K, c, m)), z((P, K, c, m))
        self.ct, self.tt = z((P, c, m)), z((P, c, m))
        self.kap = z(P, dtype=xp.int64)
        self.Us, self.lam, self.UtBL = z((P, m, m)), z((P, m)), z((P, c, m))

    def _host(self, a) -> np.ndarray:
        return a.get() if hasattr(a, "get") else np.asarray(a)

    def load(self, slots, kappas, xi_ids, entry_ids) -> None:
        xp = self.xp
        s = xp.asarray(slots)
        self.act[s] = True  # C = C_INIT everywhere: alpha = C_INIT, beta = 0
        self.alpha[s] = ialm.C_INIT
        for arr in (self.beta, self.H, self.a, self.b, self.tt):
            arr[s] = 0.0
        self.ct[s] = self.ct0[None, None, :]
        self.kap[s] = xp.asarray(kappas)
        x = xp.asarray(xi_ids)
        self.Us[s] = self.U_all[x]
        self.lam[s] = self.lam_all[x]
        self.UtBL[s] = self.UtBL_all[xp.asarray(entry_ids)]

    def step(self, slots, mu, tol: float):
        xp = self.xp
        K, m, c = self.problem.n_groups, self.problem.m, self.problem.c
        live = xp.asarray(slots)
        L = slots.size
        mu_k = xp.asarray(mu[slots])[:, None]
        mu_l = mu_k[:, :, None]
        inv_mu = 1.0 / mu_k
        act_l = self.act[live]
        # D-step in the basis: v = 2 (mu I + 2M)^-1 (B L - M (c~ - t~/mu))
        Us = self.Us[live]
        y = self.ct[live] - self.tt[live] * inv_mu[:, :, None]
        uy = xp.matmul(y, Us)  # (L, c, m): U^T y per column
        lam_l = self.lam[live][:, None, :]
        w = 2.0 * (self.UtBL[live] - lam_l * uy) / (mu_l + 2.0 * lam_l)
        v = xp.matmul(w, Us.transpose(0, 2, 1))  # (L, c, m)
        # group norms of W = C + Q v, all G_i v at once
        GV = (v.reshape(L * c, m) @ self.Gt).reshape(L, c, K, m).transpose(0, 2, 1, 3)
        mask = act_l[:, :, None, None]
        gam = xp.where(mask, self.beta[live], 0.0) + v[:, None]
        Hg = xp.where(mask, self.H[live], 0.0) + GV
        al = xp.where(act_l, self.alpha[live], 0.0)
        s1 = xp.einsum("km,lkcm->lk", self.q, gam)
        s2 = (gam * Hg).sum(axis=(2, 3))
        g = xp.sqrt(xp.maximum(al * al * (self.gsize * c) + 2.0 * al * s1 + s2, 0.0))
        # C-step, multiplier update and stop rule
        s = ialm.shrink_factors(g, ialm.group_threshold(g, self.kap[live]))
        one_s = 1.0 - s
        one_s4 = one_s[:, :, None, None]
        e = ialm.residual(one_s, al, self.a[live], inv_mu)
        F = ialm.residual(one_s4, gam, self.b[live], inv_mu[:, :, None, None])
        E = xp.matmul(self.Qg[None], F.transpose(0, 1, 3, 2)) + e[:, :, None, None]
        Emax = xp.abs(xp.where(self.row_ok[None, :, :, None], E, 0.0)).max(axis=(1, 2, 3))
        s4 = s[:, :, None, None]
        self.a[live] = ialm.multiplier(mu_k, one_s, al)
        self.b[live] = ialm.multiplier(mu_l[:, :, :, None], one_s4, gam)
        self.alpha[live] = s * al
        self.act[live] = s > 0
        self.beta[live] = s4 * gam
        Hn = s4 * Hg
        self.H[live] = Hn
        ctn = ((s * al) @ self.q)[:, None, :] + Hn.sum(axis=1)
        self.tt[live] = mu_l * (self.ct[live] + v - ctn)
        self.ct[live] = ctn
        conv = self._host(ialm.converged(Emax, tol))
        finite = self._host(xp.isfinite(Emax) & xp.isfinite(g).all(axis=1))
        return conv, finite

    def finish(self, slots):
        xp = self.xp
        K, m, c = self.problem.n_groups, self.problem.m, self.problem.c
        done = xp.asarray(slots)
        n = slots.size
        scores = self.beta[done].transpose(0, 2, 1, 3).reshape(n * c, K * m) @ self.Pt
        scores = scores.reshape(n, c, -1) + (self.alpha[done] @ self.rowsum)[:, None, :]
        return self._host(scores), self._host(self.act[done])


def solve_many_array(problem: GridProblem, kappas, xis, *, xp=None, **options):
    """:func:`tgsr_lib.model.driver.solve_many` with this engine (``backend="array"``;
    ``xp`` defaults to CuPy)."""
    from tgsr_lib.model.driver import solve_many as drive

    return drive(problem, kappas, xis, backend="array", xp=xp, **options)
