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

A whole ``--recompute`` run (no ``--only``, no ``-p``) runs ``--jobs`` tasks at a time
(default: one per core, each with its share of the cores), from one queue, each started in the
first free place once the tasks it needs have ended: the grid engine compiled once into numba's
cache (the notebooks that read no grid run meanwhile), then the twelve full grids the notebooks
read (the six experiments with public features, authors' and facial-block groupings; largest
first) and the tables notebook 10 recomputes that need no grid (ablation grids at xi = 0 and of
ridge, their source cross-validation scores, the baselines' oracle predictions), in worker
processes; once every grid and table is there (and the workers have exited), the other
notebooks, notebook 10 first. The notebooks run in processes of their own that import papermill
only. A grid or table recomputed in this run is read, not recomputed, by every later reader.
Each grid is checkpointed as the notebooks' are, so an interrupted run resumes.

The notebooks need every extra: ``pip install "tgsr[all]"``.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

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


def _grid_worker(number: int, grouping: str, cache_dir: str, kappas=None, xis=None) -> float:
    """Recompute one grid into the notebooks' cache (runs in a worker process, whose threads
    :func:`_worker_init` set)."""
    from tgsr_lib.data import protocols
    from tgsr_lib.experiments.cache import cached_grid

    exp = protocols.get_experiment(number)
    t0 = time.time()
    cached_grid(exp.source, exp.target, kappas, xis, grouping=grouping, cache_dir=cache_dir,
                recompute=True, progress=False)
    return time.time() - t0


def _source_sizes(numbers: list[int]) -> list[int]:
    """Source samples of each experiment (fetches and checks their features)."""
    from tgsr_lib.data import datasets, protocols

    return [int(datasets.load_features(protocols.get_experiment(n).source).X.shape[0])
            for n in numbers]


#: Thread counts a pool worker gives its libraries (and, through the environment, the
#: notebook kernels it starts): with every core busy, BLAS or OpenMP threads beyond a
#: worker's share spin and wait (notebook 07 beside a busy core: 42 s with the default
#: threads, 14 s with one).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def _worker_init(threads: int) -> None:
    """Start of a pool worker: its share of the cores for every thread pool."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    import numba  # in case it was imported before the variable was set
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _notebook_worker(path: str, out: str, params: dict, cwd: str) -> float:
    """Run one notebook with papermill in this process; returns its seconds."""
    pm = require("papermill", "running the notebooks")
    t0 = time.time()
    pm.execute_notebook(path, out, parameters=params, cwd=cwd, kernel_name="python3",
                        progress_bar=False)
    return time.time() - t0


def _thread_env(threads: int) -> dict:
    """This process's environment with ``threads`` for every thread pool (a process started
    with it, and the notebook kernels it starts, use that many threads)."""
    return dict(os.environ, **{name: str(threads) for name in THREAD_VARIABLES})


def _run_python(code: str, args: list[str], threads: int, what: str) -> float:
    """``python -c code *args`` with ``threads`` threads per pool; returns its seconds, or
    raises with the end of its error output."""
    import subprocess

    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=_thread_env(threads))
    if done.returncode:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return time.time() - t0


def _notebook_process(path: str, out: str, params: dict, cwd: str, threads: int) -> float:
    """:func:`_notebook_worker` in a process of its own, which imports papermill and this
    module only (a thread of a whole run's parent waits for it); returns its seconds."""
    # jsonschema (under papermill's nbformat) imports rfc3987_syntax if it can, only for its
    # "iri" format checks, which no notebook schema uses; that import alone took 1.1 s of
    # papermill's 1.5 s (python -X importtime), paid again by each notebook's process
    code = ("import ast, sys; sys.modules['rfc3987_syntax'] = None; "
            "from tgsr_lib.reproduce import _notebook_worker; "
            "_notebook_worker(*ast.literal_eval(sys.argv[1]))")
    return _run_python(code, [repr((path, out, params, cwd))], threads,
                       f"papermill on {Path(path).name}")


def _claims_worker(number: int, cache_dir: str) -> float:
    """What notebook 10 recomputes for experiment ``number`` that does not need the grids:
    the ``xi0`` and ``ridge`` ablation grids, their source cross-validation scores and the
    baselines' oracle predictions, written where the notebook reads them (runs in a worker
    process; the notebook reads a table written in this run instead of recomputing it)."""
    import pandas as pd

    from tgsr_lib.compare import ablations
    from tgsr_lib.report import claims

    t0 = time.time()
    cache = Path(cache_dir)
    ablations.small_grids(number, cache_dir=cache / "ablations", recompute=True)
    ablations.label_free_small(number, cache_dir=cache / "ablations", recompute=True)
    claims.baseline_oracle_predictions(pd.read_csv(cache / "baselines.csv"), [number],
                                       cache=cache / "baselines_predictions.csv",
                                       recompute=True)
    return time.time() - t0


#: The label of the pool task of :func:`_compile_engine`.
COMPILE = "compile the grid engine"


def _compile_engine(number: int, threads: int) -> float:
    """Compile the grid engine's numba kernels for ``threads`` threads into numba's cache on
    disk, in a process of its own that then exits (a thread of a whole run's parent waits for
    it). The grid workers then load the kernels instead of each compiling them: a one-thread
    process that compiled them held 0.51 GB after Exp.11 at every 16th kappa and every 4th
    xi, 0.33 GB when it had loaded them (2026-12-07, after :func:`_trim_heap`), and compiling
    took 23 s."""
    return _run_python(f"from tgsr_lib.reproduce import _small_grid; _small_grid({int(number)})",
                       [], threads, "compiling the grid engine")


def _small_grid(number: int) -> None:
    """Experiment ``number`` at kappa = 1..16 and xi = 1: enough fits for the engine's
    parallel kernels too (:data:`tgsr_lib.model.engine._PARALLEL_MIN`) when numba has more
    than one thread."""
    from tgsr_lib.data import protocols
    from tgsr_lib.experiments.runner import compute_grid

    exp = protocols.get_experiment(number)
    compute_grid(exp.source, exp.target, list(range(1, 17)), [1.0], progress=False)


def _run_task(fn, *args) -> float:
    """``fn(*args)`` in a pool worker, then the memory its arrays left in the C heap handed
    back to the system (glibc's ``malloc_trim``): a worker holds on to the heap of its last
    task while the next one runs, possibly beside a notebook kernel it starts. A one-thread
    process after a 130-source grid (Exp.11 at every 8th kappa, twice): 0.456 and 0.486 GB,
    0.334 GB after the trim."""
    try:
        return fn(*args)
    finally:
        _trim_heap()


def _trim_heap() -> None:
    import ctypes

    try:  # the process's own symbols: glibc's where there is one
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc (TypeError: Windows)
        pass


class Task(NamedTuple):
    """One piece of work of a whole run's pool: ``fn(*args)`` returns its seconds. It starts
    only once the tasks labelled in ``after`` have ended (done or failed). A task whose
    ``fn`` only waits for a process it starts (``spawns``: a notebook, the compilation) runs
    in a thread of the pool's own process, not in a worker."""

    label: str
    fn: object
    args: tuple
    after: tuple = ()
    spawns: bool = False


def run_pool(tasks: list[Task], jobs: int, every: float = 60.0, title: str = "tasks",
             threads: int | None = None) -> list[str]:
    """Run ``tasks``, at most ``jobs`` at a time: in worker processes of ``threads`` threads
    each (None: :func:`worker_threads`), started when first needed, or in threads of this
    process for the tasks that start a process of their own (``Task.spawns``). Whenever one
    ends, the first waiting task, in the order given (put the largest first), whose ``after``
    tasks have all ended starts; once no task for the workers is left they exit, so that the
    memory they hold goes back before the last notebooks run. Prints a line per finished task
    and a status line every ``every`` seconds. Returns the labels of the tasks that failed
    (their error is printed; a task after a failed one still runs)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait

    labels = {t.label for t in tasks}
    unknown = sorted({a for t in tasks for a in t.after} - labels)
    if unknown or len(labels) != len(tasks):
        raise ValueError(f"pool tasks must have distinct labels and wait only for tasks of the "
                         f"same pool: unknown {unknown}")
    failed, ended, waiting, running = [], set(), list(tasks), {}
    t0 = time.time()
    ctx = multiprocessing.get_context("spawn")  # no forked numba or BLAS thread pools
    threads = worker_threads(jobs) if threads is None else threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                             initargs=(threads,)) as pool, ThreadPoolExecutor(jobs) as local:
        while waiting or running:
            # a task is handed out only when a worker is free: a queue would fix the order
            # before the tasks it waits for have ended
            ready = [t for t in waiting if ended.issuperset(t.after)]
            for task in ready[:jobs - len(running)]:
                waiting.remove(task)
                fut = (local.submit(task.fn, *task.args) if task.spawns
                       else pool.submit(_run_task, task.fn, *task.args))
                running[fut] = task
            if not running:  # cannot happen with known labels and no cycle
                raise ValueError(f"pool tasks wait for each other: {[t.label for t in waiting]}")
            if all(t.spawns for t in waiting + list(running.values())):
                pool.shutdown()  # no work left for the workers: they exit
            done, _ = wait(running, timeout=every, return_when=FIRST_COMPLETED)
            for fut in done:
                task = running.pop(fut)
                ended.add(task.label)
                try:
                    seconds = fut.result()
                    print(f"  {task.label}: {seconds:.0f} s ({len(ended)}/{len(tasks)} done)",
                          flush=True)
                except Exception as err:
                    print(f"FAILED {task.label}: {type(err).__name__}: {str(err)[:2000]}",
                          file=sys.stderr, flush=True)
                    failed.append(task.label)
            if not done:
                print(f"  {title}: {len(ended)}/{len(tasks)} done after {time.time() - t0:.0f} s",
                      flush=True)
    print(f"  {title}: {time.time() - t0:.0f} s", flush=True)
    return failed


def grid_tasks(cache_dir: Path, grids=None, kappas=None, xis=None, after=()) -> list[Task]:
    """The grids ``grids`` ((experiment, grouping) pairs; None: :func:`standard_grids`) as
    pool tasks, largest first (a fit's cost grows with the square of the source samples),
    each started after the tasks labelled ``after``."""
    from tgsr_lib.data import protocols

    grids = standard_grids() if grids is None else list(grids)
    numbers = sorted({n for n, _ in grids})
    # the features are fetched (and checked) here, once, before the workers read them
    size = dict(zip(numbers, _source_sizes(numbers), strict=True))
    grids.sort(key=lambda g: -size[g[0]])
    return [Task(f"grid {protocols.get_experiment(n).label} {g}", _grid_worker,
                 (n, g, str(cache_dir), kappas, xis), tuple(after)) for n, g in grids]


def recompute_grids(cache_dir: Path, jobs: int | None, every: float = 60.0, grids=None,
                    kappas=None, xis=None) -> list[str]:
    """The grids ``grids`` ((experiment, grouping) pairs; None: :func:`standard_grids`)
    recomputed into ``cache_dir`` by ``jobs`` worker processes (None: :func:`auto_jobs`),
    largest first; ``kappas`` and ``xis`` (None: the paper's) pick a sub-grid, for a quick
    check. Prints a line per finished grid and a status line every ``every`` seconds.
    Returns the labels of the grids that failed."""
    n = len(standard_grids() if grids is None else grids)
    jobs = auto_jobs(n) if jobs is None else min(jobs, n)
    threads = worker_threads(jobs)
    print(f"recomputing {n} grids in {jobs} worker process(es) x {threads} thread(s), "
          "largest first", flush=True)
    return run_pool(grid_tasks(cache_dir, grids, kappas, xis), jobs, every, "grids", threads)


#: Notebooks that read no grid (they run beside the grids in a whole ``--recompute`` run).
NO_GRIDS = ("00_", "01_", "06_", "11_")
#: Notebook 10 recomputes tables of its own (:func:`_claims_worker`).
CLAIMS = "10_"


def whole_run(folder: Path, out: Path, extra: dict, jobs: int | None) -> tuple[list, list]:
    """A whole ``--recompute`` run, ``jobs`` tasks at a time (None: :func:`auto_jobs`), in
    the order a free place takes them: the grid engine compiled into numba's cache
    (:func:`_compile_engine`) and, meanwhile, the notebooks that read no grid
    (:data:`NO_GRIDS`); the twelve grids (largest first) and notebook 10's own tables
    (:func:`_claims_worker`), both after the compilation, in worker processes; once every grid
    and table has ended, the other notebooks, notebook 10 first. The notebooks and the
    compilation run in processes of their own (:func:`_notebook_process`). Returns the labels
    of the failed tasks that are not notebooks, and of the failed notebooks."""
    from tgsr_lib.data import protocols

    found = notebooks(folder)
    jobs = auto_jobs(len(standard_grids())) if jobs is None else jobs
    threads = worker_threads(jobs)

    def nb_task(nb: Path, after=()) -> Task:
        params = {k: v for k, v in extra.items() if k in declared_parameters(nb)}
        return Task(nb.name, _notebook_process,
                    (str(nb), str(out / nb.name), params, str(folder), threads), tuple(after),
                    spawns=True)

    grids = grid_tasks(folder / "cache" / "grids", after=(COMPILE,))
    tables = []
    if any(nb.name.startswith(CLAIMS) for nb in found):
        tables = [Task(f"notebook 10's tables of {protocols.get_experiment(n).label}",
                       _claims_worker, (n, str(folder / "cache")), (COMPILE,))
                  for n in protocols.COMPUTABLE]
    early = [nb_task(nb) for nb in found if nb.name.startswith(NO_GRIDS)]
    before = tuple(t.label for t in grids + tables)
    late = [nb_task(nb, before)
            for nb in sorted((nb for nb in found if not nb.name.startswith(NO_GRIDS)),
                             key=lambda nb: (not nb.name.startswith(CLAIMS), nb.name))]
    compile_task = Task(COMPILE, _compile_engine, (grids[0].args[0], threads), spawns=True)
    tasks = [compile_task] + early + grids + tables + late
    print(f"recomputing {len(grids)} grids (largest first) and notebook 10's tables, and "
          f"running {len(found)} notebooks, {jobs} at a time, {threads} thread(s) each",
          flush=True)
    failed = run_pool(tasks, jobs, title="grids, tables and notebooks", threads=threads)
    return ([f for f in failed if not f.endswith(".ipynb")],
            [f for f in failed if f.endswith(".ipynb")])


def run_in_turn(found: list[Path], out: Path, extra: dict, folder: Path) -> list[str]:
    """Run the notebooks ``found`` one after the other; returns the names of those that
    failed (each failure is printed)."""
    failed = []
    for nb in found:
        params = {k: v for k, v in extra.items() if k in declared_parameters(nb)}
        print(f"running {nb.name} {params or ''}", flush=True)
        try:
            seconds = _notebook_worker(str(nb), str(out / nb.name), params, str(folder))
            print(f"  {nb.name}: {seconds:.0f} s", flush=True)
        except Exception as err:  # report every failing notebook, then fail
            print(f"FAILED {nb.name}: {type(err).__name__}: {str(err)[:2000]}", file=sys.stderr)
            failed.append(nb.name)
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

    require("papermill", "running the notebooks")
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
    try:
        if args.recompute and not args.only and not args.parameter:
            failed_grids, failed = whole_run(folder, out, extra, args.jobs)
        else:
            failed = run_in_turn(notebooks(folder, args.only), out, extra, folder)
    except KeyboardInterrupt:
        print("interrupted: the same command resumes the grids from their checkpoints",
              file=sys.stderr)
        return 130
    print(f"executed notebooks in {out} in {time.time() - start:.0f} s; figures in "
          f"{folder.parent / 'figures'}")
    if failed_grids:
        print(f"{len(failed_grids)} task(s) before the notebooks failed (the notebooks "
              f"computed what they needed again): {', '.join(failed_grids)}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
    if failed or failed_grids:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
