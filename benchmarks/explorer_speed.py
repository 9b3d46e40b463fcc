"""How long one explorer update takes (notebook 09), against the 0.3 s target.

An update is what a slider move costs once the kernel has it: the point's fit (fast engine),
the figure's redraw and its PNG. The benchmark opens the explorer (which reads the task's
cached grid and sets up its shared problem: a one-off cost per task, reported apart), then
times ``--n`` updates at random points of the cached grid that were not computed before, and
prints the median beside the target (also the 90th percentile and the slowest).

    python benchmarks/explorer_speed.py --experiment 5 --n 20
    python benchmarks/explorer_speed.py --experiment 11 --grouping blocks

Run from the project root (the grids are read from notebooks/cache/grids).
"""

import argparse
import time
from pathlib import Path

import numpy as np

from tgsr_lib.report import explorer

TARGET_S = 0.3
CACHE = Path(__file__).resolve().parents[1] / "notebooks" / "cache" / "grids"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", type=int, default=5)
    parser.add_argument("--grouping", default="authors")
    parser.add_argument("--n", type=int, default=20, help="timed updates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=str(CACHE))
    args = parser.parse_args()

    t0 = time.perf_counter()
    app = explorer.Explorer(number=args.experiment, grouping=args.grouping,
                            cache_dir=args.cache_dir, debounce_s=0)
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    app.go_to_best()  # warm: numba kernels loaded, figure laid out
    warm = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed)
    done = {(app.kappa.value, app.xi_index.value), (12, explorer.xi_index(44.0))}
    times, fits, draws = [], [], []
    while len(times) < args.n:
        kappa = int(rng.integers(1, explorer.GRID_KAPPAS[-1] + 1))
        j = int(rng.integers(0, explorer.GRID_XIS.size))
        if (kappa, j) in done:
            continue
        done.add((kappa, j))
        t0 = time.perf_counter()
        with app.hold():  # one update for both controls, as "go to best" does
            app.kappa.value = kappa
            app.xi_index.value = j
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fit = explorer.solve_point.__wrapped__(args.experiment, args.grouping, kappa,
                                               float(explorer.GRID_XIS[j]))
        fits.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        task = explorer.task_data(args.experiment, args.grouping, args.cache_dir)
        app.canvas.draw(task, kappa, float(explorer.GRID_XIS[j]), fit)
        app.canvas.png()
        draws.append(time.perf_counter() - t0)
        assert app.summary["accuracy"] == app.summary.get("grid_accuracy", app.summary[
            "accuracy"]), "the explorer's fit differs from the cached grid"

    times = np.array(times)
    label = app.summary["experiment"]
    print(f"explorer, {label}, {args.grouping} grouping ({app.summary['grid']} grid)")
    print(f"  open (grid, problem, first figure): {opened:.2f} s; first update after: "
          f"{warm:.3f} s")
    print(f"  {args.n} updates at new grid points: median {np.median(times):.3f} s "
          f"(target {TARGET_S} s: {'met' if np.median(times) <= TARGET_S else 'NOT met'}), "
          f"90th percentile {np.percentile(times, 90):.3f} s, slowest {times.max():.3f} s")
    print(f"  of which: fit median {np.median(fits):.3f} s, figure + PNG median "
          f"{np.median(draws):.3f} s")


if __name__ == "__main__":
    main()
