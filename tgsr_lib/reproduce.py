"""Run every notebook headless with papermill: ``python -m tgsr_lib.reproduce``.

Executed notebooks go to ``results/notebooks/`` (ignored by git), figures to ``figures/``.
Grids come from the cache in ``notebooks/cache/grids`` (computed when missing); ``--recompute``
recomputes them here, each grid once: several notebooks read the same grids, and a grid
recomputed in this run is read, not recomputed, by every later reader (``TGSR_RECOMPUTED_SINCE``,
see :func:`tgsr_lib.experiments.cache.cached_grid`). Each notebook's time and the total are
printed. Extra papermill parameters apply to every notebook that declares them::

    python -m tgsr_lib.reproduce --recompute
    python -m tgsr_lib.reproduce --recompute --jobs 4
    python -m tgsr_lib.reproduce --only 04 -p fixed_xi 1.0 -p fixed_kappa 20

A whole ``--recompute`` run (no ``--only``, no ``-p``) first recomputes the twelve full grids
the notebooks read (the six experiments with public features, authors' and facial-block
groupings) in ``--jobs`` worker processes side by side, largest first, each with its share of
the cores; the notebooks then read them. On the 2-core machine (its AMD VM) two one-thread
workers did the twelve grids 1.087x as fast as one two-thread process
(``benchmarks/grid_workers.py``, every 24th kappa), with identical grids. Each grid is
checkpointed as the notebooks' are, so an interrupted run resumes.

The notebooks need every extra: ``pip install "tgsr[all]"``.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

from tgsr_lib._optional import require


def notebooks(folder: Path, only: list[str] | None = None) -> list[Path]:
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.name.startswith(o) for o in only)]
    return found


def declared_parameters(path: Path) -> set[str]:
    """Names assigned in a notebook's cell tagged ``parameters``."""
    nbformat = require("nbformat", "reading notebooks")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            return {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    return set()


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def absolute_data_dir() -> None:
    """Make a relative ``TGSR_DATA_DIR`` absolute, against the directory the command was
    started in: the kernels run in the notebooks' folder, where it would mean another
    place."""
    value = os.environ.get("TGSR_DATA_DIR")
    if value:
        os.environ["TGSR_DATA_DIR"] = os.path.abspath(os.path.expanduser(value))


def standard_grids() -> list[tuple[int, str]]:
    """The full grids a whole run's notebooks read: (experiment, grouping) pairs."""
    from tgsr_lib.data import protocols

    return [(n, g) for g in ("authors", "blocks") for n in protocols.COMPUTABLE]


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: Memory one grid worker may need: a worker peaked at 1.73 GB (its second 130-source grid,
#: 2026-12-07; 1.06 GB on its first).
WORKER_MEMORY = 1.8e9


def auto_jobs(n_grids: int) -> int:
    """Workers for the grid phase: one per core, at most one per grid, and as many as the
    machine's memory holds at :data:`WORKER_MEMORY` each."""
    jobs = min(usable_cores(), n_grids)
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        jobs = min(jobs, max(1, int(memory // WORKER_MEMORY)))
    except (ValueError, OSError, AttributeError):
        pass
    return max(1, jobs)


def worker_threads(jobs: int) -> int:
    """numba threads of each of ``jobs`` grid workers: their share of the cores."""
    return max(1, usable_cores() // jobs)


def check_jobs(value: str) -> int | None:
    """``--jobs``: ``auto`` (None) or a positive integer."""
    if value == "auto":
        return None
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"--jobs {value!r}: give a positive number of worker "
                                         "processes, or auto (one per core)")
    return jobs


def _grid_worker(number: int, grouping: str, cache_dir: str, threads: int,
                 kappas=None, xis=None) -> float:
    """Recompute one grid into the notebooks' cache (runs in a worker process)."""
    import numba

    from tgsr_lib.data import protocols
    from tgsr_lib.experiments.cache import cached_grid

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    exp = protocols.get_experiment(number)
    t0 = time.time()
    cached_grid(exp.source, exp.target, kappas, xis, grouping=grouping, cache_dir=cache_dir,
                recompute=True, progress=False)
    return time.time() - t0


def _source_sizes(numbers: list[int]) -> list[int]:
    """Source samples of each experiment (runs in a worker process)."""
    from tgsr_lib.data import datasets, protocols

    return [int(datasets.load_features(protocols.get_experiment(n).source).X.shape[0])
            for n in numbers]


def recompute_grids(cache_dir: Path, jobs: int | None, every: float = 60.0, grids=None,
                    kappas=None, xis=None) -> list[str]:
    """The grid phase of a whole ``--recompute`` run: the grids ``grids`` ((experiment,
    grouping) pairs; None: :func:`standard_grids`) recomputed into ``cache_dir`` by ``jobs``
    worker processes (None: :func:`auto_jobs`), largest first (a fit's cost grows with the
    square of the source samples); ``kappas`` and ``xis`` (None: the paper's) pick a sub-grid,
    for a quick check. Prints a line per finished grid and a status line every ``every``
    seconds. Returns the labels of the grids that failed (the notebooks then compute those
    themselves and show the error)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from tgsr_lib.data import protocols

    grids = standard_grids() if grids is None else list(grids)
    jobs = auto_jobs(len(grids)) if jobs is None else min(jobs, len(grids))
    threads = worker_threads(jobs)
    print(f"recomputing {len(grids)} grids in {jobs} worker process(es) x {threads} "
          f"thread(s), largest first", flush=True)

    def label(g):
        return f"{protocols.get_experiment(g[0]).label} {g[1]}"

    failed = []
    t0 = time.time()
    ctx = multiprocessing.get_context("spawn")  # no forked numba or BLAS thread pools
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        # the features are fetched (and checked) by one worker, not by several at a time, and
        # not kept in this process
        numbers = sorted({n for n, _ in grids})
        size = dict(zip(numbers, pool.submit(_source_sizes, numbers).result(), strict=True))
        grids.sort(key=lambda g: -size[g[0]])
        pending = {pool.submit(_grid_worker, n, g, str(cache_dir), threads, kappas, xis): (n, g)
                   for n, g in grids}
        while pending:
            done, _ = wait(pending, timeout=every, return_when=FIRST_COMPLETED)
            for fut in done:
                g = pending.pop(fut)
                try:
                    seconds = fut.result()
                    print(f"  grid {label(g)}: {seconds:.0f} s ({len(grids) - len(pending)}"
                          f"/{len(grids)} done)", flush=True)
                except Exception as err:  # the notebooks recompute it and show the error
                    print(f"FAILED grid {label(g)}: {type(err).__name__}: {str(err)[:2000]}",
                          file=sys.stderr, flush=True)
                    failed.append(label(g))
            if pending and not done:
                print(f"  grids: {len(grids) - len(pending)}/{len(grids)} done after "
                      f"{time.time() - t0:.0f} s", flush=True)
    print(f"  grids: {time.time() - t0:.0f} s", flush=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tgsr_lib.reproduce",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--notebooks", default="notebooks", help="folder of the notebooks")
    parser.add_argument("--out", default="results/notebooks", help="executed notebooks")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 02 04")
    parser.add_argument("--recompute", action="store_true",
                        help="recompute every grid instead of reading the cache")
    parser.add_argument("--jobs", type=check_jobs, default=None, metavar="N",
                        help="with --recompute (whole runs): worker processes that recompute "
                             "the grids side by side before the notebooks run (default auto: "
                             "one per core, as memory allows; 1: one at a time)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="papermill parameter (Python literal)")
    args = parser.parse_args(argv)

    pm = require("papermill", "running the notebooks")
    absolute_data_dir()
    folder = Path(args.notebooks).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    extra = {name: _value(value) for name, value in args.parameter}
    start = time.time()
    if args.recompute:
        extra["recompute"] = True
        # the kernels inherit it: a grid recomputed by one notebook is read by the next
        from tgsr_lib.experiments.cache import RECOMPUTED_SINCE

        os.environ[RECOMPUTED_SINCE] = repr(start)
    failed, failed_grids = [], []
    if args.recompute and not args.only and not args.parameter:
        try:
            failed_grids = recompute_grids(folder / "cache" / "grids", args.jobs)
        except KeyboardInterrupt:
            print("interrupted: the same command resumes the grids from their checkpoints",
                  file=sys.stderr)
            return 130
    for nb in notebooks(folder, args.only):
        declared = declared_parameters(nb)
        params = {k: v for k, v in extra.items() if k in declared}
        print(f"running {nb.name} {params or ''}", flush=True)
        t0 = time.time()
        try:
            pm.execute_notebook(str(nb), str(out / nb.name), parameters=params,
                                cwd=str(folder), kernel_name="python3", progress_bar=False)
        except Exception as err:  # report every failing notebook, then fail
            print(f"FAILED {nb.name}: {type(err).__name__}: {str(err)[:2000]}", file=sys.stderr)
            failed.append(nb.name)
        print(f"  {nb.name}: {time.time() - t0:.0f} s", flush=True)
    print(f"executed notebooks in {out} in {time.time() - start:.0f} s; figures in "
          f"{folder.parent / 'figures'}")
    if failed_grids:
        print(f"{len(failed_grids)} grid(s) failed in the grid phase (the notebooks computed "
              f"them again): {', '.join(failed_grids)}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
    if failed or failed_grids:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
