"""Grids on disk, keyed by everything that changes their values (what the notebooks use).

A cached grid's file name holds the first 16 hex digits of its key
(:func:`~tgsr_lib.experiments.keys.fingerprint`: features and labels, kappas, xis, the feature
groups, engine, the solver constants with the defaults filled in, and ``GRID_VERSION``), so a
grid computed with other options (``tol=1e-3``, another engine, other groups...) never answers
for the default one. ``n_slots`` does not change any value and does not enter the key.

Any features and groups work as in :func:`~tgsr_lib.experiments.runner.compute_grid`; custom
groups are named ``custom`` in the file name and enter the key by their layout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from tgsr_lib.experiments.io import read_grid
from tgsr_lib.experiments.runner import GridJob, Grouping, prepare_grid, run_grid

DEFAULT_DIR = "cache/grids"


def grid_cache_path(source, target, kappas=None, xis=None, grouping: Grouping = "authors",
                    cache_dir: str | os.PathLike = DEFAULT_DIR, engine: str = "fast",
                    **options) -> Path:
    """Where :func:`cached_grid` keeps this grid (every input is validated).

    The name is ``<source>_<target>_<grouping>_<key[:16]>.csv.gz`` (``<grouping>`` is
    ``authors``, ``blocks``, ``features`` or ``custom``); the key covers everything that
    affects the values (see the module docstring). ``grouping`` and ``options`` are those of
    :func:`~tgsr_lib.experiments.runner.compute_grid`.
    """
    job = prepare_grid(source, target, kappas, xis, grouping, engine, options,
                       confirm_large=True)
    return _path(job, source, target, cache_dir)


def _path(job: GridJob, source, target, cache_dir) -> Path:
    if not isinstance(cache_dir, (str, os.PathLike)) or not os.fspath(cache_dir):
        raise ValueError(f"cache_dir={cache_dir!r}: give a folder path")
    name = f"{_label(source)}_{_label(target)}_{job.grouping_name}_{job.key[:16]}.csv.gz"
    return Path(cache_dir) / name


def _label(spec) -> str:
    if isinstance(spec, tuple):
        return "features"
    return Path(str(spec)).stem if Path(str(spec)).suffix else str(spec)


def cached_grid(source, target, kappas=None, xis=None, grouping: Grouping = "authors",
                cache_dir: str | os.PathLike = DEFAULT_DIR, recompute: bool = False,
                progress: bool | None = None, engine: str = "fast",
                confirm_large: bool = False, **options) -> pd.DataFrame:
    """:func:`~tgsr_lib.experiments.runner.compute_grid` with an on-disk cache (what the
    notebooks use).

    A grid is read from ``cache_dir`` when a file with the same key exists (see
    :func:`grid_cache_path`), else computed (resumable: interrupted runs leave a checkpoint
    beside the cache file) and saved. ``recompute=True`` ignores the cache, except a file
    written since the time in the environment variable ``TGSR_RECOMPUTED_SINCE`` (seconds
    since the epoch; ``python -m tgsr_lib.reproduce --recompute`` sets it to its start, so the
    notebooks that read the same grid share one recomputation of it). ``engine`` and
    ``options`` (``mu0, rho, mu_max, tol, max_iter, n_slots``) are passed to the engine and,
    except ``n_slots``, are part of the key.
    """
    job = prepare_grid(source, target, kappas, xis, grouping, engine, options, confirm_large)
    path = _path(job, source, target, cache_dir)
    if path.is_file() and (not recompute or recomputed_this_run(path)):
        return read_grid(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return run_grid(job, out=path, progress=progress)


RECOMPUTED_SINCE = "TGSR_RECOMPUTED_SINCE"


def recomputed_this_run(path: str | os.PathLike) -> bool:
    """Was this cache file written during the current recomputation run, i.e. at or after the
    time (seconds since the epoch) in the environment variable ``TGSR_RECOMPUTED_SINCE``?
    False when the variable is unset."""
    since = os.environ.get(RECOMPUTED_SINCE)
    if not since:
        return False
    try:
        start = float(since)
    except ValueError:
        raise ValueError(f"{RECOMPUTED_SINCE}={since!r} is not a time: give seconds since the "
                         "epoch (python -m tgsr_lib.reproduce --recompute sets it), or unset "
                         "it") from None
    return Path(path).stat().st_mtime >= start


def cached_table(path: str | os.PathLike, compute, recompute: bool = False,
                 valid=None) -> pd.DataFrame:
    """A small table cached as CSV, with the grids' recomputation rule: the file at ``path``
    when it exists (and ``valid(table)`` holds, if given), else ``compute()`` written there
    atomically and read back. ``recompute=True`` ignores the file, except one written in the
    current recomputation run (:func:`recomputed_this_run`): ``python -m tgsr_lib.reproduce
    --recompute`` computes such tables beside the grids and the notebooks read them."""
    from tgsr_lib.experiments.io import write_csv_atomic

    path = Path(path)
    if path.is_file() and (not recompute or recomputed_this_run(path)):
        table = pd.read_csv(path)
        if valid is None or valid(table):
            return table
    table = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(table, path)
    return pd.read_csv(path)
