"""Many TGSR fits at once: the continuous-batching driver every grid engine runs on.

A fixed number of *slots* advance together, one IALM iteration (Algorithm 1,
:mod:`tgsr_lib.model.ialm`) per round; a fit that stops leaves its slot to the next queued
fit, so the matrix products stay large until the queue runs dry. The driver owns what is
common to every engine: the queue, the iteration counts, ``mu`` and its update, the stop
decision (stop rule met, iterates non-finite, or iteration limit), predictions, kept groups,
scores and the ``on_result`` callback. An engine (a *backend*) owns the state of the fits in
its slots and implements three things:

``load(slots, kappas, xi_ids, entry_ids)``
    start the given fits in these slots (``C = 1``, ``T = 0``);
``step(slots, mu, tol) -> (converged, finite)``
    one iteration of every fit in ``slots`` (D-step, C-step, multiplier update, stop rule);
``finish(slots) -> (scores, active)``
    the scores ``C^T x`` (n, c, N_eval) on the evaluation set and the kept groups (n, K).

Backends: :class:`tgsr_lib.model.engine.NumbaBackend` (CPU, numba kernels) and
:class:`tgsr_lib.model.array_engine.ArrayBackend` (CuPy on a GPU, or NumPy).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

from tgsr_lib.checks import check_points, check_positive_int
from tgsr_lib.model import ialm
from tgsr_lib.model.problem import GridProblem


def solve_many(problem: GridProblem, kappas, xis, *, backend: str = "numba", xp=None,
               labels=None, n_slots: int | None = None, max_iter: int = ialm.MAX_ITER,
               mu0: float = ialm.MU0, rho: float = ialm.RHO, mu_max: float = ialm.MU_MAX,
               tol: float = ialm.TOL, on_result: Callable | None = None,
               return_groups: bool = False, return_scores: bool = False):
    """Run TGSR for every (kappas[p], xis[p]); return predictions and iteration counts.

    Parameters
    ----------
    problem : the shared :class:`~tgsr_lib.model.problem.GridProblem`.
    kappas, xis : equal-length sequences of grid points (validated here).
    backend : ``"numba"`` (CPU) or ``"array"`` (whole-array operations with ``xp``: CuPy by
        default, or NumPy).
    labels : optional ``(P, N_s)`` source labels per fit (default: the problem's ``ys``).
    n_slots : fits advanced together (default for numba:
        :meth:`~tgsr_lib.model.engine.NumbaBackend.default_slots`; 2048 for array). It
        changes the speed, never a result.
    on_result : optional callback ``on_result(positions, pred, n_iter, converged)`` called
        with the fits that finished in an iteration (progress bars, checkpoints).
    return_groups : also return the (P, K) boolean matrix of the groups each fit kept.
    return_scores : also return the scores ``C^T x`` (P, c, N_eval) behind the predictions.

    Returns
    -------
    pred : (P, N_eval) predicted class labels; n_iter : (P,) iterations; converged : (P,)
    bool (False at the iteration limit or when the iterates became non-finite); then
    ``groups`` when ``return_groups`` and ``scores`` when ``return_scores``.
    """
    if not isinstance(problem, GridProblem):
        raise ValueError(f"problem must be a GridProblem, not {type(problem).__name__}")
    kappas, xis = check_points(kappas, xis, problem.n_groups)
    opts = ialm.solver_options(mu0, rho, mu_max, tol, max_iter)
    if backend == "numba":
        from tgsr_lib.model.engine import NumbaBackend as Backend

        default_slots = Backend.default_slots(problem)
    elif backend == "array":
        from tgsr_lib.model.array_engine import ArrayBackend as Backend

        default_slots = 2048
    else:
        raise ValueError(f"unknown backend {backend!r}: use 'numba' or 'array'")
    n_slots = default_slots if n_slots is None else check_positive_int(n_slots, "n_slots")
    xi_ids, entry_ids, U, lam, UtBL = problem.xi_tables(xis, labels)
    # Identical points (same kappa, xi and labels; the paper's 276 xi values hold 271
    # distinct ones) are solved once and their results copied. The fits are queued by xi
    # (then labels, then kappa): the fits in flight then share few xi values, so the
    # D-step turns the fits of one xi with its eigenvectors in two products.
    n_points = kappas.size
    _, first, inverse = np.unique(np.stack([kappas, entry_ids], axis=1), axis=0,
                                  return_index=True, return_inverse=True)
    reps = first[np.lexsort((kappas[first], entry_ids[first], xi_ids[first]))]
    position = np.empty(n_points, dtype=np.int64)
    position[reps] = np.arange(reps.size)
    rep_of = position[first[inverse.ravel()]]  # point -> its fit in the queue
    reordered = reps.size < n_points or np.any(reps != np.arange(n_points))
    if reordered:
        kappas, xi_ids, entry_ids = kappas[reps], xi_ids[reps], entry_ids[reps]
        if on_result is not None:
            on_result = _for_copies(on_result, rep_of)
    n_fits = kappas.size
    P = max(1, min(n_slots, n_fits))
    engine = Backend(problem, P, U, lam, UtBL, xp=xp)

    K, nt = problem.n_groups, problem.n_eval
    pred = np.zeros((n_fits, nt), dtype=problem.classes.dtype)
    n_iter = np.zeros(n_fits, dtype=np.int64)
    converged = np.zeros(n_fits, dtype=np.bool_)
    kept = np.zeros((n_fits, K), dtype=np.bool_) if return_groups else None
    all_scores = np.zeros((n_fits, problem.c, nt)) if return_scores else None
    fit_of = np.full(P, -1, dtype=np.int64)  # the fit in each slot, -1 = free
    it = np.zeros(P, dtype=np.int64)
    mu = np.zeros(P)
    queued = 0  # fits 0..queued-1 have been started

    def load(slots: np.ndarray) -> None:
        nonlocal queued
        fits = np.arange(queued, min(queued + slots.size, n_fits))
        queued += fits.size
        slots = slots[: fits.size]
        if fits.size:
            fit_of[slots] = fits
            it[slots] = 0
            mu[slots] = opts["mu0"]
            engine.load(slots, kappas[fits], xi_ids[fits], entry_ids[fits])

    # a backend may set up the loop (the numba one: BLAS single-threaded inside its threads)
    with getattr(engine, "running", nullcontext)():
        load(np.arange(P))
        while True:
            slots = np.flatnonzero(fit_of >= 0)
            if slots.size == 0:
                break
            conv, finite = engine.step(slots, mu, opts["tol"])
            it[slots] += 1
            conv = conv & finite
            stop = conv | ~finite | (it[slots] >= opts["max_iter"])
            going = slots[~stop]
            mu[going] = ialm.next_mu(mu[going], opts["rho"], opts["mu_max"])
            if not stop.any():
                continue
            done = slots[stop]
            fits = fit_of[done]
            scores, active = engine.finish(done)
            pred[fits] = problem.classes[np.argmax(scores, axis=1)]
            n_iter[fits] = it[done]
            converged[fits] = conv[stop]
            if return_groups:
                kept[fits] = active
            if return_scores:
                all_scores[fits] = scores
            fit_of[done] = -1
            load(done)
            if on_result is not None:
                on_result(fits, pred[fits], n_iter[fits], converged[fits])
    out = (pred, n_iter, converged)
    if return_groups:
        out += (kept,)
    if return_scores:
        out += (all_scores,)
    if reordered:
        out = tuple(a[rep_of] for a in out)
    return out


def _for_copies(on_result: Callable, rep_of: np.ndarray) -> Callable:
    """``on_result`` for solved points, called with every point that is a copy of them."""
    points = np.argsort(rep_of, kind="stable")
    start = np.searchsorted(rep_of[points], np.arange(rep_of.max() + 2))

    def report(fits, pred, n_iter, converged):
        rows = np.repeat(np.arange(fits.size), start[fits + 1] - start[fits])
        pos = np.concatenate([points[start[f]:start[f + 1]] for f in fits])
        on_result(pos, pred[rows], n_iter[rows], converged[rows])

    return report
