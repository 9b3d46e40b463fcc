"""The CPU grid engine: Algorithm 1 for many fits at once, in numba kernels.

It runs on the shared driver (:func:`tgsr_lib.model.driver.solve_many`) in the small basis of
:mod:`tgsr_lib.model.problem` (``C_i = alpha_i 1 + Q_i beta_i``, ``T_i = a_i 1 + Q_i b_i``)
and calls the steps of :mod:`tgsr_lib.model.ialm` (threshold rule, shrink factors, residual
and multiplier, stop rule); what is its own is how it evaluates them cheaply:

1. **Group norms without d-dimensional vectors.** With ``W_i = C_i + Q_i v`` (``v`` = the
   D-step in the basis), ``H_i = G_i beta_i`` and ``gamma = beta + v``:
   ``||W_i||^2 = alpha^2 |i| c + 2 alpha 1^T Q_i gamma 1 + beta.H_i + 2 v.H_i + v^T G_i v``.
   ``v^T G_i v`` for all groups and all fits in flight is one product of the packed
   ``v v^T`` with the packed Gram matrices (m (m + 1) / 2 numbers per group).
2. **Large matrix products, only where needed.** ``G_i v`` (for ``H`` and ``Q^T C``) is needed
   only for the groups a fit keeps after thresholding: one GEMM of all fits' ``v`` with the
   Gram matrices of the union of kept groups (39% of the groups on average, measured on
   Exp.11 at every 8th kappa). Fused numba loops do the rest without temporaries.
3. **Exact stop rule with bounds.** ``max |D - C|`` is bounded above by
   ``|e_i| + max_row ||Q_i row|| ||f_i||`` and below by its value at a few watched rows; only
   when the bounds straddle the tolerance is ``D - C`` formed in full.

The state of the fits in flight is one :class:`FitState` (arrays indexed by slot) and the
problem's constants one :class:`Tables`; each kernel takes ``slots`` and those structures,
and takes the arrays it uses out of them before its parallel loop (numba's parallel loops
lose writes made through a tuple's fields).
Inside ``with profiling() as prof:`` every step charges its time and counted flops to named
phases (:class:`Profile`; ``benchmarks/grid_speed.py --profile`` prints them).
Each kernel is compiled twice, as distinct functions (``name`` parallel, ``name_serial``),
because numba keeps one cache entry per function whatever its options.
"""

from __future__ import annotations

import os
import time
import types
from collections import defaultdict
from contextlib import contextmanager
from typing import NamedTuple

# numba's parallel loops run on OpenMP threads that, by default, spin for a while after each
# loop and so take the cores from the OpenBLAS products that come next: on 2 cores that made
# the grid twice as slow (Exp.5 sub-grid, 57.9 s against 29.0 s with passive waiting). The
# variable is read when the OpenMP runtime loads (at the first parallel loop); a value the
# user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from tgsr_lib.model import ialm
from tgsr_lib.model.problem import GridProblem

N_WATCH = 8
_FAST = {"reassoc", "contract"}  # lets numba vectorise the sums; rounding-level changes only
_PARALLEL_MIN = 16  # fewer live slots run the serial variant (threads cost more than work)

_residual = njit(inline="always")(ialm.residual)
_multiplier = njit(inline="always")(ialm.multiplier)
_converged = njit(inline="always")(ialm.converged)


class Tables(NamedTuple):
    """The problem's constants the kernels read."""

    U: np.ndarray  # (X, m, m) eigenvectors of M(xi) per distinct xi
    lam: np.ndarray  # (X, m) eigenvalues
    UtBL: np.ndarray  # (E, c, m) U^T B L per entry (xi and labels)
    q: np.ndarray  # (K, m) Q_i^T 1
    gsize: np.ndarray  # (K,) rows of each group
    rho_row: np.ndarray  # (K,) largest row norm of Q_i
    Qg: np.ndarray  # (K, gmax, m) Q by group, zero-padded


class FitState(NamedTuple):
    """The state of the fits in the slots (first axis = slot)."""

    kappa: np.ndarray  # (P,) groups kept
    xi_of: np.ndarray  # (P,) index of the fit's xi in Tables.U / lam
    ent_of: np.ndarray  # (P,) index of the fit's entry in Tables.UtBL
    active: np.ndarray  # (P, K) group non-zero in C
    alpha: np.ndarray  # (P, K) C_i = alpha_i 1 + Q_i beta_i
    beta: np.ndarray  # (P, K, c, m)
    H: np.ndarray  # (P, K, c, m) G_i beta_i
    a_buf: np.ndarray  # (P, 2, K) T_i = a_i 1 + Q_i b_i, old and new (sel)
    b_buf: np.ndarray  # (P, 2, K, c, m)
    sel: np.ndarray  # (P,) which buffer holds the current T
    ct: np.ndarray  # (P, c, m) Q^T C
    tt: np.ndarray  # (P, c, m) Q^T T
    v: np.ndarray  # (P, c, m) the D-step in the basis
    norms: np.ndarray  # (P, K) group norms of W
    scale: np.ndarray  # (P, K) shrink factors s_i
    watch: np.ndarray  # (P, N_WATCH) rows of D - C watched for the lower bound
    ub: np.ndarray  # (P,) upper bound of max |D - C|
    lb: np.ndarray  # (P,) lower bound
    row_hit: np.ndarray  # (P,) first row with |D - C| >= tol, -1 if none


def new_state(P: int, K: int, c: int, m: int) -> FitState:
    z = np.zeros
    return FitState(
        kappa=z(P, np.int64), xi_of=z(P, np.int64), ent_of=z(P, np.int64),
        active=z((P, K), np.bool_), alpha=z((P, K)), beta=z((P, K, c, m)),
        H=z((P, K, c, m)), a_buf=z((P, 2, K)), b_buf=z((P, 2, K, c, m)), sel=z(P, np.int64),
        ct=z((P, c, m)), tt=z((P, c, m)), v=z((P, c, m)), norms=z((P, K)), scale=z((P, K)),
        watch=np.full((P, N_WATCH), -1, np.int64), ub=z(P), lb=z(P),
        row_hit=np.full(P, -1, np.int64))


def _d_step(slots, st, tb, mu):
    """The D-step in the basis: ``v = 2 (mu I + 2M)^-1 (B L - M (c~ - t~/mu))`` for each
    slot, ``M = U diag(lam) U^T`` of the slot's xi, ``U^T B L`` of its entry."""
    ct, ent_of, tt, v, xi_of = st.ct, st.ent_of, st.tt, st.v, st.xi_of
    U, UtBL, lam = tb.U, tb.UtBL, tb.lam
    m = U.shape[1]
    c = ct.shape[1]
    for ii in prange(slots.size):
        f = slots[ii]
        Ux = U[xi_of[f]]
        lx = lam[xi_of[f]]
        bx = UtBL[ent_of[f]]
        muf = mu[f]
        inv_mu = 1.0 / muf
        uy = np.zeros((c, m))
        for r in range(m):
            urow = Ux[r]
            for j in range(c):
                yr = ct[f, j, r] - tt[f, j, r] * inv_mu
                uj = uy[j]
                for k in range(m):
                    uj[k] += urow[k] * yr
        for j in range(c):
            uj = uy[j]
            for k in range(m):
                uj[k] = 2.0 * (bx[j, k] - lx[k] * uj[k]) / (muf + 2.0 * lx[k])
        for r in range(m):
            urow = Ux[r]
            for j in range(c):
                uj = uy[j]
                acc = 0.0
                for k in range(m):
                    acc += urow[k] * uj[k]
                v[f, j, r] = acc


def _gram_pack(slots, st, VV):
    """VV[l] = the upper triangle of ``sum_j v_j v_j^T`` of live slot l, packed row by row;
    ``VV @ Gpack`` then gives ``sum_j v_j^T G_i v_j`` for every group i."""
    v, = st.v,
    v = v
    c, m = v.shape[1], v.shape[2]
    for ll in prange(slots.size):
        f = slots[ll]
        row = VV[ll]
        p = 0
        if c == 3:  # the paper's three classes: one fused pass per row
            v0, v1, v2 = v[f, 0], v[f, 1], v[f, 2]
            for k in range(m):
                a0, a1, a2 = v0[k], v1[k], v2[k]
                for r in range(m - k):
                    row[p + r] = a0 * v0[k + r] + a1 * v1[k + r] + a2 * v2[k + r]
                p += m - k
            continue
        for k in range(m):
            n = m - k
            for r in range(n):
                row[p + r] = 0.0
            for j in range(c):
                vj = v[f, j]
                vk = vj[k]
                for r in range(n):
                    row[p + r] += vk * vj[k + r]
            p += n


def _group_norms(slots, st, tb, NV):
    """``||W_i||`` of every group of every slot into ``st.norms``, from
    ``NV[l, i] = v^T G_i v`` and, for the groups non-zero in C, the coefficient terms."""
    H, active, alpha, beta, norms, v = st.H, st.active, st.alpha, st.beta, st.norms, st.v
    gsize, q = tb.gsize, tb.q
    K, m = q.shape
    c = v.shape[1]
    for ll in prange(slots.size):
        f = slots[ll]
        for i in range(K):
            g2 = NV[ll, i]
            if active[f, i]:
                al = alpha[f, i]
                s1 = 0.0
                s2 = 0.0
                qi = q[i]
                for j in range(c):
                    vj = v[f, j]
                    be = beta[f, i, j]
                    hh = H[f, i, j]
                    for r in range(m):
                        s1 += qi[r] * (be[r] + vj[r])
                        s2 += (be[r] + 2.0 * vj[r]) * hh[r]
                g2 += al * al * gsize[i] * c + 2.0 * al * s1 + s2
            norms[f, i] = np.sqrt(max(g2, 0.0))


def _shrink_update(slots, st, tb, mu):
    """The C-step with the shrink factors ``st.scale`` (see :func:`ialm.shrink_factors`) and
    the multiplier update, in coefficients: new ``alpha``, ``beta``, ``active``, the new
    multiplier into buffer ``1 - sel``, and the upper (``ub``) and watched-row lower (``lb``)
    bounds of ``max |D - C|`` (``ub`` is NaN once an iterate is not finite). ``H`` of kept
    groups is finished by :func:`_keep_step` (it needs ``G_i v``)."""
    H, a_buf, active, alpha, b_buf, beta = st.H, st.a_buf, st.active, st.alpha, st.b_buf, st.beta
    lb, scale, sel, ub, v, watch = st.lb, st.scale, st.sel, st.ub, st.v, st.watch
    Qg, rho_row = tb.Qg, tb.rho_row
    K, gmax, m = Qg.shape
    c = v.shape[1]
    nw = watch.shape[1]
    for ll in prange(slots.size):
        f = slots[ll]
        muf = mu[f]
        inv_mu = 1.0 / muf
        old = sel[f]
        new = 1 - old
        fr = np.empty(m)
        wrow = watch[f]
        lbf = 0.0
        ubf = 0.0
        finite = True  # max() drops NaN: non-finite iterates are tracked apart
        for i in range(K):
            s = scale[f, i]
            act = active[f, i]
            al = alpha[f, i] if act else 0.0
            one_s = 1.0 - s
            e = _residual(one_s, al, a_buf[f, old, i], inv_mu)
            a_buf[f, new, i] = _multiplier(muf, one_s, al)
            fmax = 0.0
            for j in range(c):
                vj = v[f, j]
                bo = b_buf[f, old, i, j]
                bn = b_buf[f, new, i, j]
                be = beta[f, i, j]
                fn2 = 0.0
                if act:
                    for r in range(m):
                        gam = be[r] + vj[r]
                        x = _residual(one_s, gam, bo[r], inv_mu)
                        fr[r] = x
                        fn2 += x * x
                        bn[r] = _multiplier(muf, one_s, gam)
                    if s > 0.0:
                        for r in range(m):
                            be[r] = s * (be[r] + vj[r])
                    else:
                        hh = H[f, i, j]
                        for r in range(m):
                            hh[r] = 0.0
                else:
                    for r in range(m):
                        x = _residual(one_s, vj[r], bo[r], inv_mu)
                        fr[r] = x
                        fn2 += x * x
                        bn[r] = _multiplier(muf, one_s, vj[r])
                    if s > 0.0:
                        for r in range(m):
                            be[r] = s * vj[r]
                for w in range(nw):
                    row = wrow[w]
                    if row >= 0 and row // gmax == i:
                        qr = Qg[i, row - i * gmax]
                        acc = e
                        for r in range(m):
                            acc += qr[r] * fr[r]
                        lbf = max(lbf, abs(acc))
                fmax = max(fmax, fn2)
                finite = finite and np.isfinite(fn2)
            ubf = max(ubf, abs(e) + rho_row[i] * np.sqrt(fmax))
            finite = finite and np.isfinite(e) and np.isfinite(s)
            if s > 0.0:
                alpha[f, i] = s * al
                active[f, i] = True
            else:
                alpha[f, i] = 0.0
                active[f, i] = False
        ub[f] = ubf if finite else np.nan
        lb[f] = lbf
        sel[f] = new


def _keep_step(slots, st, tb, GV, col_of, mu):
    """``H_i = s_i (H_i + G_i v)`` for the kept groups (``GV[l, j, col_of[i]]`` holds
    ``G_i v_j``; H of groups that were zero is zero), ``c~_new = Q^T C_new``,
    ``t~ = mu (c~ + v - c~_new)`` and ``c~ = c~_new``."""
    H, active, alpha, ct, scale, tt, v = st.H, st.active, st.alpha, st.ct, st.scale, st.tt, st.v
    q, = tb.q,
    K, m = q.shape
    c = v.shape[1]
    for ll in prange(slots.size):
        f = slots[ll]
        ctn = np.zeros((c, m))
        for i in range(K):
            if not active[f, i]:
                continue
            s = scale[f, i]
            al = alpha[f, i]
            qi = q[i]
            k = col_of[i]
            for j in range(c):
                hh = H[f, i, j]
                gv = GV[ll, j, k]
                cj = ctn[j]
                for r in range(m):
                    hn = s * (hh[r] + gv[r])
                    hh[r] = hn
                    cj[r] += al * qi[r] + hn
        muf = mu[f]
        for j in range(c):
            for r in range(m):
                tt[f, j, r] = muf * (ct[f, j, r] + v[f, j, r] - ctn[j, r])
                ct[f, j, r] = ctn[j, r]


def _exact_check(slots, st, tb, mu, tol):
    """max |D - C| >= tol ? Scans D - C row by row and stops at the first entry >= tol.

    Sets ``st.row_hit[f]`` to that row (a new watched row), or -1 when every entry is below
    tol."""
    a_buf, b_buf, row_hit, sel, watch = st.a_buf, st.b_buf, st.row_hit, st.sel, st.watch
    Qg, gsize = tb.Qg, tb.gsize
    K, gmax, m = Qg.shape
    c = b_buf.shape[3]
    for ii in prange(slots.size):
        f = slots[ii]
        new = sel[f]
        old = 1 - new
        inv_mu = 1.0 / mu[f]
        row_hit[f] = -1
        F = np.empty((c, m))
        found = False
        for i in range(K):
            e = (a_buf[f, new, i] - a_buf[f, old, i]) * inv_mu
            for j in range(c):
                for r in range(m):
                    F[j, r] = (b_buf[f, new, i, j, r] - b_buf[f, old, i, j, r]) * inv_mu
            for rr in range(gsize[i]):
                qr = Qg[i, rr]
                for j in range(c):
                    acc = e
                    for r in range(m):
                        acc += qr[r] * F[j, r]
                    if not _converged(abs(acc), tol):
                        row_hit[f] = i * gmax + rr
                        found = True
                        break
                if found:
                    break
            if found:
                break
        if found:  # watch this row from now on: first free place, else drop the oldest
            w = watch[f]
            k = -1
            for kk in range(w.size):
                if w[kk] < 0:
                    k = kk
                    break
            if k < 0:
                for kk in range(w.size - 1):
                    w[kk] = w[kk + 1]
                k = w.size - 1
            w[k] = row_hit[f]


class _Kernel:
    """A kernel compiled as two distinct functions, ``name`` (parallel) and ``name_serial``:
    numba keeps one cache entry per function (numba issue 6845), so one function compiled
    with two option sets would share it. Calls with few slots run the serial one."""

    def __init__(self, func):
        serial = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_serial",
                                    func.__defaults__, func.__closure__)
        serial.__qualname__ = func.__qualname__ + "_serial"
        self.parallel = njit(parallel=True, cache=True, fastmath=_FAST)(func)
        self.serial = njit(parallel=False, cache=True, fastmath=_FAST)(serial)
        self.__doc__ = func.__doc__

    def __call__(self, slots, *args):
        (self.parallel if slots.size >= _PARALLEL_MIN else self.serial)(slots, *args)


d_step = _Kernel(_d_step)
gram_pack = _Kernel(_gram_pack)
group_norms = _Kernel(_group_norms)
shrink_update = _Kernel(_shrink_update)
keep_step = _Kernel(_keep_step)
exact_check = _Kernel(_exact_check)


class Profile:
    """Seconds and floating-point operations per phase of :meth:`NumbaBackend.step` (filled
    while :func:`profiling` is active; ``benchmarks/grid_speed.py --profile`` prints it).

    The flops of a phase are counted from the work it does (a multiply-add is 2 flops; the
    bound and row scans of the stop test and the sort of the threshold are not counted; the
    C-step's count takes every group at the cost of a dropped one, 7 flops per coefficient)."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.flops: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._t = 0.0

    def start(self) -> None:
        self._t = time.perf_counter()

    def lap(self, phase: str, flops=None) -> None:
        """Charge the time since the last lap to ``phase``; ``flops`` is a function, called
        outside the timed interval."""
        now = time.perf_counter()
        self.seconds[phase] += now - self._t
        self.calls[phase] += 1
        if flops is not None:
            self.flops[phase] += float(flops())
        self._t = time.perf_counter()

    def count(self, phase: str, flops) -> None:
        """Add ``flops()`` to a count that is not a timed phase (e.g. the flops needed)."""
        self.flops[phase] += float(flops())
        self._t = time.perf_counter()


class _NoProfile:
    """What :meth:`NumbaBackend.step` reports to when nobody profiles: nothing."""

    def start(self) -> None:
        pass

    def lap(self, phase: str, flops=None) -> None:
        pass

    def count(self, phase: str, flops) -> None:
        pass


_PROFILE: Profile | None = None
_NO_PROFILE = _NoProfile()


@contextmanager
def profiling():
    """``with profiling() as prof:`` the engine's steps run inside record into ``prof``."""
    global _PROFILE
    _PROFILE = prof = Profile()
    try:
        yield prof
    finally:
        _PROFILE = None


class NumbaBackend:
    """The CPU engine's state and its iteration, for :func:`tgsr_lib.model.driver.solve_many`."""

    def __init__(self, problem: GridProblem, P: int, U, lam, UtBL, xp=None):
        if xp not in (None, np):
            raise ValueError("the numba backend runs on NumPy arrays; use backend='array' "
                             "for CuPy")
        K, m, c = problem.n_groups, problem.m, problem.c
        self.problem = problem
        self.tb = Tables(U=U, lam=lam, UtBL=UtBL, q=problem.q, gsize=problem.gsize,
                         rho_row=problem.rho_row, Qg=problem.Qg)
        self.st = new_state(P, K, c, m)
        self.q_sum = problem.q.sum(axis=0)
        self.Gpack = problem.Gpack
        self.Gt = np.ascontiguousarray(problem.Gall.T).reshape(m, K, m)  # [G_1 ... G_K]
        # work buffers, reused: fresh large arrays every iteration cost page faults
        self.GV_buf = np.empty(P * c * K * m)
        self.Gt_buf = np.empty(m * K * m)
        self.Gsub = self.Gt_buf[:0].reshape(m, 0)
        self.VV = np.empty((P, problem.Gpack.shape[0]))
        self.NV = np.empty((P, K))
        self.col_of = np.full(K, -1, dtype=np.int64)
        self.cols = np.zeros(0, dtype=np.int64)

    def load(self, slots, kappas, xi_ids, entry_ids) -> None:
        prof = _PROFILE or _NO_PROFILE
        prof.start()
        st = self.st
        st.kappa[slots] = kappas
        st.xi_of[slots] = xi_ids
        st.ent_of[slots] = entry_ids
        st.active[slots] = True  # C = C_INIT everywhere: alpha = C_INIT, beta = 0
        st.alpha[slots] = ialm.C_INIT
        st.ct[slots] = ialm.C_INIT * self.q_sum[None, :]  # Q^T C
        for name in ("beta", "H", "a_buf", "b_buf", "tt", "sel"):
            getattr(st, name)[slots] = 0
        st.watch[slots] = -1
        prof.lap("bookkeeping: load, finish")

    def step(self, slots, mu, tol: float):
        st, tb = self.st, self.tb
        L = slots.size
        K, m, c = self.problem.n_groups, self.problem.m, self.problem.c
        npack = self.Gpack.shape[0]
        prof = _PROFILE or _NO_PROFILE
        prof.start()
        d_step(slots, st, tb, mu)
        prof.lap("D-step", lambda: L * (4 * c * m * m + 6 * c * m))
        gram_pack(slots, st, self.VV)
        prof.lap("packed norms: pack v v^T", lambda: 2 * L * c * npack)
        np.matmul(self.VV[:L], self.Gpack, out=self.NV[:L])  # v^T G_i v of every group
        prof.lap("packed norms: GEMM", lambda: 2 * L * npack * K)
        group_norms(slots, st, tb, self.NV)
        prof.lap("group norms: terms of groups non-zero in C",
                 lambda: 7 * c * m * st.active[slots].sum() + 4 * L * K)
        norms = st.norms[slots]
        st.scale[slots] = ialm.shrink_factors(norms, ialm.group_threshold(norms,
                                                                          st.kappa[slots]))
        prof.lap("threshold")
        shrink_update(slots, st, tb, mu)
        prof.lap("C-step + multiplier + bounds", lambda: 7 * c * m * L * K)
        # G_i v only for the groups some fit keeps: one product over their union
        kept_now = np.flatnonzero(st.active[slots].any(axis=0))
        if not np.array_equal(kept_now, self.cols):
            self.cols = cols = kept_now
            self.col_of[:] = -1
            self.col_of[cols] = np.arange(cols.size)
            self.Gsub = self.Gt_buf[: m * cols.size * m].reshape(m, cols.size * m)
            np.take(self.Gt, cols, axis=1, out=self.Gsub.reshape(m, cols.size, m))
        n = self.cols.size * m
        GV = self.GV_buf[: L * c * n].reshape(L * c, n)
        if n:
            np.matmul(st.v[slots].reshape(L * c, m), self.Gsub, out=GV)
        prof.lap("kept-group products: GEMM", lambda: 2 * L * c * m * n)
        prof.count("kept-group products: needed", lambda: 2 * c * m * m * st.active[slots].sum())
        keep_step(slots, st, tb, GV.reshape(L, c, self.cols.size, m), self.col_of, mu)
        prof.lap("kept-group products: H, Q^T C", lambda: 5 * c * m * st.active[slots].sum())
        ub, lb = st.ub[slots], st.lb[slots]
        conv = ialm.converged(ub, tol)
        check = slots[~conv & ialm.converged(lb, tol)]
        if check.size:
            exact_check(check, st, tb, mu, tol)
            conv |= np.isin(slots, check[st.row_hit[check] < 0])
        finite = np.isfinite(norms).all(axis=1) & np.isfinite(ub)
        prof.lap("stop test")
        return conv, finite

    def finish(self, slots):
        prof = _PROFILE or _NO_PROFILE
        prof.start()
        st, problem = self.st, self.problem
        scores = np.stack([problem.predict_scores(st.alpha[f], st.beta[f], st.active[f])
                           for f in slots])
        prof.lap("bookkeeping: load, finish")
        return scores, st.active[slots].copy()


def solve_many(problem: GridProblem, kappas, xis, **options):
    """:func:`tgsr_lib.model.driver.solve_many` with this engine (``backend="numba"``)."""
    from tgsr_lib.model.driver import solve_many as drive

    return drive(problem, kappas, xis, backend="numba", **options)
