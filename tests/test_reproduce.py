"""``python -m tgsr_lib.reproduce``: the grid phase of a whole ``--recompute`` run."""

import argparse
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from tgsr_lib import reproduce
from tgsr_lib.data import protocols
from tgsr_lib.experiments import cache
from tgsr_lib.experiments.cache import cached_grid, grid_cache_path

from .conftest import requires_data

GRIDS = Path(__file__).resolve().parents[1] / "notebooks" / "cache" / "grids"


def test_jobs_option():
    assert reproduce.check_jobs("auto") is None
    assert reproduce.check_jobs("3") == 3
    for bad in ("0", "-2", "two"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive number of worker"):
            reproduce.check_jobs(bad)
    assert 1 <= reproduce.auto_jobs(12) <= 12
    assert reproduce.auto_jobs(1) == 1


def test_bad_jobs_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        reproduce.main(["--recompute", "--jobs", "0"])
    assert exc.value.code == 2
    assert "--jobs '0': give a positive number" in capsys.readouterr().err


def test_standard_grids_are_the_committed_ones():
    """The grid phase computes exactly the twelve grids committed for the notebooks."""
    grids = reproduce.standard_grids()
    assert len(grids) == len(set(grids)) == 12
    assert {n for n, _ in grids} == set(protocols.COMPUTABLE)
    assert {g for _, g in grids} == {"authors", "blocks"}


def test_pool_task_returns_its_seconds_or_raises():
    """A pool task's value and errors pass through the heap trim that follows it."""
    assert reproduce._run_task(lambda a, b: a + b, 1.5, 2.0) == 3.5

    def broken():
        raise KeyError("no such grid")

    with pytest.raises(KeyError, match="no such grid"):
        reproduce._run_task(broken)


@requires_data
def test_grid_phase_recomputes_in_workers_and_the_notebooks_read_it(tmp_path, monkeypatch):
    """Two worker processes recompute two sub-grids into the cache; a notebook's
    ``cached_grid(recompute=True)`` in the same run then reads them, and their values equal
    the committed grids at those points."""
    kappas, xis = [1, 12, 85], [0.01, 44.0]
    grids = [(11, "blocks"), (5, "authors")]
    monkeypatch.setenv(cache.RECOMPUTED_SINCE, repr(time.time()))
    failed = reproduce.recompute_grids(tmp_path, jobs=2, grids=grids, kappas=kappas, xis=xis)
    assert failed == []
    runs = []
    monkeypatch.setattr(cache, "run_grid", lambda *a, **k: runs.append(1))
    for n, grouping in grids:
        exp = protocols.get_experiment(n)
        got = cached_grid(exp.source, exp.target, kappas, xis, grouping=grouping,
                          cache_dir=tmp_path, recompute=True)
        full = pd.read_csv(grid_cache_path(exp.source, exp.target, grouping=grouping,
                                           cache_dir=GRIDS))
        full = full.drop_duplicates(["kappa", "xi"])  # the paper's xi list holds 0.01 twice
        want = full.merge(got[["kappa", "xi"]], on=["kappa", "xi"])
        assert len(want) == len(got) == 6
        for col in ("accuracy", "macro_f1", "n_iter"):
            assert (got.sort_values(["kappa", "xi"])[col].values
                    == want.sort_values(["kappa", "xi"])[col].values).all(), (n, col)
    assert runs == []
    assert not list(tmp_path.glob("*.ckpt*")), os.listdir(tmp_path)


def test_papermill_reads_every_parameters_cell():
    """papermill parses each notebook's parameters cell into the names reproduce passes (a
    line it cannot parse, e.g. an ``=`` inside a comment, would make it warn that the
    parameter is unknown)."""
    pm = pytest.importorskip("papermill")
    for nb in reproduce.notebooks(Path(__file__).resolve().parents[1] / "notebooks"):
        seen = set(pm.inspect_notebook(str(nb)))
        assert seen == reproduce.declared_parameters(nb), nb.name


def test_notebooks_beside_the_grids_read_no_grid():
    """A whole run starts the notebooks of ``NO_GRIDS`` beside the grids, before those are
    recomputed: none of them may read a grid (or take ``recompute``); all the others run
    after the grids."""
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    found = reproduce.notebooks(folder)
    early = [nb for nb in found if nb.name.startswith(reproduce.NO_GRIDS)]
    assert len(early) == len(reproduce.NO_GRIDS)
    readers = ("experiment_grid", "cached_grid", "read_grid", "compute_grid", "cache/grids",
               "Explorer", "explorer", "selection_cache", "ablations")
    for nb in early:
        text = nb.read_text()
        assert "recompute" not in reproduce.declared_parameters(nb), nb.name
        assert not [r for r in readers if r in text], nb.name
    assert any(nb.name.startswith(reproduce.CLAIMS) for nb in found)


@requires_data
def test_whole_run_plans_grids_tables_then_notebooks(tmp_path, monkeypatch):
    """A whole ``--recompute`` run is one pool: the engine's compilation and the notebooks
    that read no grid first, both in processes of their own; the twelve grids largest first
    (the 130-source ones before the 71-source ones) and notebook 10's tables of every
    computable experiment after the compilation, in the workers; every other notebook after
    all grids and tables, notebook 10 first. Each notebook gets only the parameters it
    declares and the workers' thread count."""
    calls = []
    monkeypatch.setattr(reproduce, "run_pool",
                        lambda tasks, jobs, **kw: calls.append((list(tasks), jobs, kw)) or [])
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    failed = reproduce.whole_run(folder, tmp_path, {"recompute": True}, jobs=2)
    assert failed == ([], [])
    [(tasks, jobs, kw)] = calls
    assert jobs == 2 and kw["threads"] == reproduce.worker_threads(2)
    nbs = [t for t in tasks if t.fn is reproduce._notebook_process]
    early = [t for t in nbs if not t.after]
    late = [t for t in nbs if t.after]
    assert tasks[0].fn is reproduce._compile_engine and tasks[0].after == ()
    assert tasks[1:1 + len(early)] == early
    grids = [t for t in tasks if t.fn is reproduce._grid_worker]
    assert len(grids) == 12 and grids == tasks[1 + len(early):13 + len(early)]
    assert {t.args[0] for t in grids[:4]} == {9, 11}  # CASME2 (130 samples) as source
    assert tasks[0].args == (grids[0].args[0], kw["threads"])
    tables = [t for t in tasks if t.fn is reproduce._claims_worker]
    assert [t.args[0] for t in tables] == list(protocols.COMPUTABLE)
    assert all(t.after == (reproduce.COMPILE,) and not t.spawns for t in grids + tables)
    assert all(t.spawns for t in nbs + [tasks[0]])
    assert early and all(Path(t.args[0]).name.startswith(reproduce.NO_GRIDS) for t in early)
    assert Path(late[0].args[0]).name.startswith(reproduce.CLAIMS)
    assert all(set(t.after) == {g.label for g in grids + tables} for t in late)
    assert tasks[-len(late):] == late
    assert sorted(Path(t.args[0]).name for t in nbs) == \
        [nb.name for nb in reproduce.notebooks(folder)]
    for t in nbs:
        assert set(t.args[2]) == {"recompute"} & reproduce.declared_parameters(
            Path(t.args[0]))
        assert t.args[4] == kw["threads"]


class _ThreadPool:
    """``ProcessPoolExecutor``'s interface on threads, for the pool's order alone (the
    workers' initializer, which sets the process's thread counts, is not run); its
    shutdown is logged."""

    log: list = []

    def __init__(self, max_workers, mp_context=None, initializer=None, initargs=()):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.pool.__exit__(*exc)

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def shutdown(self):
        self.log.append(("shutdown", "workers"))
        self.pool.shutdown()


def test_pool_starts_a_task_after_those_it_waits_for(monkeypatch, capsys):
    """A free place takes the first task, in the order given, whose ``after`` tasks have
    ended; a failed task counts as ended; the workers are shut down once only tasks that
    start their own process are left; a task that waits for an unknown label is an error
    before anything runs."""
    import concurrent.futures
    import threading

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _ThreadPool)
    log, lock = [], threading.Lock()
    _ThreadPool.log = log

    def work(label, seconds, fail=False):
        with lock:
            log.append(("start", label))
        time.sleep(seconds)
        with lock:
            log.append(("end", label))
        if fail:
            raise RuntimeError(f"{label} broke")
        return seconds

    T = reproduce.Task
    tasks = [T("compile", work, ("compile", 0.5), spawns=True),
             T("big", work, ("big", 0.3), ("compile",)),
             T("small", work, ("small", 0.05, True), ("compile",)),
             T("free 1", work, ("free 1", 0.05), spawns=True),
             T("free 2", work, ("free 2", 0.05), spawns=True),
             T("late", work, ("late", 0.01), ("big", "small"), spawns=True)]
    failed = reproduce.run_pool(tasks, 2, every=0.05, title="test")
    assert failed == ["small"]
    assert "FAILED small: RuntimeError: small broke" in capsys.readouterr().err
    order = [label for what, label in log if what == "start"]
    assert order[:3] == ["compile", "free 1", "free 2"]  # the free tasks fill the wait
    assert set(order[3:5]) == {"big", "small"} and order[5] == "late"
    position = {e: k for k, e in enumerate(log)}
    for t in tasks:
        for a in t.after:
            assert position[("end", a)] < position[("start", t.label)], (a, t.label)
    assert position[("end", "big")] < position[("shutdown", "workers")] < \
        position[("start", "late")]
    with pytest.raises(ValueError, match="unknown \\['nothing'\\]"):
        reproduce.run_pool([T("x", work, ("x", 0), ("nothing",))], 1)


def test_processes_of_their_own_get_the_thread_count_and_report_errors(tmp_path):
    """The compilation and the notebooks of a whole run run in processes of their own with
    the workers' thread count; a failure raises with the end of the process's error output;
    a notebook runs through papermill with its parameters (its kernel imports nothing of ours)."""
    code = "import os, sys; assert os.environ['NUMBA_NUM_THREADS'] == sys.argv[1]"
    assert reproduce._run_python(code, ["3"], 3, "threads") >= 0
    with pytest.raises(RuntimeError, match="(?s)boom failed \\(exit 1\\).*went wrong"):
        reproduce._run_python("raise SystemExit('went wrong')", [], 1, "boom")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("papermill")
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import sys\n"
                                          "assert 'tgsr_lib' not in sys.modules\n"
                                          "y = x * 2")]
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    reproduce._notebook_process(str(src), str(out), {"x": 21}, str(tmp_path), 1)
    done = nbformat.read(out, as_version=4)
    assert "x = 21" in done.cells[1].source  # papermill's injected parameters
    nb.cells[1].source = "raise ValueError('bad cell')"
    nbformat.write(nb, src)
    with pytest.raises(RuntimeError, match="(?s)papermill on in.ipynb failed.*bad cell"):
        reproduce._notebook_process(str(src), str(out), {}, str(tmp_path), 1)
