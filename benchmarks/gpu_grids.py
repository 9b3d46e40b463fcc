"""Full paper grids of every computable experiment on a GPU (engine "gpu", CuPy).

Times each grid and writes it where :func:`tgsr_lib.experiments.cache.cached_grid` looks for
it, so the notebooks reuse it. Usage (on a machine with CuPy and an NVIDIA GPU)::

    python benchmarks/gpu_grids.py --cache-dir notebooks/cache/grids [--grouping authors,blocks]
"""

import argparse
import time

from tgsr_lib.data import protocols
from tgsr_lib.experiments import runner
from tgsr_lib.experiments.cache import grid_cache_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default="notebooks/cache/grids")
    parser.add_argument("--grouping", default="authors,blocks")
    parser.add_argument("--experiments", default="computable")
    parser.add_argument("--slots", type=int, default=4096)
    args = parser.parse_args()
    for grouping in args.grouping.split(","):
        for exp in protocols.parse_experiments(args.experiments):
            out = grid_cache_path(exp.source, exp.target, grouping=grouping,
                                  cache_dir=args.cache_dir)
            out.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            df = runner.compute_grid(exp.source, exp.target, grouping=grouping, engine="gpu",
                                     out=out, progress=False, n_slots=args.slots)
            dt = time.perf_counter() - t0
            best = runner.best_row(df)
            print(f"{exp.label} {grouping}: {len(df)} points in {dt:.1f} s "
                  f"(mean {df.n_iter.mean():.1f} iterations); first max-F1 row kappa="
                  f"{int(best.kappa)} xi={best.xi:g} acc={best.accuracy:.4f} "
                  f"F1={best.macro_f1:.4f} -> {out.name}", flush=True)


if __name__ == "__main__":
    main()
