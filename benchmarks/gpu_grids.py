"""All twelve paper grids (six computable experiments x two groupings) on a GPU, timed in one run.

Runs the array engine with CuPy (engine ``"gpu"``) on each full 85 x 276 grid, prints the
time of each and the total, checks the authors' grouping against the authors' records
(correct counts exactly, macro-F1 to 1e-12), and writes each grid where
:func:`tgsr_lib.experiments.cache.cached_grid` looks for it, so the notebooks reuse it.
Usage (on a machine with CuPy and an NVIDIA GPU)::

    python benchmarks/gpu_grids.py --cache-dir /tmp/gpu_grids [--grouping authors,blocks]

Without CuPy or a usable GPU it says so and exits with status 2 (nothing is computed).
"""

import argparse
import sys
import time

import numpy as np

from tgsr_lib.data import datasets, protocols
from tgsr_lib.experiments import runner
from tgsr_lib.experiments.cache import grid_cache_path
from tgsr_lib.model.array_engine import cupy_module


def record_check(df, exp) -> str:
    """How many points equal the authors' record (authors' grouping only)."""
    try:
        rec = datasets.load_record(exp.source, exp.target)
    except datasets.DataUnavailableError as err:
        return f"record not compared ({err})"
    n_t = datasets.load_features(exp.target).y.size
    equal = ((np.rint(df.accuracy.values * n_t) == np.rint(rec.accuracy.values * n_t))
             & (np.abs(df.macro_f1.values - rec.macro_f1.values) < 1e-12))
    return f"{int(equal.sum())}/{len(df)} points equal the record"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default="notebooks/cache/grids")
    parser.add_argument("--grouping", default="authors,blocks")
    parser.add_argument("--experiments", default="computable")
    parser.add_argument("--slots", type=int, default=4096)
    args = parser.parse_args()
    try:
        cupy = cupy_module()
    except RuntimeError as err:
        print(f"gpu_grids: cannot run here: {err}", file=sys.stderr)
        return 2
    print(f"GPU: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}", flush=True)
    total = 0.0
    for grouping in args.grouping.split(","):
        for exp in protocols.parse_experiments(args.experiments):
            out = grid_cache_path(exp.source, exp.target, grouping=grouping, engine="gpu",
                                  cache_dir=args.cache_dir)
            out.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            df = runner.compute_grid(exp.source, exp.target, grouping=grouping, engine="gpu",
                                     out=out, progress=False, n_slots=args.slots)
            dt = time.perf_counter() - t0
            total += dt
            best = runner.best_row(df)
            check = record_check(df, exp) if grouping == "authors" else "no record"
            print(f"{exp.label} {grouping}: {len(df)} points in {dt:.1f} s "
                  f"(mean {df.n_iter.mean():.1f} iterations); first max-F1 row kappa="
                  f"{int(best.kappa)} xi={best.xi:g} acc={best.accuracy:.4f} "
                  f"F1={best.macro_f1:.4f}; {check} -> {out.name}", flush=True)
    print(f"all grids: {total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
