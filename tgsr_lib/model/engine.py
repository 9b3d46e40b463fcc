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
2. **BLAS products, exactly where needed.** ``G_i v`` (for ``H`` and ``Q^T C``) is needed
   only for the groups a fit keeps after thresholding (39% of the groups on average, measured
   on Exp.11 at every 8th kappa): group by group, the ``v`` of the fits that keep it are
   stacked and multiplied by ``G_i`` in one product. Fused numba loops do the rest without
   temporaries.
3. **Multipliers without coefficients of their own.** A C-step that keeps group i leaves
   ``T_i = mu (1 - s_i) W_i = rt_i C_i`` with ``rt_i = mu (1 - s_i) / s_i``: one number per
   group, so the C-step of a kept group reads and writes only ``beta_i`` (the state's traffic
   through memory bounds these phases). A group zero in C before and after a step has the
   multiplier ``mu Q_i v``, the same coefficients for all such groups: stored once per fit
   and only flagged per group, so those groups cost a few numbers per iteration. Only a
   group the C-step drops gets coefficients of its own (``b_i``), until its next step.
4. **Exact stop rule with bounds.** ``max |D - C|`` is bounded above by
   ``|e_i| + max_row ||Q_i row|| ||f_i||`` (per group) and below by its value at a few watched
   rows; only when the bounds straddle the tolerance is ``D - C`` scanned, groups by falling
   bound and rows by falling norm, and only until the bounds prove the answer.
5. **One parallel region per iteration.** The fits in flight are cut into one chunk per thread
   (balanced by their groups non-zero in C) and each thread runs every phase of its chunk,
   BLAS products included (numba's ``np.dot``, SciPy's BLAS held to one thread while the driver
   runs). Threads that sleep between many small parallel loops, or BLAS threads beside numba's,
   cost more than the work on a 2-core machine: each wake-up took about 0.4 ms on the 2-core
   VM, and with BLAS on one thread the numba phases of the per-phase design ran twice as
   fast (Exp.5 at every 8th kappa: 18.9 s before this design and the per-group products of
   item 2, 10.9 s after).
6. **The D-step in BLAS products.** The driver queues the fits by xi, so the fits in flight
   share few xi values; the D-step stacks the right-hand sides of the fits of one xi and
   turns them with that xi's eigenvectors ``U`` in two products (one thread, Exp.11 at every
   8th kappa: 6.6 s in numba loops, 2.5 s this way; the full grid: 13.1 s this way, 33.5 s
   with the same products and the fits queued kappa outer).

The state of the fits in flight is one :class:`FitState` (arrays indexed by slot), the
problem's constants one :class:`Tables` and the work space one :class:`Work`; each kernel takes
``slots`` and those structures, and takes the arrays it uses out of them before any parallel
loop (numba's parallel loops lose writes made through a tuple's fields).
Inside ``with profiling() as prof:`` every phase charges its CPU cycles and counted flops
(:class:`Profile`; ``benchmarks/grid_speed.py --profile`` prints them).
The parallel kernels are compiled twice, as distinct functions (``name`` parallel,
``name_serial``), because numba keeps one cache entry per function whatever its options.
"""

from __future__ import annotations

import os
import platform
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

import numba  # noqa: E402
import numpy as np  # noqa: E402
from llvmlite import ir as llvmir  # noqa: E402
from numba import njit, prange  # noqa: E402
from numba import types as numba_types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

from tgsr_lib.model import ialm
from tgsr_lib.model.problem import GridProblem

N_WATCH = 8
_FAST = {"reassoc", "contract"}  # lets numba vectorise the sums; rounding-level changes only
_PARALLEL_MIN = 16  # fewer live slots run the serial variant (threads cost more than work)
# A fit's work in one iteration, in units of one group non-zero in C, besides those groups
# (D-step and packed norms; measured on Exp.5 with benchmarks/grid_speed.py --profile).
_FIXED_COST = 20
# The default fits in flight (NumbaBackend.default_slots): this many per thread when the Gram
# matrices take at most _GRAM_CACHE bytes, else _LARGE_SLOTS_PER_THREAD per thread with the
# fits' states within _STATE_BYTES.
_SLOTS_PER_THREAD = 64
_GRAM_CACHE = 4 * 2**20
_LARGE_SLOTS_PER_THREAD = 256
_STATE_BYTES = 640e6
_SCORE_BLOCK = 16  # slots scored together (_scores)

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
    G: np.ndarray  # (K, m, m) the Gram matrices G_i = Q_i^T Q_i
    row_order: np.ndarray  # (K, gmax) the rows of each group by norm, largest first
    row_norm: np.ndarray  # (K, gmax) their norms, in that order


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
    # b_i of groups whose multiplier is their own: one buffer serves the old and the new
    # multiplier, because a group's own multiplier is written only when the C-step drops
    # the group (it was non-zero in C) and read only in the step after (it is zero in C)
    b_buf: np.ndarray  # (P, K, c, m)
    ratio: np.ndarray  # (P, 2, K) T_i = rt_i C_i (groups non-zero in C): b_i = rt_i beta_i
    rt: np.ndarray  # (P, 2, K) that ratio
    shared: np.ndarray  # (P, 2, K) b of the group is S of the buffer (and a = 0)
    S: np.ndarray  # (P, 2, c, m) the multiplier coefficients shared by zero groups
    sel: np.ndarray  # (P,) which buffer holds the current T
    ct: np.ndarray  # (P, c, m) Q^T C
    tt: np.ndarray  # (P, c, m) Q^T T
    v: np.ndarray  # (P, c, m) the D-step in the basis
    norms: np.ndarray  # (P, K) group norms of W
    scale: np.ndarray  # (P, K) shrink factors s_i
    watch: np.ndarray  # (P, N_WATCH) rows of D - C watched for the lower bound
    ub: np.ndarray  # (P,) upper bound of max |D - C|
    gub: np.ndarray  # (P, K) upper bound of max |D_i - C_i| per group
    lb: np.ndarray  # (P,) lower bound
    row_hit: np.ndarray  # (P,) first row with |D - C| >= tol, -1 if none
    fresh: np.ndarray  # (P,) loaded, beta and H not yet zeroed (done in the first iteration)


def new_state(P: int, K: int, c: int, m: int) -> FitState:
    z = np.zeros
    return FitState(
        kappa=z(P, np.int64), xi_of=z(P, np.int64), ent_of=z(P, np.int64),
        active=z((P, K), np.bool_), alpha=z((P, K)), beta=z((P, K, c, m)),
        H=z((P, K, c, m)), a_buf=z((P, 2, K)), b_buf=z((P, K, c, m)),
        ratio=z((P, 2, K), np.bool_), rt=z((P, 2, K)), shared=z((P, 2, K), np.bool_),
        S=z((P, 2, c, m)), sel=z(P, np.int64),
        ct=z((P, c, m)), tt=z((P, c, m)), v=z((P, c, m)), norms=z((P, K)), scale=z((P, K)),
        watch=np.full((P, N_WATCH), -1, np.int64), ub=z(P), gub=z((P, K)), lb=z(P),
        row_hit=np.full(P, -1, np.int64), fresh=z(P, np.bool_))



class Work(NamedTuple):
    """Work space of one iteration, reused (fresh large arrays every iteration cost page
    faults). Rows ``lo:hi`` of the per-slot arrays belong to chunk t of :func:`_step_round`."""

    VV: np.ndarray  # (P, m (m + 1) / 2) packed v v^T
    NV: np.ndarray  # (P K,) v^T G_i v; the rows lo:hi of a chunk as a (K, hi - lo) block
    Vg: np.ndarray  # (T, P c, m) the v of the slots keeping a group, per chunk (D-step: y)
    GVg: np.ndarray  # (T, P c, m) their products with G_i (D-step: U^T y)
    ctn: np.ndarray  # (P, c, m) Q^T C_new
    conv: np.ndarray  # (P,) stop rule met
    finite: np.ndarray  # (P,) iterates finite
    ticks: np.ndarray  # (T, len(PHASES)) cycle counts per chunk and phase


def new_work(P: int, K: int, c: int, m: int, T: int) -> Work:
    return Work(VV=np.empty((P, m * (m + 1) // 2)), NV=np.empty(P * K),
                Vg=np.empty((T, P * c, m)), GVg=np.empty((T, P * c, m)),
                ctn=np.empty((P, c, m)), conv=np.zeros(P, np.bool_),
                finite=np.zeros(P, np.bool_), ticks=np.zeros((T, len(PHASES)), np.int64))

def _kernel(func):
    """A serial numba kernel (cached; the fast-math flags let numba vectorise the sums)."""
    return njit(cache=True, fastmath=_FAST)(func)


if platform.machine().lower() in ("x86_64", "amd64"):
    @intrinsic
    def _ticks(typingctx):
        """The CPU's time-stamp counter (``llvm.readcyclecounter``), for the profile."""
        def codegen(context, builder, signature, args):
            fnty = llvmir.FunctionType(llvmir.IntType(64), [])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
            return builder.call(fn, [])

        return numba_types.int64(), codegen
else:  # no portable cycle counter: the profile's phase split is then unavailable
    @njit
    def _ticks():
        return 0


@_kernel
def read_ticks():
    """The counter the kernels charge their phases with (0 where there is none)."""
    return _ticks()


@_kernel
def zero_fresh(slots, st):
    """``beta = 0`` and ``H = 0`` for the slots loaded since the last iteration (C = C_INIT
    1). Done here, inside the iteration's parallel region, rather than in
    :meth:`NumbaBackend.load`, which runs on one thread between iterations: NumPy's indexed
    assignment there took 0.25-0.96 s of a 28 s run (Exp.11 at every 8th kappa, two threads;
    more on pages not touched before), this 0.10 s."""
    beta, fresh, H = st.beta, st.fresh, st.H
    for ll in range(slots.size):
        f = slots[ll]
        if fresh[f]:
            beta[f] = 0.0
            H[f] = 0.0
            fresh[f] = False


@_kernel
def d_step(slots, st, tb, mu, Y, Z):
    """The D-step in the basis: ``v = 2 (mu I + 2M)^-1 (B L - M (c~ - t~/mu))`` for each
    slot, ``M = U diag(lam) U^T`` of the slot's xi, ``U^T B L`` of its entry.

    The slots are taken in runs of one xi: the right-hand sides of a run are stacked into
    ``Y`` (rows ``(slot, class)``) and turned with its ``U`` in two BLAS products,
    ``U^T y`` and ``U w`` (``Z``: work space of the same shape)."""
    ct, ent_of, tt, v, xi_of = st.ct, st.ent_of, st.tt, st.v, st.xi_of
    U, UtBL, lam = tb.U, tb.UtBL, tb.lam
    m = U.shape[1]
    c = ct.shape[1]
    n = slots.size
    by_xi = np.argsort(xi_of[slots], kind="mergesort")
    a = 0
    while a < n:
        x = xi_of[slots[by_xi[a]]]
        b = a + 1
        while b < n and xi_of[slots[by_xi[b]]] == x:
            b += 1
        rows = (b - a) * c
        for ii in range(a, b):
            f = slots[by_xi[ii]]
            inv_mu = 1.0 / mu[f]
            for j in range(c):
                y = Y[(ii - a) * c + j]
                for r in range(m):
                    y[r] = ct[f, j, r] - tt[f, j, r] * inv_mu
        Ux = U[x]
        np.dot(Y[:rows], Ux, Z[:rows])  # row (slot, j): U^T y_j
        lx = lam[x]
        for ii in range(a, b):
            f = slots[by_xi[ii]]
            bx = UtBL[ent_of[f]]
            muf = mu[f]
            for j in range(c):
                uj = Z[(ii - a) * c + j]
                for k in range(m):
                    uj[k] = 2.0 * (bx[j, k] - lx[k] * uj[k]) / (muf + 2.0 * lx[k])
        np.dot(Z[:rows], Ux.T, Y[:rows])  # U w_j
        for ii in range(a, b):
            f = slots[by_xi[ii]]
            for j in range(c):
                y = Y[(ii - a) * c + j]
                vj = v[f, j]
                for r in range(m):
                    vj[r] = y[r]
        a = b


@_kernel
def gram_pack(slots, st, VV):
    """VV[l] = the upper triangle of ``sum_j v_j v_j^T`` of slot ``slots[l]``, packed row by
    row; ``Gpack^T VV^T`` then gives ``sum_j v_j^T G_i v_j`` for every group i."""
    v = st.v
    c, m = v.shape[1], v.shape[2]
    for ll in range(slots.size):
        f = slots[ll]
        row = VV[ll]
        p = 0
        # the loops run over slices (seg, x0, ...): with offset indexing (row[p + r], v0[k +
        # r]) numba's loops were 1.8x slower (bit-identical results)
        if c == 3:  # the paper's three classes: one fused pass per row
            v0, v1, v2 = v[f, 0], v[f, 1], v[f, 2]
            for k in range(m):
                a0, a1, a2 = v0[k], v1[k], v2[k]
                n = m - k
                seg = row[p:p + n]
                x0, x1, x2 = v0[k:], v1[k:], v2[k:]
                for r in range(n):
                    seg[r] = a0 * x0[r] + a1 * x1[r] + a2 * x2[r]
                p += n
            continue
        for k in range(m):
            n = m - k
            seg = row[p:p + n]
            for r in range(n):
                seg[r] = 0.0
            for j in range(c):
                xj = v[f, j, k:]
                vk = xj[0]
                for r in range(n):
                    seg[r] += vk * xj[r]
            p += n


@_kernel
def _norms_of(f, ll, st, tb, NV):
    """``||W_i||`` of every group of slot ``f`` into ``st.norms[f]``, from ``NV[i, ll] =
    v^T G_i v`` and, for the groups non-zero in C, the coefficient terms."""
    H, active, alpha, beta, norms, v = st.H, st.active, st.alpha, st.beta, st.norms, st.v
    gsize, q = tb.gsize, tb.q
    K, m = q.shape
    c = v.shape[1]
    for i in range(K):
        g2 = NV[i, ll]
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


@_kernel
def group_norms(slots, st, tb, NV):
    """``||W_i||`` of every group of every slot into ``st.norms`` (:func:`_norms_of`;
    ``NV`` is (K, len(slots)))."""
    for ll in range(slots.size):
        _norms_of(slots[ll], ll, st, tb, NV)


@_kernel
def _threshold_of(f, st):
    """The shrink factors ``st.scale[f]`` of :func:`ialm.shrink_factors` with the threshold of
    :func:`ialm.group_threshold` (the ``(kappa + 1)``-th largest norm, 0 when kappa >= K)."""
    kappa, norms, scale = st.kappa, st.norms, st.scale
    K = norms.shape[1]
    nf = norms[f]
    lam = 0.0
    if kappa[f] < K:
        lam = np.sort(nf)[min(max(K - kappa[f] - 1, 0), K - 1)]
    for i in range(K):
        scale[f, i] = (nf[i] - lam) / nf[i] if nf[i] > lam else 0.0


@_kernel
def threshold(slots, st):
    """:func:`_threshold_of` for every slot."""
    for ll in range(slots.size):
        _threshold_of(slots[ll], st)


@_kernel
def _shrink_of(f, st, tb, muf, fr, wgrp, xs):
    """:func:`shrink_update` of slot ``f`` (``fr``, ``wgrp``, ``xs``: work space of sizes
    ``m``, ``N_WATCH`` and ``(c, m)``)."""
    H, a_buf, active, alpha, b_buf, beta = st.H, st.a_buf, st.active, st.alpha, st.b_buf, st.beta
    gub, lb, scale, sel, ub, v, watch = st.gub, st.lb, st.scale, st.sel, st.ub, st.v, st.watch
    S, shared, ratio, rt = st.S, st.shared, st.ratio, st.rt
    Qg, rho_row = tb.Qg, tb.rho_row
    K, gmax, m = Qg.shape
    c = v.shape[1]
    nw = watch.shape[1]
    inv_mu = 1.0 / muf
    old = sel[f]
    new = 1 - old
    wrow = watch[f]
    for w in range(nw):
        wgrp[w] = wrow[w] // gmax if wrow[w] >= 0 else -1
    # the residual of a zero group whose old multiplier is the shared one, and the new
    # shared multiplier
    fsh = 0.0
    finite_sh = True
    for j in range(c):
        vj = v[f, j]
        so = S[f, old, j]
        sn = S[f, new, j]
        xj = xs[j]
        fn2 = 0.0
        for r in range(m):
            x = _residual(1.0, vj[r], so[r], inv_mu)
            xj[r] = x
            fn2 += x * x
        for r in range(m):
            sn[r] = _multiplier(muf, 1.0, vj[r])
        fsh = max(fsh, fn2)
        finite_sh = finite_sh and np.isfinite(fn2)
    lbf = 0.0
    ubf = 0.0
    finite = True  # max() drops NaN: non-finite iterates are tracked apart
    for i in range(K):
        s = scale[f, i]
        act = active[f, i]
        kept = s > 0.0
        zero = not act and not kept  # zero in C before and after
        al = alpha[f, i] if act else 0.0
        one_s = 1.0 - s
        e = _residual(one_s, al, a_buf[f, old, i], inv_mu)
        a_buf[f, new, i] = _multiplier(muf, one_s, al)
        nwatched = 0
        for w in range(nw):
            if wgrp[w] == i:
                nwatched += 1
        sh_old = shared[f, old, i]
        if zero and sh_old:
            fmax = fsh
            finite = finite and finite_sh
            for w in range(nw if nwatched else 0):
                if wgrp[w] == i:
                    qr = Qg[i, wrow[w] - i * gmax]
                    for j in range(c):
                        xj = xs[j]
                        acc = e
                        for r in range(m):
                            acc += qr[r] * xj[r]
                        lbf = max(lbf, abs(acc))
        else:
            fmax = 0.0
            rto = rt[f, old, i]  # a group non-zero in C has the old multiplier rto C_i
            for j in range(c):
                vj = v[f, j]
                be = beta[f, i, j]
                fn2 = 0.0
                if act and kept:  # the new multiplier is again a multiple of C_i
                    for r in range(m):
                        gam = be[r] + vj[r]
                        x = _residual(one_s, gam, rto * be[r], inv_mu)
                        fr[r] = x
                        fn2 += x * x
                        be[r] = s * gam
                elif act:  # C_i becomes zero: the multiplier mu W_i is the group's own
                    bn = b_buf[f, i, j]
                    for r in range(m):
                        gam = be[r] + vj[r]
                        x = _residual(one_s, gam, rto * be[r], inv_mu)
                        fr[r] = x
                        fn2 += x * x
                        bn[r] = _multiplier(muf, one_s, gam)
                    hh = H[f, i, j]
                    for r in range(m):
                        hh[r] = 0.0
                elif kept:
                    bo = S[f, old, j] if sh_old else b_buf[f, i, j]
                    for r in range(m):
                        x = _residual(one_s, vj[r], bo[r], inv_mu)
                        fr[r] = x
                        fn2 += x * x
                        be[r] = s * vj[r]
                else:  # zero, old multiplier its own: the new one is the shared one
                    bo = b_buf[f, i, j]
                    for r in range(m):
                        x = _residual(one_s, vj[r], bo[r], inv_mu)
                        fr[r] = x
                        fn2 += x * x
                for w in range(nw if nwatched else 0):
                    if wgrp[w] == i:
                        qr = Qg[i, wrow[w] - i * gmax]
                        acc = e
                        for r in range(m):
                            acc += qr[r] * fr[r]
                        lbf = max(lbf, abs(acc))
                fmax = max(fmax, fn2)
                finite = finite and np.isfinite(fn2)
        shared[f, new, i] = zero
        ratio[f, new, i] = kept
        # T_new = mu (1 - s) W_i = rt C_new with C_new = s W_i
        rt[f, new, i] = _multiplier(muf, one_s, 1.0) / s if kept else 0.0
        gb = abs(e) + rho_row[i] * np.sqrt(fmax)
        gub[f, i] = gb
        ubf = max(ubf, gb)
        finite = finite and np.isfinite(e) and np.isfinite(s)
        if kept:
            alpha[f, i] = s * al
            active[f, i] = True
        else:
            alpha[f, i] = 0.0
            active[f, i] = False
    ub[f] = ubf if finite else np.nan
    lb[f] = lbf
    sel[f] = new


@_kernel
def _shrink_work(st, tb):
    """The work space of :func:`_shrink_of`."""
    m = tb.Qg.shape[2]
    return np.empty(m), np.empty(st.watch.shape[1], np.int64), np.empty((st.v.shape[1], m))


@_kernel
def shrink_update(slots, st, tb, mu):
    """The C-step with the shrink factors ``st.scale`` (see :func:`ialm.shrink_factors`) and
    the multiplier update, in coefficients: new ``alpha``, ``beta``, ``active``, the new
    multiplier into buffer ``1 - sel``, and the upper (``ub``, per group ``gub``) and
    watched-row lower (``lb``) bounds of ``max |D - C|`` (``ub`` is NaN once an iterate is not
    finite). ``H`` of kept groups is finished by :func:`keep_products` (it needs ``G_i v``).

    A kept group's new multiplier is ``rt_i C_i`` (``st.ratio``, ``st.rt``; ``a_i`` is kept
    as a number all the same), and a group non-zero in C before the step had one of that form.
    A group that is zero in C before and after the step gets the multiplier
    ``T_i = mu Q_i v`` (``a_i = 0``, ``b_i = mu v``), the same for every such group: it is
    written once per slot (``st.S``) and the group only flagged (``st.shared``). A group whose
    old multiplier was that shared one and which stays zero has the shared residual too, so
    its step costs a few numbers, not ``c m``. Only a dropped group (non-zero in C before,
    zero after) writes ``b_i = mu (beta_i + v)`` into ``st.b_buf``."""
    fr, wgrp, xs = _shrink_work(st, tb)
    for ll in range(slots.size):
        f = slots[ll]
        _shrink_of(f, st, tb, mu[f], fr, wgrp, xs)


@_kernel
def norms_shrink(slots, st, tb, mu, NV, ticks):
    """:func:`group_norms`, :func:`threshold` and :func:`shrink_update`, one slot at a time:
    a slot's coefficients, read from memory for its norms, are still in the cache for its
    C-step. ``NV`` is (K, len(slots)); the phases' cycles go to ``ticks[0:3]``."""
    fr, wgrp, xs = _shrink_work(st, tb)
    for ll in range(slots.size):
        f = slots[ll]
        t0 = _ticks()
        _norms_of(f, ll, st, tb, NV)
        t1 = _ticks()
        _threshold_of(f, st)
        t2 = _ticks()
        _shrink_of(f, st, tb, mu[f], fr, wgrp, xs)
        ticks[0] += t1 - t0
        ticks[1] += t2 - t1
        ticks[2] += _ticks() - t2


@_kernel
def keep_products(slots, st, tb, mu, Vg, GVg, ctn, ticks):
    """``H_i = s_i (H_i + G_i v)`` for the kept groups (H of groups that were zero is zero),
    ``c~_new = Q^T C_new``, ``t~ = mu (c~ + v - c~_new)`` and ``c~ = c~_new``.

    Group by group, the ``v`` of the slots that keep the group are stacked into ``Vg`` and
    multiplied by ``G_i`` in one BLAS product into ``GVg``: exactly the products needed, each
    large enough for BLAS. ``ctn`` (len(slots), c, m) is work space; the product's ticks go to
    ``ticks[0]``, the rest to ``ticks[1]``."""
    H, active, alpha, ct, scale, tt, v = st.H, st.active, st.alpha, st.ct, st.scale, st.tt, st.v
    G, q = tb.G, tb.q
    K, m = q.shape
    c = v.shape[1]
    n = slots.size
    t0 = _ticks()
    ctn[:n] = 0.0
    who = np.empty(n, np.int64)
    t_gemm = 0
    for i in range(K):
        nk = 0
        for ll in range(n):
            if active[slots[ll], i]:
                who[nk] = ll
                nk += 1
        if nk == 0:
            continue
        for a in range(nk):
            f = slots[who[a]]
            for j in range(c):
                Vg[a * c + j] = v[f, j]
        tg = _ticks()
        np.dot(Vg[: nk * c], G[i], GVg[: nk * c])
        t_gemm += _ticks() - tg
        qi = q[i]
        for a in range(nk):
            ll = who[a]
            f = slots[ll]
            s = scale[f, i]
            al = alpha[f, i]
            for j in range(c):
                hh = H[f, i, j]
                gv = GVg[a * c + j]
                cj = ctn[ll, j]
                for r in range(m):
                    hn = s * (hh[r] + gv[r])
                    hh[r] = hn
                    cj[r] += al * qi[r] + hn
    for ll in range(n):
        f = slots[ll]
        muf = mu[f]
        for j in range(c):
            for r in range(m):
                tt[f, j, r] = muf * (ct[f, j, r] + v[f, j, r] - ctn[ll, j, r])
                ct[f, j, r] = ctn[ll, j, r]
    ticks[0] += t_gemm
    ticks[1] += _ticks() - t0 - t_gemm


@_kernel
def _exact_one(f, st, tb, inv_mu, tol):
    """max |D - C| >= tol for slot f? Scans D - C row by row and stops at the first entry
    >= tol (see :func:`exact_check`); returns that row, or -1 when every entry is below tol."""
    a_buf, b_buf, beta, gub, sel = st.a_buf, st.b_buf, st.beta, st.gub, st.sel
    S, shared, ratio, rt, scale, v = st.S, st.shared, st.ratio, st.rt, st.scale, st.v
    Qg, gsize, row_norm, row_order = tb.Qg, tb.gsize, tb.row_norm, tb.row_order
    K, gmax, m = Qg.shape
    c = b_buf.shape[2]
    new = sel[f]
    old = 1 - new
    F = np.empty((c, m))
    bo = np.empty(m)
    order = np.argsort(-gub[f])
    for k in range(K):
        i = order[k]
        if _converged(gub[f, i], tol):
            break  # this group and the rest are below tol
        e = (a_buf[f, new, i] - a_buf[f, old, i]) * inv_mu
        fmax = 0.0
        sh_new, sh_old = shared[f, new, i], shared[f, old, i]
        ra_new, ra_old = ratio[f, new, i], ratio[f, old, i]
        s = scale[f, i]
        for j in range(c):
            # D - C = (T_new - T_old) / mu; a multiplier rt C_i is taken from beta, which
            # holds the new C_i = s W_i = s (beta_old + v) when the group is kept
            be, vj = beta[f, i, j], v[f, j]
            if ra_old:
                for r in range(m):
                    bo[r] = rt[f, old, i] * (be[r] / s - vj[r] if ra_new else be[r])
            else:
                bo[:] = S[f, old, j] if sh_old else b_buf[f, i, j]
            fn2 = 0.0
            for r in range(m):
                if ra_new:
                    bn = rt[f, new, i] * be[r]
                else:
                    bn = S[f, new, j, r] if sh_new else b_buf[f, i, j, r]
                x = (bn - bo[r]) * inv_mu
                F[j, r] = x
                fn2 += x * x
            fmax = max(fmax, fn2)
        fmax = np.sqrt(fmax)
        for k2 in range(gsize[i]):
            if _converged(abs(e) + row_norm[i, k2] * fmax, tol):
                break  # this row and the smaller ones are below tol
            rr = row_order[i, k2]
            qr = Qg[i, rr]
            for j in range(c):
                acc = e
                for r in range(m):
                    acc += qr[r] * F[j, r]
                if not _converged(abs(acc), tol):
                    return i * gmax + rr
    return -1


@_kernel
def exact_check(slots, st, tb, mu, tol):
    """max |D - C| >= tol ? Scans D - C row by row and stops at the first entry >= tol.

    Groups are scanned from the largest bound ``st.gub`` down and the rows of a group from the
    largest norm down; a row whose bound ``|e_i| + ||Q_i row|| max_j ||f_ij||`` is below tol
    ends the group's scan, and a group whose bound is below tol ends the whole scan. Sets
    ``st.row_hit[f]`` to the row found (then watched), or -1 when every entry is below tol."""
    row_hit, watch = st.row_hit, st.watch
    for ii in range(slots.size):
        f = slots[ii]
        hit = _exact_one(f, st, tb, 1.0 / mu[f], tol)
        row_hit[f] = hit
        if hit >= 0:  # watch this row from now on: first free place, else drop the oldest
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
            w[k] = hit


@_kernel
def stop_test(slots, st, tb, mu, tol, conv, finite):
    """The stop rule of each slot into ``conv`` and whether its iterates are finite into
    ``finite``: converged when the upper bound is below tol; when only the lower bound is,
    :func:`exact_check` decides."""
    lb, norms, row_hit, ub = st.lb, st.norms, st.row_hit, st.ub
    K = norms.shape[1]
    one = np.empty(1, np.int64)
    for ll in range(slots.size):
        f = slots[ll]
        ok = np.isfinite(ub[f])
        for i in range(K):
            ok = ok and np.isfinite(norms[f, i])
        finite[ll] = ok
        conv[ll] = _converged(ub[f], tol)
        if not conv[ll] and _converged(lb[f], tol):
            one[0] = f
            exact_check(one, st, tb, mu, tol)
            conv[ll] = row_hit[f] < 0


# The phases of one iteration, in the order of ``Work.ticks``'s columns.
PHASES = ("D-step", "packed norms: pack v v^T", "packed norms: GEMM",
          "group norms: terms of groups non-zero in C", "threshold",
          "C-step + multiplier + bounds", "kept-group products: GEMM",
          "kept-group products: H, Q^T C", "stop test", "loaded fits: zero beta, H")


@_kernel
def step_chunk(slots, st, tb, GpackT, mu, tol, VV, NV, Vg, GVg, ctn, conv, finite, ticks):
    """One iteration of the fits in ``slots``, every phase in turn, on one thread; the work
    arrays are this chunk's rows, ``ticks`` its row of :attr:`Work.ticks`."""
    n = slots.size
    if n == 0:
        return
    t = _ticks()
    zero_fresh(slots, st)
    t1 = _ticks()
    ticks[9] += t1 - t
    d_step(slots, st, tb, mu, Vg, GVg)
    t = _ticks()
    ticks[0] += t - t1
    t1 = t
    gram_pack(slots, st, VV)
    t = _ticks()
    ticks[1] += t - t1
    # v^T G_i v of every group, as the (K, n) product Gpack^T VV^T: in this orientation
    # OpenBLAS ran the product 1.2-1.3x faster than VV Gpack (n = 128-384 fits, one thread)
    nv = NV[: GpackT.shape[0] * n].reshape(GpackT.shape[0], n)
    np.dot(GpackT, VV[:n].T, nv)
    ticks[2] += _ticks() - t
    norms_shrink(slots, st, tb, mu, nv, ticks[3:6])
    keep_products(slots, st, tb, mu, Vg, GVg, ctn, ticks[6:8])
    t = _ticks()
    stop_test(slots, st, tb, mu, tol, conv, finite)
    ticks[8] += _ticks() - t


def _step_round(slots, st, tb, GpackT, mu, tol, wk, bounds):
    """One iteration of every fit in ``slots``: the slots are cut into chunks
    ``bounds[t]:bounds[t + 1]``, each run start to end by one thread (:func:`step_chunk`),
    BLAS products included, so that one parallel region covers the whole iteration."""
    VV, NV, Vg, GVg, ctn, conv, finite, ticks = (wk.VV, wk.NV, wk.Vg, wk.GVg, wk.ctn,
                                                 wk.conv, wk.finite, wk.ticks)
    K = GpackT.shape[0]
    for t in prange(bounds.size - 1):
        lo = bounds[t]
        hi = bounds[t + 1]
        step_chunk(slots[lo:hi], st, tb, GpackT, mu, tol, VV[lo:hi], NV[K * lo:K * hi], Vg[t],
                   GVg[t], ctn[lo:hi], conv[lo:hi], finite[lo:hi], ticks[t])


def _scores(slots, st, PtT, rowsum_t, out):
    """``out[l] = C^T x`` (c, N_eval) of slot ``slots[l]`` on the evaluation set: for each
    group non-zero in C, ``beta_i^T (Q_i^T x_i) + alpha_i 1^T x_i`` (see
    :meth:`GridProblem.predict_scores`; ``PtT[i]`` is ``(Q_i^T x_i)^T``, N_eval x m).

    ``PtT`` (K N_eval m doubles: 6.3 MB for Exp.11) is larger than the cache, so the slots are
    scored in blocks of :data:`_SCORE_BLOCK`, group by group, each ``PtT[i]`` read once per
    block; a score is a sum of dot products of length m. Exp.11 at every 8th kappa, 2,981
    slots scored in 628 calls: 0.74 s so, 0.63 s with a second copy of the loop for c = 3
    that reads ``PtT[i, t]`` once for the three classes (0.4% of that 26 s run: not kept);
    earlier the same day, when the VM ran faster, 0.94 s adding rows of ``Q_i^T x_i`` scaled
    by ``beta`` slot by slot."""
    active, alpha, beta = st.active, st.alpha, st.beta
    K, n, m = PtT.shape
    c = beta.shape[2]
    n_blocks = (slots.size + _SCORE_BLOCK - 1) // _SCORE_BLOCK
    for blk in prange(n_blocks):
        lo = blk * _SCORE_BLOCK
        hi = min(lo + _SCORE_BLOCK, slots.size)
        for ll in range(lo, hi):
            out[ll] = 0.0
        for i in range(K):
            rs = rowsum_t[i]
            Pi = PtT[i]
            for ll in range(lo, hi):
                f = slots[ll]
                if not active[f, i]:
                    continue
                o = out[ll]
                al = alpha[f, i]
                be = beta[f, i]
                for t in range(n):
                    p = Pi[t]
                    for j in range(c):
                        bj = be[j]
                        sj = 0.0
                        for r in range(m):
                            sj += bj[r] * p[r]
                        o[j, t] += sj + al * rs[t]


class _Kernel:
    """A kernel compiled as two distinct functions, ``name`` (parallel) and ``name_serial``:
    numba keeps one cache entry per function (numba issue 6845), so one function compiled
    with two option sets would share it. Calls with few slots, or with numba held to one
    thread (``numba.set_num_threads(1)``, as in the grid workers of ``python -m
    tgsr_lib.reproduce``), run the serial one."""

    def __init__(self, func):
        serial = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_serial",
                                    func.__defaults__, func.__closure__)
        serial.__qualname__ = func.__qualname__ + "_serial"
        self.parallel = njit(parallel=True, cache=True, fastmath=_FAST)(func)
        self.serial = njit(parallel=False, cache=True, fastmath=_FAST)(serial)
        self.__doc__ = func.__doc__

    def __call__(self, slots, *args):
        parallel = slots.size >= _PARALLEL_MIN and numba.get_num_threads() > 1
        (self.parallel if parallel else self.serial)(slots, *args)


step_round = _Kernel(_step_round)
scores = _Kernel(_scores)


class Profile:
    """Seconds and floating-point operations per phase of :meth:`NumbaBackend.step` (filled
    while :func:`profiling` is active; ``benchmarks/grid_speed.py --profile`` prints it).

    Inside the iteration's parallel region each chunk charges its phases with the CPU's cycle
    counter; a phase's seconds are its cycles summed over the chunks, divided by the chunks run
    side by side (so the phases add up to the region's time on each thread) and converted with
    the counter's rate measured over the profiled block. What the region's wall time has beyond
    that (starting the threads, waiting for the slower chunk) is its own phase. The flops of a
    phase are counted from the work it does (a multiply-add is 2 flops; the sorts of the
    threshold and the bound and row scans of the stop test are not counted; a group zero before
    and after the C-step whose multiplier is the shared one counts nothing)."""

    REGION = "parallel region: start, wait for the slower chunk"

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.flops: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.ticks: dict[str, float] = defaultdict(float)
        self.region_wall = 0.0
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

    def region(self, ticks, n_chunks: int, flops: dict) -> None:
        """One iteration's parallel region: wall time since :meth:`start`, the cycles of each
        phase summed over the chunks (``ticks``, in :data:`PHASES` order) and its flops."""
        self.region_wall += time.perf_counter() - self._t
        for phase, tk in zip(PHASES, ticks, strict=True):
            self.ticks[phase] += tk / n_chunks
            self.calls[phase] += 1
            self.flops[phase] += float(flops.get(phase, 0.0))

    def count(self, phase: str, flops) -> None:
        """Add ``flops()`` to a count that is not a timed phase (e.g. the flops needed)."""
        self.flops[phase] += float(flops())

    def close(self, ticks_per_second: float) -> None:
        """Turn the phases' cycles into seconds (the rate 0: no cycle counter, no split)."""
        in_phases = 0.0
        for phase, tk in self.ticks.items():
            sec = tk / ticks_per_second if ticks_per_second > 0 else 0.0
            self.seconds[phase] += sec
            in_phases += sec
        if self.region_wall:
            self.seconds[self.REGION] += self.region_wall - in_phases
        self.ticks.clear()
        self.region_wall = 0.0


class _NoProfile:
    """What :meth:`NumbaBackend.step` reports to when nobody profiles: nothing."""

    def start(self) -> None:
        pass

    def lap(self, phase: str, flops=None) -> None:
        pass


_PROFILE: Profile | None = None
_NO_PROFILE = _NoProfile()


@contextmanager
def profiling():
    """``with profiling() as prof:`` the engine's steps run inside record into ``prof``."""
    global _PROFILE
    _PROFILE = prof = Profile()
    t0, k0 = time.perf_counter(), read_ticks()
    try:
        yield prof
    finally:
        _PROFILE = None
        seconds, ticks = time.perf_counter() - t0, read_ticks() - k0
        prof.close(ticks / seconds if seconds > 0 else 0.0)


class NumbaBackend:
    """The CPU engine's state and its iteration, for :func:`tgsr_lib.model.driver.solve_many`."""

    def __init__(self, problem: GridProblem, P: int, U, lam, UtBL, xp=None):
        if xp not in (None, np):
            raise ValueError("the numba backend runs on NumPy arrays; use backend='array' "
                             "for CuPy")
        K, m, c = problem.n_groups, problem.m, problem.c
        self.problem = problem
        norm = np.sqrt((problem.Qg**2).sum(axis=2))  # (K, gmax); padding rows sort last
        order = np.argsort(-norm, axis=1, kind="stable")
        self.tb = Tables(U=U, lam=lam, UtBL=UtBL, q=problem.q, gsize=problem.gsize,
                         rho_row=problem.rho_row, Qg=problem.Qg,
                         G=np.ascontiguousarray(problem.Gall.reshape(K, m, m)),
                         row_order=order, row_norm=np.take_along_axis(norm, order, axis=1))
        self.st = new_state(P, K, c, m)
        self.wk = new_work(P, K, c, m, max(1, numba.config.NUMBA_NUM_THREADS))
        self.q_sum = problem.q.sum(axis=0)
        self.GpackT = np.ascontiguousarray(problem.Gpack.T)  # (K, m (m + 1) / 2)
        self.PtT = np.ascontiguousarray(problem.Pt.transpose(0, 2, 1))  # (K, N_eval, m)
        self.rowsum_t = np.ascontiguousarray(problem.rowsum_t)

    @staticmethod
    def default_slots(problem: GridProblem) -> int:
        """The fits in flight by default.

        The fits' coefficients (``beta`` and ``H`` of the groups non-zero in C) are read and
        written every iteration, and the per-group products read every ``G_i``: when the Gram
        matrices are small (``K m^2`` doubles within :data:`_GRAM_CACHE`), few fits per thread
        (:data:`_SLOTS_PER_THREAD`) keep both in the cache from one iteration to the next;
        larger Gram matrices need many fits per product to pay for reading ``G_i``, so the
        default is then :data:`_LARGE_SLOTS_PER_THREAD` per thread (fewer when the states
        would exceed :data:`_STATE_BYTES`). Measured on the 2-core machine, Exp.N at every 8th
        kappa (3,036 fits), two one-thread processes side by side as in the reproduce run:
        Exp.5 (m = 72, Gram matrices 3.5 MB) 18.4-19.2 s with 384 slots, 15.0-15.6 s with 64,
        15.6-15.7 s with 48, 16.1 s with 96; one two-thread process alone: 9.6-9.8 s with 384,
        8.6-8.8 s with 128 (64 per thread), 9.9 s with 64. Exp.11 (m = 131, 11.7 MB, a slot's
        state 1.07 MB then, 0.80 MB since the own multipliers share one buffer) 51.1-52.9 s
        with 384, 51.7-53.4 s with 256, 52.7-54.1 s with 192, 53.3-54.0 s with 128; one
        two-thread process alone: 29.1-30.4 s with 384 (192 per thread), 28.2-29.0 s with 512,
        28.3 s with 640, 28.9-29.3 s with 768.
        """
        K, m, c = problem.n_groups, problem.m, problem.c
        threads = max(1, numba.get_num_threads())
        if 8 * K * m * m <= _GRAM_CACHE:
            return _SLOTS_PER_THREAD * threads
        per_slot = 3 * 8 * K * c * m  # beta, H and the groups' own multipliers
        return int(min(_LARGE_SLOTS_PER_THREAD * threads, max(32, _STATE_BYTES // per_slot)))

    @contextmanager
    def running(self):
        """The driver's loop runs inside: BLAS single-threaded, because the kernels call it
        from each of numba's threads (numba's ``np.dot`` calls SciPy's BLAS, imported first so
        that the limit reaches it)."""
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            yield

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
        st.fresh[slots] = True  # beta = H = 0: zeroed in the next iteration (zero_fresh)
        for name in ("a_buf", "S", "tt", "sel"):
            getattr(st, name)[slots] = 0
        # T = 0 = 0 C: every group's multiplier is the multiple 0 of its C
        st.ratio[slots] = True
        st.rt[slots] = 0
        st.shared[slots] = False
        st.watch[slots] = -1
        prof.lap("bookkeeping: load, finish")

    def _chunks(self, slots) -> np.ndarray:
        """Chunk bounds for :func:`_step_round`: one chunk per thread (one chunk for few
        slots), cut so that each holds about the same work (a fit's work grows with its
        groups non-zero in C: about ``_FIXED_COST`` groups' worth plus one per such group)."""
        L = slots.size
        n = 1 if L < _PARALLEL_MIN else max(1, min(numba.get_num_threads(),
                                                   self.wk.ticks.shape[0], L))
        if n == 1:
            return np.array([0, L])
        work = np.cumsum(self.st.active[slots].sum(axis=1) + _FIXED_COST)
        cut = np.searchsorted(work, work[-1] * np.arange(1, n) / n)
        return np.concatenate(([0], np.maximum.accumulate(cut), [L]))

    def step(self, slots, mu, tol: float):
        st, wk = self.st, self.wk
        L = slots.size
        bounds = self._chunks(slots)
        prof = _PROFILE
        if prof is None:
            step_round(slots, st, self.tb, self.GpackT, mu, tol, wk, bounds)
            return wk.conv[:L].copy(), wk.finite[:L].copy()
        n_before = st.active[slots].sum()
        ticks = wk.ticks.copy()
        prof.start()
        step_round(slots, st, self.tb, self.GpackT, mu, tol, wk, bounds)
        prof.region((wk.ticks - ticks).sum(axis=0), bounds.size - 1,
                    self._flops(slots, n_before))
        prof.count("kept-group products: needed",
                   lambda: 2 * self.problem.c * self.problem.m**2 * st.active[slots].sum())
        return wk.conv[:L].copy(), wk.finite[:L].copy()

    def _flops(self, slots, n_before) -> dict:
        """The flops of each phase of the iteration just done (see :class:`Profile`)."""
        st, L = self.st, slots.size
        K, m, c = self.problem.n_groups, self.problem.m, self.problem.c
        npack = self.GpackT.shape[1]
        n_after = st.active[slots].sum()
        new = st.sel[slots]
        idle = (st.shared[slots, new] & st.shared[slots, 1 - new]).sum()
        return {"D-step": L * (4 * c * m * m + 6 * c * m),
                "packed norms: pack v v^T": 2 * L * c * npack,
                "packed norms: GEMM": 2 * L * npack * K,
                "group norms: terms of groups non-zero in C": 7 * c * m * n_before + 4 * L * K,
                "C-step + multiplier + bounds": 7 * c * m * (L * K - idle),
                "kept-group products: GEMM": 2 * c * m * m * n_after,
                "kept-group products: H, Q^T C": 5 * c * m * n_after}

    def finish(self, slots):
        prof = _PROFILE or _NO_PROFILE
        prof.start()
        st, problem = self.st, self.problem
        out = np.empty((slots.size, problem.c, problem.n_eval))
        scores(slots, st, self.PtT, self.rowsum_t, out)
        prof.lap("bookkeeping: load, finish")
        return out, st.active[slots].copy()


def solve_many(problem: GridProblem, kappas, xis, **options):
    """:func:`tgsr_lib.model.driver.solve_many` with this engine (``backend="numba"``)."""
    from tgsr_lib.model.driver import solve_many as drive

    return drive(problem, kappas, xis, backend="numba", **options)
