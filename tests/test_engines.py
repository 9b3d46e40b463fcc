"""The grid engines (CPU numba, whole-array NumPy/CuPy) and their kernels against the slow
naive Algorithm 1 of ``tests/naive.py`` on small synthetic problems (no authors' files), then
against the reference solver and the authors' records on the real features."""

import numpy as np
import pandas as pd
import pytest

from tgsr_lib.data import datasets
from tgsr_lib.experiments import axes
from tgsr_lib.experiments.axes import paper_xis
from tgsr_lib.experiments.runner import compute_grid
from tgsr_lib.model import TGSR, GridProblem, engine, ialm, solve_many

from . import naive
from .conftest import requires_data

BACKENDS = [dict(backend="numba"), dict(backend="array", xp=np, n_slots=5)]


def _naive_all(Xs, ys, Xt, group_ids, kk, xx, **options):
    return [naive.ialm(Xs, ys, Xt, int(k), float(x), group_ids, **options)
            for k, x in zip(kk, xx, strict=True)]


CASES = {
    # name: (make_problem arguments, kappas, xis)
    "random layout": (dict(seed=1), [1, 2, 3, 5, 6], [0.0, 0.5, 3.0]),
    "xi 0 and 1e6": (dict(seed=2, n_groups=5), [1, 3, 5], [0.0, 1e6]),
    "duplicated samples": (dict(seed=3, duplicate_samples=6), [1, 2, 4, 6], [0.01, 10.0]),
    "unbalanced, one big group": (dict(seed=4, sizes=[9, 1, 2, 1, 3], n_source=(9, 2, 3)),
                                  [1, 2, 5], [0.1, 100.0]),
    # two all-zero groups of one size have exactly equal norms in every solver (their rows
    # of the basis are exact zeros when they come after the first N_s + 1 rows), so a tie at
    # the threshold keeps fewer than kappa groups everywhere
    "tied zero groups": (dict(seed=5, sizes=[8, 8, 8, 1, 1], zero_groups=2),
                         [1, 2, 3, 4, 5], [0.2, 5.0]),
    "two classes, one absent from target": (dict(seed=6, n_source=(6, 5), shift=1.0),
                                            [1, 3, 6], [0.05, 2.0]),
}


@pytest.mark.parametrize("options", BACKENDS, ids=["numba", "array"])
@pytest.mark.parametrize("case", list(CASES))
def test_engine_equals_naive_algorithm(case, options):
    """Predictions, scores, kept groups and iteration counts of every fit equal the naive
    dense Algorithm 1 on a random, non-contiguous, unequal group layout."""
    args, kappas, xis = CASES[case]
    Xs, ys, Xt, gid = naive.make_problem(**args)
    kk, xx = axes.grid_points(kappas, xis)
    problem = GridProblem(Xs, ys, Xt, gid)
    pred, n_iter, conv, kept, scores = solve_many(problem, kk, xx, return_groups=True,
                                                  return_scores=True, **options)
    for p, ref in enumerate(_naive_all(Xs, ys, Xt, gid, kk, xx)):
        ref_scores, ref_pred = naive.predict(ref["C"], ref["classes"], Xt)
        assert n_iter[p] == ref["n_iter"] and conv[p] == ref["converged"], (kk[p], xx[p])
        assert np.array_equal(kept[p], ref["kept"]), (kk[p], xx[p])
        assert np.array_equal(pred[p], ref_pred), (kk[p], xx[p])
        np.testing.assert_allclose(scores[p].T, ref_scores, rtol=1e-7,
                                   atol=1e-9 * np.abs(ref_scores).max())
    assert (kept.sum(axis=1) <= kk).all()
    if case == "tied zero groups":  # kappa = 4: the two zero groups tie at the threshold
        assert (kept.sum(axis=1) < kk).any()


def test_estimator_equals_naive_algorithm():
    """The reference solver (TGSR, one fit) on custom groups: coefficients to 1e-8."""
    Xs, ys, Xt, gid = naive.make_problem(seed=7, n_groups=7)
    for kappa, xi in [(1, 0.3), (4, 0.0), (7, 20.0)]:
        model = TGSR(kappa, xi, gid).fit(Xs, ys, Xt)
        ref = naive.ialm(Xs, ys, Xt, kappa, xi, gid)
        assert model.n_iter_ == ref["n_iter"] and model.converged_
        np.testing.assert_allclose(model.coef_, ref["C"], rtol=0, atol=1e-8)
        assert np.array_equal(model.selected_groups_, np.unique(gid)[ref["kept"]])
        assert np.array_equal(model.predict(Xt), naive.predict(ref["C"], ref["classes"], Xt)[1])


def test_kappa_K_is_one_ridge_step():
    """kappa = K: lambda = 0, nothing is shrunk, D = C after one iteration."""
    Xs, ys, Xt, gid = naive.make_problem(seed=8)
    K = np.unique(gid).size
    problem = GridProblem(Xs, ys, Xt, gid)
    for options in BACKENDS:
        _, n_iter, conv, kept = solve_many(problem, [K, K], [0.0, 2.0], return_groups=True,
                                           **options)
        assert n_iter.tolist() == [1, 1] and conv.all() and kept.all()


def test_coefficients_in_the_basis_equal_the_estimator():
    Xs, ys, Xt, gid = naive.make_problem(seed=9, n_groups=5)
    problem = GridProblem(Xs, ys, Xt, gid)
    P = 1
    U = problem.xi_tables([0.7])
    backend = engine.NumbaBackend(problem, P, *U[2:])
    backend.load(np.array([0]), np.array([2]), U[0], U[1])
    mu = np.array([ialm.MU0])
    for _ in range(400):
        conv, _ = backend.step(np.array([0]), mu, ialm.TOL)
        if conv[0]:
            break
        mu[:] = ialm.next_mu(mu, ialm.RHO, ialm.MU_MAX)
    st = backend.st
    C = problem.coef(st.alpha[0], st.beta[0], st.active[0])
    model = TGSR(2, 0.7, gid).fit(Xs, ys, Xt)
    np.testing.assert_allclose(C, model.coef_, rtol=0, atol=1e-8)


# --------------------------------------------------------------------------- kernels


def _coefficients(Qi, Ci):
    """``(alpha, beta)`` with ``Ci = alpha 1 + Qi beta^T`` (one alpha for all columns), solved
    over the stacked columns; exact for the engine's iterates."""
    n, m = Qi.shape
    c = Ci.shape[1]
    A = np.hstack([np.ones((n * c, 1)), np.kron(np.eye(c), Qi)])  # column-major stacking
    sol = np.linalg.lstsq(A, Ci.T.ravel(), rcond=None)[0]
    return sol[0], sol[1:].reshape(c, m)


def _state_from_dense(problem, backend, slot, C, T, kappa):
    """Write a dense iterate (C, T of the form alpha 1 + Q beta) into a slot's coefficients."""
    st, Qg = backend.st, problem.Qg
    Cg = problem._padded(C[problem.cols])
    Tg = problem._padded(T[problem.cols])
    sel = st.sel[slot]
    for i in range(problem.n_groups):
        n = problem.gsize[i]
        st.alpha[slot, i], st.beta[slot, i] = _coefficients(Qg[i, :n], Cg[i, :n])
        st.a_buf[slot, sel, i], st.b_buf[slot, i] = _coefficients(Qg[i, :n], Tg[i, :n])
        st.shared[slot, sel, i] = False  # not the shared multiplier
        st.H[slot, i] = st.beta[slot, i] @ (Qg[i].T @ Qg[i])
        st.active[slot, i] = np.any(Cg[i] != 0)
        # a group non-zero in C holds its multiplier as a multiple of C (the engine's form;
        # the naive iterate has T_i = mu (1 - s_i) W_i, C_i = s_i W_i)
        st.ratio[slot, sel, i] = st.active[slot, i]
        if st.active[slot, i]:
            rt = (Tg[i] * Cg[i]).sum() / (Cg[i] * Cg[i]).sum()
            np.testing.assert_allclose(Tg[i], rt * Cg[i], atol=1e-12 * np.abs(Tg[i]).max())
            st.rt[slot, sel, i] = rt
    st.ct[slot] = np.einsum("kim,kic->cm", Qg, Cg)  # Q^T C
    st.tt[slot] = np.einsum("kim,kic->cm", Qg, Tg)
    st.kappa[slot] = kappa


def _naive_case(max_iter):
    """The naive iteration's trace on one small problem (kappa 3, xi 0.4) and the CPU engine
    loaded with the same fit in slot 0: ``(trace, X, L, group_ids, problem, backend)``."""
    Xs, ys, Xt, gid = naive.make_problem(seed=10, n_groups=6)
    kappa, xi = 3, 0.4
    trace = []
    naive.ialm(Xs, ys, Xt, kappa, xi, gid, trace=trace, max_iter=max_iter)
    X, L, _ = naive.augmented(Xs, ys, Xt, xi)
    problem = GridProblem(Xs, ys, Xt, gid)
    xi_ids, ent_ids, U, lam, UtBL = problem.xi_tables([xi])
    backend = engine.NumbaBackend(problem, 1, U, lam, UtBL)
    backend.load(np.array([0]), np.array([kappa]), xi_ids, ent_ids)
    return trace, X, L, gid, problem, backend


def test_kernels_follow_the_naive_iteration():
    """Each kernel of the CPU engine, fed the naive solver's iterate at iteration 5, gives that
    iteration's D-step, group norms, shrink factors, new C, new multiplier and stop test."""
    trace, X, L, gid, problem, backend = _naive_case(max_iter=6)
    kappa = 3
    C, T, mu = trace[4]
    C_next, T_next, _ = trace[5]
    D = naive.d_step(X, L, C, T, mu)
    W = D + T / mu
    st, tb = backend.st, backend.tb
    slots = np.array([0])
    _state_from_dense(problem, backend, 0, C, T, kappa)
    mus = np.array([mu])
    Q = problem._unpadded(problem.Qg)  # rows in group order

    wk = backend.wk
    engine.d_step(slots, st, tb, mus, wk.Vg[0], wk.GVg[0])  # W = C + Q v
    np.testing.assert_allclose(Q @ st.v[0].T, (W - C)[problem.cols], atol=1e-9)

    engine.gram_pack(slots, st, wk.VV)
    NV = (wk.VV[:1] @ problem.Gpack).T  # (K, 1)
    engine.group_norms(slots, st, tb, NV)
    np.testing.assert_allclose(st.norms[0], naive.group_norms(W, gid), rtol=1e-10)

    lam_ = naive.threshold(naive.group_norms(W, gid), kappa)
    assert ialm.group_threshold(st.norms[:1], st.kappa[:1])[0] == pytest.approx(lam_, 1e-10)
    engine.threshold(slots, st)  # the rule of ialm, in the kernel
    np.testing.assert_array_equal(st.scale[:1], ialm.shrink_factors(
        st.norms[:1], ialm.group_threshold(st.norms[:1], st.kappa[:1])))
    engine.shrink_update(slots, st, tb, mus)
    engine.keep_products(slots, st, tb, mus, wk.Vg[0], wk.GVg[0], wk.ctn, wk.ticks[0, 6:8])
    np.testing.assert_allclose(problem.coef(st.alpha[0], st.beta[0], st.active[0]), C_next,
                               atol=1e-9)
    new = st.sel[0]
    b_new = np.where(st.shared[0, new][:, None, None], st.S[0, new][None], st.b_buf[0])
    b_new = np.where(st.ratio[0, new][:, None, None],
                     st.rt[0, new][:, None, None] * st.beta[0], b_new)
    Tn = problem.coef(st.a_buf[0, new], b_new, np.ones(problem.n_groups, bool))
    np.testing.assert_allclose(Tn, T_next, atol=1e-9 * np.abs(T_next).max())
    err = np.abs(D - C_next).max()
    assert st.lb[0] <= err * (1 + 1e-9) and err <= st.ub[0] * (1 + 1e-9)
    st.row_hit[0] = 99
    engine.exact_check(slots, st, tb, mus, err * 0.999)  # some entry reaches this tolerance
    assert st.row_hit[0] >= 0
    engine.exact_check(slots, st, tb, mus, err * 1.001)  # none reaches this one
    assert st.row_hit[0] == -1
    conv, finite = np.zeros(1, bool), np.zeros(1, bool)  # the whole stop test
    engine.stop_test(slots, st, tb, mus, err * 1.001, conv, finite)
    assert conv[0] and finite[0]
    engine.stop_test(slots, st, tb, mus, err * 0.999, conv, finite)
    assert not conv[0] and finite[0]


def test_exact_stop_check_in_every_multiplier_form():
    """The exact scan of D - C (the stop test's last word) against the naive iteration's
    max |D - C| at each of 59 iterations, through every change of a group's multiplier form:
    kept again (a multiple of C), dropped (its own coefficients), zero (the shared ones)."""
    trace, X, L, _, problem, backend = _naive_case(max_iter=60)
    st, tb, wk = backend.st, backend.tb, backend.wk
    slots = np.array([0])

    def form(buf):  # per group: 0 own coefficients, 1 shared, 2 a multiple of C
        return np.where(st.ratio[0, buf], 2, st.shared[0, buf].astype(int))

    seen = set()
    for k in range(len(trace) - 1):
        C, T, mu = trace[k]
        err = np.abs(naive.d_step(X, L, C, T, mu) - trace[k + 1][0]).max()
        mus = np.array([mu])
        before = form(st.sel[0])
        engine.d_step(slots, st, tb, mus, wk.Vg[0], wk.GVg[0])
        engine.gram_pack(slots, st, wk.VV)
        engine.norms_shrink(slots, st, tb, mus, (wk.VV[:1] @ problem.Gpack).T.copy(),
                            wk.ticks[0, 3:6])
        engine.keep_products(slots, st, tb, mus, wk.Vg[0], wk.GVg[0], wk.ctn, wk.ticks[0, 6:8])
        seen |= set(zip(before.tolist(), form(st.sel[0]).tolist(), strict=True))
        engine.exact_check(slots, st, tb, mus, err * 0.999)
        assert st.row_hit[0] >= 0, k  # some entry reaches this tolerance
        engine.exact_check(slots, st, tb, mus, err * 1.001)
        assert st.row_hit[0] == -1, k  # none reaches this one
    # own -> shared / multiple, shared -> shared / multiple, multiple -> own / multiple
    assert seen == {(0, 1), (0, 2), (1, 1), (1, 2), (2, 0), (2, 2)}


def test_parallel_and_serial_kernels_are_distinct_and_agree(monkeypatch):
    """Each kernel exists as two compiled functions with their own numba cache entries; the
    whole engine gives the same fits with either."""
    for kernel in (engine.step_round, engine.scores):
        assert kernel.parallel.py_func is not kernel.serial.py_func
        serial_name = kernel.parallel.py_func.__qualname__ + "_serial"
        assert kernel.serial.py_func.__qualname__ == serial_name
        assert kernel.parallel.targetoptions.get("parallel") is True
        assert not kernel.serial.targetoptions.get("parallel")
    Xs, ys, Xt, gid = naive.make_problem(seed=11, n_groups=8)
    problem = GridProblem(Xs, ys, Xt, gid)
    kk, xx = axes.grid_points(range(1, 9), [0.0, 0.3, 30.0])  # 24 fits: parallel kernels
    par = solve_many(problem, kk, xx, return_scores=True, return_groups=True)
    monkeypatch.setattr(engine, "_PARALLEL_MIN", 10**9)
    ser = solve_many(problem, kk, xx, return_scores=True, return_groups=True)
    for a, b in zip(par[:4], ser[:4], strict=True):
        assert np.array_equal(a, b)
    np.testing.assert_allclose(par[4], ser[4], rtol=1e-12, atol=1e-12)


def test_one_numba_thread_runs_the_serial_kernels(monkeypatch):
    """Held to one thread (the reproduce grid workers), the engine skips the parallel region,
    and the fits are those of the parallel kernels."""
    import numba

    Xs, ys, Xt, gid = naive.make_problem(seed=12, n_groups=8)
    problem = GridProblem(Xs, ys, Xt, gid)
    kk, xx = axes.grid_points(range(1, 9), [0.0, 0.3, 30.0])  # 24 fits: parallel kernels
    par = solve_many(problem, kk, xx, return_groups=True)
    calls = []
    real = engine.step_round.parallel
    monkeypatch.setattr(engine.step_round, "parallel",
                        lambda *a: calls.append(1) or real(*a))
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = solve_many(problem, kk, xx, return_groups=True)
    finally:
        numba.set_num_threads(before)
    assert calls == []
    for a, b in zip(par, one, strict=True):
        assert np.array_equal(a, b)
    if before > 1:
        solve_many(problem, kk, xx)
        assert calls


def _reference(source, target, kappas, xis, grouping="authors"):
    return compute_grid(source, target, kappas, xis, grouping=grouping, engine="reference",
                        progress=False)


@requires_data
@pytest.mark.parametrize("source, target, grouping", [
    ("SMIC_VIS", "SMIC_NIR", "authors"),
    ("CASME2", "SMIC_VIS", "blocks"),
])
def test_engine_equals_reference_solver(source, target, grouping):
    """A strided sub-grid (5 kappas x 6 xi over the whole range) of two experiments."""
    kappas = [1, 4, 13, 40, 85]
    xis = paper_xis()[::50]
    fast = compute_grid(source, target, kappas, xis, grouping=grouping, progress=False)
    ref = _reference(source, target, kappas, xis, grouping)
    pd.testing.assert_frame_equal(fast[["kappa", "xi", "accuracy", "macro_f1"]],
                                  ref[["kappa", "xi", "accuracy", "macro_f1"]], atol=1e-12)
    assert np.array_equal(fast.n_iter, ref.n_iter)


@requires_data
@pytest.mark.parametrize("source, target", [("SMIC_VIS", "SMIC_NIR"), ("SMIC_NIR", "SMIC_VIS")])
def test_engine_equals_records_on_strided_grid(source, target):
    kappas = np.arange(1, 86, 6)
    xis = paper_xis()[::5]
    fast = compute_grid(source, target, kappas, xis, progress=False)
    rec = datasets.load_record(source, target)
    rec = rec.iloc[((kappas[:, None] - 1) * 276 + np.arange(0, 276, 5)[None, :]).ravel()]
    assert np.array_equal(fast.xi.values, rec.xi.values)
    np.testing.assert_allclose(fast.accuracy.values, rec.accuracy.values, atol=1e-6)
    np.testing.assert_allclose(fast.macro_f1.values, rec.macro_f1.values, atol=1e-6)


@requires_data
def test_array_engine_equals_cpu_engine():
    """The whole-array engine (CuPy on a GPU) run with NumPy gives the CPU engine's results."""
    src, tgt = datasets.load_features("CASME2"), datasets.load_features("SMIC_NIR")
    problem = GridProblem(src.X, src.y, tgt.X, "blocks")
    kk, xx = axes.grid_points([1, 9, 40, 85], paper_xis()[::55])
    a = solve_many(problem, kk, xx, return_groups=True, return_scores=True)
    b = solve_many(problem, kk, xx, backend="array", xp=np, n_slots=8, return_groups=True,
                   return_scores=True)
    for x, y in zip(a[:4], b[:4], strict=True):
        assert np.array_equal(x, y)
    np.testing.assert_allclose(a[4], b[4], rtol=1e-9, atol=1e-9)


@requires_data
def test_evaluation_set_and_per_fit_labels():
    """``X_eval`` only changes what is predicted; per-fit ``labels`` equal to the source
    labels change nothing, and other labellings equal a problem built with them."""
    src, tgt = datasets.load_features("SMIC_NIR"), datasets.load_features("SMIC_VIS")
    kk, xx = axes.grid_points([2, 30], paper_xis()[::90])
    base = GridProblem(src.X, src.y, tgt.X)
    pred, n_iter, conv, scores = solve_many(base, kk, xx, return_scores=True)
    assert np.array_equal(base.classes[scores.argmax(axis=1)], pred)

    Xe = np.vstack([src.X[:5], tgt.X])
    ev = GridProblem(src.X, src.y, tgt.X, X_eval=Xe)
    pe, ne, _, se = solve_many(ev, kk, xx, return_scores=True)
    assert np.array_equal(ne, n_iter) and np.array_equal(pe[:, 5:], pred)
    np.testing.assert_allclose(se[:, :, 5:], scores, rtol=0, atol=1e-12)

    same = solve_many(base, kk, xx, labels=np.tile(src.y, (kk.size, 1)))
    assert np.array_equal(same[0], pred) and np.array_equal(same[1], n_iter)

    rng = np.random.default_rng(0)
    other = src.y.copy()
    other[rng.choice(other.size, 20, replace=False)] = rng.integers(1, 4, 20)
    labels = np.tile(src.y, (kk.size, 1))
    labels[1::2] = other
    mixed = solve_many(base, kk, xx, labels=labels)
    alone = solve_many(GridProblem(src.X, other, tgt.X), kk[1::2], xx[1::2])
    assert np.array_equal(mixed[0][1::2], alone[0]) and np.array_equal(mixed[0][::2], pred[::2])

    with pytest.raises(ValueError, match="one source labelling per fit"):
        solve_many(base, kk, xx, labels=src.y)
    with pytest.raises(ValueError, match="outside the problem's classes"):
        solve_many(base, kk, xx, labels=np.full((kk.size, src.y.size), 7))
    with pytest.raises(ValueError, match="columns"):
        GridProblem(src.X, src.y, tgt.X, X_eval=tgt.X[:, :100])


def test_profiling_records_every_phase_and_changes_nothing():
    """``engine.profiling()`` (benchmarks/grid_speed.py --profile) times each phase and counts
    its flops; the fits are the same with and without it."""
    Xs, ys, Xt, gid = naive.make_problem(seed=12, n_groups=6)
    problem = GridProblem(Xs, ys, Xt, gid)
    kk, xx = axes.grid_points(range(1, 7), [0.0, 2.0])
    plain = solve_many(problem, kk, xx)
    with engine.profiling() as prof:
        profiled = solve_many(problem, kk, xx)
    for a, b in zip(plain, profiled, strict=True):
        assert np.array_equal(a, b)
    for phase in ("D-step", "packed norms: GEMM", "kept-group products: GEMM", "stop test"):
        assert prof.seconds[phase] > 0 and prof.calls[phase] == plain[1].max()
    assert prof.flops["packed norms: GEMM"] == 2 * plain[1].sum() * problem.Gpack.size
    assert engine._PROFILE is None  # off again after the block


def test_identical_points_are_solved_once_and_copied():
    """A point given twice (the paper's xi axis repeats five values) is solved once: its copies
    get the same results, and ``on_result`` reports every point once."""
    Xs, ys, Xt, gid = naive.make_problem(seed=13, n_groups=6)
    problem = GridProblem(Xs, ys, Xt, gid)
    kk, xx = np.array([2, 3, 2, 2, 5, 3]), np.array([0.5, 0.5, 0.5, 1.0, 0.5, 0.5])
    distinct = [0, 1, 3, 4]  # the others repeat points 0 and 1
    seen = []
    out = solve_many(problem, kk, xx, return_groups=True, return_scores=True,
                     on_result=lambda *a: seen.append([x.copy() for x in a]))
    once = solve_many(problem, kk[distinct], xx[distinct], return_groups=True,
                      return_scores=True)
    copy_of = np.array([0, 1, 0, 2, 3, 1])
    for a, b in zip(out, once, strict=True):
        assert np.array_equal(a, b[copy_of])
    pos = np.concatenate([s[0] for s in seen])
    assert sorted(pos.tolist()) == list(range(kk.size))
    for p, pred, n_iter, conv in seen:
        assert np.array_equal(pred, out[0][p]) and np.array_equal(n_iter, out[1][p])
        assert np.array_equal(conv, out[2][p])
