"""Grid engine vs the one-fit-at-a-time reference solver, measured side by side.

Times the full paper grid (85 kappa x 276 xi = 23,460 fits) of one experiment with the fast
engine, and a random sample of the same grid points with the reference solver, in the same
run; prints fits/s of both, the speed ratio, the reference solver's extrapolated time for the
whole grid, the engine's peak memory, and how many sampled points agree exactly.

    python benchmarks/grid_speed.py --experiment 5 --sample 60
    python benchmarks/grid_speed.py --experiment 11 --sample 40 --repeat 3 --top 0.01

``--top MARGIN`` also runs the reference solver at every point whose engine macro-F1 is within
MARGIN of the engine's best (the points that could be the first max-F1 row) and reports whether
the first max-F1 row among them is the same; ``--out`` saves the engine's grid.
"""

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd

from tgsr_lib.data import datasets, protocols
from tgsr_lib.experiments import axes, runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", type=int, default=5)
    parser.add_argument("--grouping", default="authors")
    parser.add_argument("--sample", type=int, default=60, help="reference fits to time")
    parser.add_argument("--repeat", type=int, default=1, help="engine runs (median reported)")
    parser.add_argument("--kappa", default="paper", help="kappa spec (default: the paper's)")
    parser.add_argument("--top", type=float, default=None, metavar="MARGIN",
                        help="check the near-best points against the reference solver")
    parser.add_argument("--out", default=None, help="save the engine's grid to this CSV")
    args = parser.parse_args()
    exp = protocols.get_experiment(args.experiment)
    src, tgt = datasets.load_features(exp.source), datasets.load_features(exp.target)
    kappas = axes.parse_kappa(args.kappa)
    xis = axes.paper_xis()
    print(f"{exp.label} {args.grouping}: {kappas.size * xis.size} grid points, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")

    # The reference sample is timed first, in a fresh process: timed after the engine it ran
    # up to 2x slower on the same points here (allocator state), which flattered the ratio.
    kk, xx = axes.grid_points(kappas, xis)
    rng = np.random.default_rng(0)
    picked = np.sort(rng.choice(kk.size, args.sample, replace=False))
    refs = []
    t0 = time.perf_counter()
    for k, x in zip(kk[picked], xx[picked], strict=True):
        refs.append(runner.compute_grid(src, tgt, [k], [x], grouping=args.grouping,
                                        engine="reference", progress=False))
    t_ref = time.perf_counter() - t0

    # warm-up: numba compilation is not part of the timing
    runner.compute_grid(src, tgt, [1, 85], [1.0], grouping=args.grouping, progress=False)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        df = runner.compute_grid(src, tgt, kappas, xis, grouping=args.grouping, progress=False)
        times.append(time.perf_counter() - t0)
    t_engine = float(np.median(times))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    if args.out:
        df.to_csv(args.out, index=False)
    rows = df.iloc[picked]
    ref = pd.concat(refs, ignore_index=True)
    same = ((ref.accuracy.values == rows.accuracy.values)
            & (ref.macro_f1.values == rows.macro_f1.values)).mean()

    per_fit_engine = t_engine / len(df)
    per_fit_ref = t_ref / args.sample
    print(f"engine:    {t_engine:8.1f} s for the full grid (median of {args.repeat}; runs "
          f"{', '.join(f'{t:.1f}' for t in times)} s), {1 / per_fit_engine:8.1f} fits/s, "
          f"peak memory {peak_gb:.2f} GB")
    print(f"reference: {t_ref:8.1f} s for {args.sample} sampled points, {1 / per_fit_ref:8.1f} "
          f"fits/s -> {per_fit_ref * len(df) / 3600:.2f} h extrapolated for the full grid")
    print(f"speed-up:  {per_fit_ref / per_fit_engine:.1f}x (same run, same machine)")
    print(f"agreement: {100 * same:.1f}% of the sampled points identical (accuracy and F1)")
    if args.top is not None:
        best = runner.best_row(df)
        near = df[df.macro_f1 >= best.macro_f1 - args.top]
        ref = pd.concat([runner.compute_grid(src, tgt, [k], [x], grouping=args.grouping,
                                             engine="reference", progress=False)
                         for k, x in zip(near.kappa, near.xi, strict=True)], ignore_index=True)
        eq = ((ref.accuracy.values == near.accuracy.values)
              & (ref.macro_f1.values == near.macro_f1.values))
        rb = runner.best_row(ref)
        print(f"near-best: {int(eq.sum())}/{len(near)} points with engine F1 >= "
              f"{best.macro_f1:.4f} - {args.top} identical with the reference; first max-F1 "
              f"row engine (kappa={int(best.kappa)}, xi={best.xi:g}, F1={best.macro_f1:.4f}), "
              f"reference (kappa={int(rb.kappa)}, xi={rb.xi:g}, F1={rb.macro_f1:.4f}): "
              f"{'identical' if (rb.kappa, rb.xi) == (best.kappa, best.xi) else 'DIFFERENT'}")
    if args.grouping == "authors" and args.kappa == "paper" and \
            (exp.source, exp.target) in datasets.available_records():
        try:
            rec = datasets.load_record(exp.source, exp.target)
        except datasets.DataUnavailableError as err:
            print(f"records:   not compared ({err})")
            return
        equal = (((df.accuracy - rec.accuracy).abs() < 1e-6)
                 & ((df.macro_f1 - rec.macro_f1).abs() < 1e-6))
        b1, b2 = runner.best_row(df), runner.best_row(rec)
        print(f"records:   {100 * equal.mean():.2f}% of all {len(df)} points equal the authors' "
              f"record; first max-F1 row identical: {(b1.kappa, b1.xi) == (b2.kappa, b2.xi)}")


if __name__ == "__main__":
    main()
