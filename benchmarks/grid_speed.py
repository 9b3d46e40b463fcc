"""Grid engine vs the one-fit-at-a-time reference solver, measured side by side in one run.

Three modes, all on one experiment's features (``--experiment``, ``--grouping``):

* default: the fast engine on a grid (``--kappa``, default the paper's 85 kappa values, x the
  paper's 276 xi values) and the reference solver (:class:`tgsr_lib.model.TGSR`, one fit at a
  time) on ``--sample`` random points of the same grid, timed in the same run; prints fits/s
  of both, the speed ratio per fit, and whether the sampled points agree exactly;
* ``--full``: the same on the full paper grid ``--repeat`` times (median), then every point
  checked against the authors' record (correct counts exactly, macro-F1 to 1e-12) and the
  process's peak memory (``resource.getrusage``);
* ``--profile``: a per-phase profile of the CPU engine's iteration (seconds, share, achieved
  GFLOP/s, with the flops each phase does counted from its work) beside the machine's DGEMM
  GFLOP/s measured in the same run.

Examples::

    python benchmarks/grid_speed.py --experiment 5 --kappa 1:85:8 --profile
    python benchmarks/grid_speed.py --experiment 11 --kappa 1:85:24 --profile --slots 16
    python benchmarks/grid_speed.py --experiment 11 --kappa 1:85:8 --sample 30
    nice -n 5 python benchmarks/grid_speed.py --experiment 5 --full --repeat 3 --sample 40

Absolute times depend on what else runs on the machine; the ratios are measured side by side.
"""

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tgsr_lib.data import datasets, protocols
from tgsr_lib.experiments import axes, cache, io, runner
from tgsr_lib.model import engine
from tgsr_lib.model.driver import solve_many
from tgsr_lib.model.problem import GridProblem

COMMITTED = Path(__file__).resolve().parents[1] / "notebooks" / "cache" / "grids"


def dgemm_gflops(n: int = 1536, repeat: int = 5) -> float:
    """The machine's DGEMM speed now: the best of ``repeat`` square products of size n."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    out = np.empty((n, n))
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def profile(src, tgt, kappas, xis, grouping: str, n_slots=None) -> None:
    """Print the per-phase profile of the CPU engine on the grid kappas x xis (``n_slots``
    fits in flight, None: the default; the driver queues the fits by xi)."""
    Xs, ys = src[0], src[1]
    problem = GridProblem(Xs, ys, tgt[0], grouping)
    kk, xx = axes.grid_points(kappas, xis)
    solve_many(problem, np.repeat([1, problem.n_groups], 16), np.tile(xis[:16], 2),
               n_slots=n_slots)  # compile
    gemm_before = dgemm_gflops()
    with engine.profiling() as prof:
        t0 = time.perf_counter()
        _, n_iter, _ = solve_many(problem, kk, xx, n_slots=n_slots)
        total = time.perf_counter() - t0
    gemm = max(gemm_before, dgemm_gflops())
    rows = []
    for phase, sec in prof.seconds.items():
        fl = prof.flops.get(phase, 0.0)
        rows.append((phase, sec, fl))
    rows.append(("driver (queue, mu, predictions)", total - sum(prof.seconds.values()), 0.0))
    print(f"{kk.size} fits ({n_slots or 'default'} slots), "
          f"m = N_s + 1 = {problem.m}, K = {problem.n_groups}, "
          f"{n_iter.sum()} fit-iterations (mean {n_iter.mean():.2f}), {total:.1f} s, "
          f"{kk.size / total:.1f} fits/s")
    print(f"{'phase':50s} {'seconds':>8s} {'share':>6s} {'GFLOP':>8s} {'GFLOP/s':>8s}")
    for phase, sec, fl in rows:
        rate = f"{fl / sec / 1e9:8.1f}" if fl else f"{'-':>8s}"
        gfl = f"{fl / 1e9:8.1f}" if fl else f"{'-':>8s}"
        print(f"{phase:50s} {sec:8.2f} {100 * sec / total:5.1f}% {gfl} {rate}")
    done = sum(fl for _, _, fl in rows)
    print(f"{'total':50s} {total:8.2f} {100.0:5.1f}% {done / 1e9:8.1f} {done / total / 1e9:8.1f}")
    need = prof.flops.get("kept-group products: needed", 0.0)
    if need:
        print(f"kept-group GEMM: {need / 1e9:.1f} GFLOP needed by the kept (fit, group) pairs, "
              f"{prof.flops['kept-group products: GEMM'] / 1e9:.1f} GFLOP done")
    print(f"machine DGEMM ({os.cpu_count()} CPUs, same run): {gemm:.1f} GFLOP/s; the counted "
          f"work at that speed: {done / gemm / 1e9:.1f} s")


def parse_kappa(spec: str) -> np.ndarray:
    """``axes.parse_kappa``, plus ``a:b:step`` (every step-th kappa from a to b inclusive)."""
    if spec.count(":") == 2:
        a, b, step = (int(x) for x in spec.split(":"))
        return axes.parse_kappa(",".join(str(k) for k in range(a, b + 1, step)))
    return axes.parse_kappa(spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", type=int, default=5)
    parser.add_argument("--grouping", default="authors")
    parser.add_argument("--sample", type=int, default=40, help="reference fits to time")
    parser.add_argument("--repeat", type=int, default=1, help="engine runs (median reported)")
    parser.add_argument("--kappa", default="paper",
                        help="kappa spec: a:b, a:b:step, a list or 'paper' (default)")
    parser.add_argument("--full", action="store_true",
                        help="the full paper grid, checked against the authors' record")
    parser.add_argument("--profile", action="store_true", help="per-phase engine profile")
    parser.add_argument("--out", default=None, help="save the engine's grid to this CSV")
    parser.add_argument("--slots", type=int, default=None,
                        help="fits in flight (default: the driver's choice)")
    args = parser.parse_args()
    exp = protocols.get_experiment(args.experiment)
    src, tgt = datasets.load_features(exp.source), datasets.load_features(exp.target)
    kappas = parse_kappa("paper" if args.full else args.kappa)
    xis = axes.paper_xis()
    print(f"{exp.label} {args.grouping}: {kappas.size * xis.size} grid points, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    if args.profile:
        profile(src, tgt, kappas, xis, args.grouping, args.slots)
        return

    # The reference sample is timed first, in a fresh process: timed after the engine it ran
    # up to 2x slower on the same points here (allocator state), which flattered the ratio.
    kk, xx = axes.grid_points(kappas, xis)
    rng = np.random.default_rng(0)
    picked = np.sort(rng.choice(kk.size, min(args.sample, kk.size), replace=False))
    refs = []
    t0 = time.perf_counter()
    for k, x in zip(kk[picked], xx[picked], strict=True):
        refs.append(runner.compute_grid(src, tgt, [k], [x], grouping=args.grouping,
                                        engine="reference", progress=False))
    t_ref = time.perf_counter() - t0

    # warm-up: numba compilation (serial and parallel kernels) is not part of the timing
    slots = {} if args.slots is None else {"n_slots": args.slots}
    runner.compute_grid(src, tgt, [1, 85], xis[:16], grouping=args.grouping, progress=False,
                        **slots)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        df = runner.compute_grid(src, tgt, kappas, xis, grouping=args.grouping, progress=False,
                                 **slots)
        times.append(time.perf_counter() - t0)
    t_engine = float(np.median(times))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux
    if args.out:
        df.to_csv(args.out, index=False)
    rows = df.iloc[picked]
    ref = pd.concat(refs, ignore_index=True)
    same = ((ref.accuracy.values == rows.accuracy.values)
            & (ref.macro_f1.values == rows.macro_f1.values)
            & (ref.n_iter.values == rows.n_iter.values)).mean()

    per_fit_engine = t_engine / len(df)
    per_fit_ref = t_ref / picked.size
    print(f"engine:    {t_engine:8.1f} s for {len(df)} points (median of {args.repeat}; runs "
          f"{', '.join(f'{t:.1f}' for t in times)} s), {1 / per_fit_engine:8.1f} fits/s, "
          f"mean {df.n_iter.mean():.2f} iterations, peak memory {peak_gb:.2f} GB")
    print(f"reference: {t_ref:8.1f} s for {picked.size} sampled points, {1 / per_fit_ref:8.1f} "
          f"fits/s -> {per_fit_ref * len(df):.0f} s extrapolated for these {len(df)} points")
    print(f"speed-up:  {per_fit_ref / per_fit_engine:.1f}x per fit (same run, same machine)")
    # A fit's cost follows its iterations, and a small sample's mean iteration count can be
    # off the grid's by several percent: the same ratio per fit-iteration, for comparison.
    ref_it, grid_it = ref.n_iter.mean(), df.n_iter.mean()
    print(f"           {(t_ref / ref.n_iter.sum()) / (t_engine / df.n_iter.sum()):.1f}x per "
          f"fit-iteration (the sampled points average {ref_it:.1f} iterations, the grid "
          f"{grid_it:.1f})")
    print(f"agreement: {100 * same:.1f}% of the sampled points identical to the reference "
          "(accuracy, F1, iterations)")
    if not args.full:
        return
    if args.grouping != "authors" or (exp.source, exp.target) not in datasets.available_records():
        print("records:   no record of the authors for this grid")
        return
    try:
        rec = datasets.load_record(exp.source, exp.target)
    except datasets.DataUnavailableError as err:
        print(f"records:   not compared ({err})")
        return
    n_t = tgt[0].shape[0]
    correct = np.rint(df.accuracy.values * n_t).astype(int)
    rec_correct = np.rint(rec.accuracy.values * n_t).astype(int)
    same_axes = (np.array_equal(df.kappa.values, rec.kappa.values)
                 and np.allclose(df.xi.values, rec.xi.values, rtol=1e-12))
    equal = (correct == rec_correct) & (np.abs(df.macro_f1.values - rec.macro_f1.values) < 1e-12)
    b1, b2 = runner.best_row(df), runner.best_row(rec)
    print(f"records:   {int(equal.sum())} of {len(df)} points equal the authors' record "
          f"(correct counts exactly, F1 to 1e-12; axes equal: {same_axes}); first max-F1 row "
          f"identical: {(b1.kappa, b1.xi) == (b2.kappa, b2.xi)}")
    path = cache.grid_cache_path(exp.source, exp.target, cache_dir=COMMITTED)
    if path.exists():  # the records hold no iteration counts: the committed grid does
        committed = io.read_grid(path)
        print(f"iterations: {int((committed.n_iter.values == df.n_iter.values).sum())} of "
              f"{len(df)} points with the iteration count of the committed grid {path.name}")


if __name__ == "__main__":
    main()
