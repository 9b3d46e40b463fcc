"""The grid phase of ``python -m tgsr_lib.reproduce --recompute``: worker processes side by side
against one process, measured in one run.

The twelve grids the notebooks read (six experiments with public features x two groupings) are
recomputed by :func:`tgsr_lib.reproduce.recompute_grids` once for each ``--jobs`` value, into a
fresh temporary cache each time, on the paper's 276 xi values and every ``--kappa-step``-th
kappa (default 8: 11 of the 85; ``--kappa-step 1`` is the whole paper grid, as in a reproduce
run). Each worker gets ``cores // jobs`` numba threads, so ``--jobs 1`` is one process with
every core. Prints the wall time of each, the ratio to the first, the largest worker's peak
memory, and whether every mode's grids are identical to the first's (they must be: the
workers change where fits run, not what they compute). Example::

    python benchmarks/grid_workers.py --jobs 1,2
    python benchmarks/grid_workers.py --jobs 1,2 --kappa-step 24

Absolute times depend on what else runs on the machine; the ratios are measured side by side.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from tgsr_lib import reproduce


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default="1,2", help="worker counts to compare, e.g. 1,2,4")
    parser.add_argument("--kappa-step", type=int, default=8, help="every n-th kappa of 1..85")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    if args.kappa_step < 1 or any(j < 1 for j in jobs):
        parser.error("--kappa-step and --jobs take positive integers")
    kappas = list(range(1, 86, args.kappa_step))
    print(f"machine: {reproduce.usable_cores()} usable cores; 12 grids of {len(kappas)} kappa "
          f"x 276 xi values")
    times, grids = {}, {}
    for j in jobs:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            failed = reproduce.recompute_grids(Path(tmp), j, kappas=kappas)
            times[j] = time.perf_counter() - t0
            if failed:
                raise SystemExit(f"grids failed with --jobs {j}: {failed}")
            grids[j] = {p.name: pd.read_csv(p) for p in sorted(Path(tmp).glob("*.csv.gz"))}
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    base = jobs[0]
    print(f"\n| jobs | threads each | wall s | vs jobs={base} |")
    print("|---|---|---|---|")
    for j in jobs:
        print(f"| {j} | {reproduce.worker_threads(min(j, 12))} | {times[j]:.1f} | "
              f"{times[base] / times[j]:.3f}x |")
    same = all(grids[j].keys() == grids[base].keys()
               and all(grids[j][k].equals(grids[base][k]) for k in grids[base])
               for j in jobs)
    print(f"\nlargest worker's peak memory: {peak:.2f} GB; "
          f"{len(grids[base])} grids, identical in every mode: {same}")


if __name__ == "__main__":
    main()
