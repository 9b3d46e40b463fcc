"""The paper's hyperparameter grid: kappa = 1..85 x 276 xi values per experiment.

:func:`compute_grid` evaluates TGSR at every (kappa, xi) point of one experiment with the fast
engine (:mod:`tgsr_lib.engine`) or the one-fit-at-a-time reference solver, optionally on a
Dask cluster, with a progress bar, checkpoints and resume. :func:`cached_grid` keeps results
on disk keyed by everything that affects them, for the notebooks.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import layout
from .datasets import load_features
from .metrics import score_predictions
from .tgsr import MU0, MU_MAX, RHO, TGSR, TOL, check_kappa, check_source_target, check_xi

ENGINES = ("fast", "reference", "gpu")
COLUMNS = ["kappa", "xi", "accuracy", "macro_f1", "n_iter"]
#: Bump when a change of the engines could change any grid value (invalidates caches).
GRID_VERSION = "1"

#: The paper's xi list as MATLAB ranges (start, step, stop); joins are kept twice.
XI_RANGES = ((0.001, 0.0002, 0.01), (0.01, 0.002, 0.1), (0.1, 0.02, 1.0), (1.0, 0.2, 10.0),
             (10.0, 2.0, 100.0), (100.0, 20.0, 1000.0))


def matlab_colon(a: float, step: float, b: float) -> np.ndarray:
    """``a:step:b`` with MATLAB's rounding: the first half counts up from ``a``, the second
    half down from ``b``, an even count's midpoint is ``(a + b) / 2``. Bit-identical to the
    xi values stored in the authors' records."""
    n = int(np.floor((b - a) / step + 1e-10))
    k = np.arange(n + 1)
    out = np.empty(n + 1)
    half = n // 2
    out[: half + 1] = a + k[: half + 1] * step
    out[half + 1:] = b - (n - k[half + 1:]) * step
    if n % 2 == 0:
        out[half] = (a + b) / 2
    return out


def paper_xis() -> np.ndarray:
    """The 276 xi values of the paper's grid, in the authors' order (271 distinct)."""
    return np.concatenate([matlab_colon(*r) for r in XI_RANGES])


def paper_kappas() -> np.ndarray:
    """kappa = 1..85."""
    return np.arange(1, layout.N_GROUPS + 1)


def parse_kappa(spec: str) -> np.ndarray:
    """``"a:b"`` (inclusive), ``"1,5,12"``, or ``"paper"``/``"all"`` (1..85)."""
    spec = str(spec).strip()
    try:
        if spec.lower() in ("paper", "all"):
            values = paper_kappas()
        elif ":" in spec:
            a, b = (int(s) for s in spec.split(":"))
            if b < a:
                raise ValueError(f"empty range {spec!r}")
            values = np.arange(a, b + 1)
        else:
            values = np.array([int(s) for s in spec.split(",") if s.strip()])
    except ValueError as err:
        raise ValueError(
            f"bad kappa spec {spec!r}: use 'a:b' (inclusive), a comma list like '1,12,40', or "
            f"'paper' ({err})"
        ) from None
    if values.size == 0:
        raise ValueError(f"kappa spec {spec!r} gives no value")
    for k in values:
        check_kappa(k)
    return values.astype(np.int64)


def parse_xi(spec: str) -> np.ndarray:
    """``"paper"`` (the 276-value list) or a comma list like ``"0.1,1,44"``."""
    spec = str(spec).strip()
    if spec.lower() == "paper":
        return paper_xis()
    try:
        values = np.array([float(s) for s in spec.split(",") if s.strip()])
    except ValueError:
        raise ValueError(f"bad xi spec {spec!r}: use 'paper' or a comma list like '0.1,1,44'") \
            from None
    if values.size == 0:
        raise ValueError(f"xi spec {spec!r} gives no value")
    for x in values:
        check_xi(x)
    return values


def grid_axes(kappas=None, xis=None) -> tuple[np.ndarray, np.ndarray]:
    """Validated kappa (int) and xi (float) values of a grid; ``None`` gives the paper's."""
    kappas = paper_kappas() if kappas is None else np.atleast_1d(np.asarray(kappas)).ravel()
    xis = paper_xis() if xis is None else np.atleast_1d(np.asarray(xis, dtype=float)).ravel()
    if kappas.size == 0 or xis.size == 0:
        raise ValueError("empty kappa or xi list: give at least one value of each")
    kappas = np.array([check_kappa(k) for k in kappas], dtype=np.int64)
    xis = np.array([check_xi(x) for x in xis])
    return kappas, xis


def grid_points(kappas: Sequence[int], xis: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """All (kappa, xi) pairs, kappa outer and xi inner (the records' order)."""
    kappas = np.asarray(kappas, dtype=np.int64)
    xis = np.asarray(xis, dtype=np.float64)
    return np.repeat(kappas, xis.size), np.tile(xis, kappas.size)


def solve_points(Xs, ys, Xt, kappas, xis, grouping: str = "authors", engine: str = "fast",
                 on_result: Callable | None = None, **engine_options):
    """Predictions on the target for each (kappas[p], xis[p]).

    Returns ``(pred (P, Nt), n_iter (P,), converged (P,))``. Inputs are assumed validated
    (see :func:`compute_grid`). ``on_result(positions, pred, n_iter, converged)`` is called
    as fits finish.
    """
    if engine == "fast":
        from .engine import GridProblem, solve_many

        problem = GridProblem(Xs, ys, Xt, grouping)
        return solve_many(problem, kappas, xis, on_result=on_result, **engine_options)
    if engine == "gpu":
        from .engine import GridProblem
        from .gpu import solve_many_array

        problem = GridProblem(Xs, ys, Xt, grouping)
        return solve_many_array(problem, kappas, xis, on_result=on_result, **engine_options)
    if engine != "reference":
        raise ValueError(f"unknown engine {engine!r}: use one of {ENGINES}")
    import warnings

    pred = np.zeros((len(kappas), Xt.shape[0]), dtype=np.int64)
    n_iter = np.zeros(len(kappas), dtype=np.int64)
    converged = np.zeros(len(kappas), dtype=bool)
    for p, (k, x) in enumerate(zip(kappas, xis, strict=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = TGSR(int(k), float(x), grouping, **engine_options).fit(Xs, ys, Xt)
        pred[p] = model.predict(Xt)
        n_iter[p] = model.n_iter_
        converged[p] = model.converged_
        if on_result is not None:
            on_result(np.array([p]), pred[p:p + 1], n_iter[p:p + 1], converged[p:p + 1])
    return pred, n_iter, converged


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a CSV so that a crash never leaves a truncated file at ``path``."""
    path = Path(path)
    compression = "gzip" if path.suffix == ".gz" else None
    if compression:
        # fixed gzip mtime so that equal grids give byte-identical files
        compression = {"method": "gzip", "mtime": 0}
    _atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, compression=compression))


def _fingerprint(Xs, ys, Xt, yt, kappas, xis, grouping, engine, options) -> str:
    h = hashlib.sha256()
    for arr in (Xs, ys, Xt, yt, np.asarray(kappas, np.int64), np.asarray(xis, np.float64)):
        arr = np.ascontiguousarray(arr)
        h.update(str(arr.shape).encode() + str(arr.dtype).encode())
        h.update(arr.tobytes())
    h.update(json.dumps([grouping, engine, GRID_VERSION, MU0, RHO, MU_MAX, TOL,
                         sorted(options.items())], default=str).encode())
    return h.hexdigest()


class _Checkpoint:
    """Finished points of an interrupted grid, saved atomically next to the output."""

    def __init__(self, out: Path | None, key: str, n_points: int, every: float):
        self.path = None if out is None else out.with_name(out.name + ".partial.npz")
        self.key = key
        self.every = every
        self.done = np.zeros(n_points, dtype=bool)
        self.acc = np.zeros(n_points)
        self.f1 = np.zeros(n_points)
        self.n_iter = np.zeros(n_points, dtype=np.int64)
        self.converged = np.zeros(n_points, dtype=bool)
        self.last = time.monotonic()
        self.resumed = 0
        if self.path is not None and self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as z:
                    if str(z["key"]) == key and z["done"].size == n_points:
                        for name in ("done", "acc", "f1", "n_iter", "converged"):
                            setattr(self, name, z[name].copy())
                        self.resumed = int(self.done.sum())
            except (OSError, KeyError, ValueError):
                pass  # unreadable or stale checkpoint: start afresh

    def record(self, idx, acc, f1, n_iter, converged) -> None:
        self.done[idx] = True
        self.acc[idx] = acc
        self.f1[idx] = f1
        self.n_iter[idx] = n_iter
        self.converged[idx] = converged
        if self.path is not None and time.monotonic() - self.last >= self.every:
            self.save()

    def save(self) -> None:
        if self.path is None or not self.done.any():
            return

        def write(tmp):
            with open(tmp, "wb") as fh:
                np.savez(fh, key=np.array(self.key), done=self.done, acc=self.acc, f1=self.f1,
                         n_iter=self.n_iter, converged=self.converged)

        _atomic_write(self.path, write)
        self.last = time.monotonic()

    def remove(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()


def _progress_bar(total: int, initial: int, progress: bool | None, desc: str):
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, disable=not progress, desc=desc, unit="fit",
                smoothing=0.05)


def _chunk_task(Xs, ys, Xt, yt, kappas, xis, grouping, engine, options):
    pred, n_iter, conv = solve_points(Xs, ys, Xt, kappas, xis, grouping, engine, **options)
    acc, f1 = score_predictions(yt, pred)
    return acc, f1, n_iter, conv


def compute_grid(source, target, kappas=None, xis=None, grouping: str = "authors",
                 engine: str = "fast", out: str | os.PathLike | None = None,
                 progress: bool | None = None, client=None, chunk_size: int = 2760,
                 checkpoint_every: float = 20.0, **engine_options) -> pd.DataFrame:
    """Accuracy and macro-F1 of TGSR at every (kappa, xi) point of one experiment.

    Parameters
    ----------
    source, target : database names (``"SMIC_VIS"``...) or feature file paths, or
        :class:`~tgsr_lib.datasets.Features` tuples ``(X, y, class_names)``.
    kappas, xis : grid values (default: the paper's 1..85 and 276 xi values).
    grouping : ``"authors"`` or ``"blocks"``.
    engine : ``"fast"`` (default) or ``"reference"`` (one fit at a time).
    out : CSV path. When given, the result is written atomically and finished points are
        checkpointed to ``OUT.partial.npz``; a rerun with the same inputs resumes from it.
    progress : show a progress bar (default: when stderr is a terminal).
    client : a ``dask.distributed.Client``: chunks of ``chunk_size`` points run on its
        workers (identical results).

    Returns
    -------
    DataFrame with columns ``kappa, xi, accuracy, macro_f1, n_iter``, kappa outer.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use one of {ENGINES}")
    layout.check_grouping(grouping)
    Xs, ys = features_of(source)
    Xt, yt = features_of(target)
    Xs, ys, Xt, _ = check_source_target(Xs, ys, Xt, classes=np.union1d(ys, yt))
    kappas, xis = grid_axes(kappas, xis)
    kk, xx = grid_points(kappas, xis)
    out = None if out is None else Path(out)
    if out is not None:
        _check_writable(out)
    key = _fingerprint(Xs, ys, Xt, yt, kappas, xis, grouping, engine, engine_options)
    ckpt = _Checkpoint(out, key, kk.size, checkpoint_every)
    todo = np.flatnonzero(~ckpt.done)
    bar = _progress_bar(kk.size, ckpt.resumed, progress, f"{grouping} grid")
    try:
        if client is None:
            _run_local(Xs, ys, Xt, yt, kk, xx, todo, grouping, engine, engine_options, ckpt, bar)
        else:
            _run_dask(client, Xs, ys, Xt, yt, kk, xx, todo, grouping, engine, engine_options,
                      ckpt, bar, chunk_size)
    except BaseException:
        ckpt.save()  # Ctrl-C, kill via KeyboardInterrupt, worker errors: keep what is done
        raise
    finally:
        bar.close()
    if not ckpt.converged.all():
        import warnings

        warnings.warn(f"{int((~ckpt.converged).sum())} grid points stopped at the iteration "
                      "limit without converging", RuntimeWarning, stacklevel=2)
    df = pd.DataFrame({"kappa": kk, "xi": xx, "accuracy": ckpt.acc, "macro_f1": ckpt.f1,
                       "n_iter": ckpt.n_iter})
    if out is not None:
        write_csv_atomic(df, out)
        ckpt.remove()
    return df


def _check_writable(out: Path) -> None:
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"cannot write {out}: folder {folder} does not exist")
    if out.is_dir():
        raise ValueError(f"cannot write {out}: it is a folder, give a file name like grid.csv")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write {out}: folder {folder} is not writable")


def features_of(spec) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a database name, a feature file path, or an ``(X, y, ...)`` tuple."""
    if isinstance(spec, tuple):
        if len(spec) < 2:
            raise ValueError("a features tuple must be (X, y) or (X, y, class_names)")
        return np.asarray(spec[0], dtype=np.float64), np.asarray(spec[1]).ravel()
    if isinstance(spec, (str, os.PathLike)):
        f = load_features(str(spec))
        return f.X, f.y
    raise ValueError(f"expected a database name, a feature file or (X, y, ...), "
                     f"not {type(spec).__name__}")


def _run_local(Xs, ys, Xt, yt, kk, xx, todo, grouping, engine, options, ckpt, bar):
    """Solve the points ``todo``, scoring and checkpointing fits as they finish."""
    if todo.size == 0:
        return

    def on_result(pos, pred, n_iter, converged):
        acc, f1 = score_predictions(yt, pred)
        ckpt.record(todo[pos], acc, f1, n_iter, converged)
        bar.update(len(pos))

    solve_points(Xs, ys, Xt, kk[todo], xx[todo], grouping, engine, on_result=on_result,
                 **options)


def _run_dask(client, Xs, ys, Xt, yt, kk, xx, todo, grouping, engine, options, ckpt, bar,
              chunk_size):
    from dask.distributed import as_completed

    data = client.scatter([Xs, ys, Xt, yt], broadcast=True)
    futures = {}
    for start in range(0, todo.size, chunk_size):
        idx = todo[start:start + chunk_size]
        fut = client.submit(_chunk_task, *data, kk[idx], xx[idx], grouping, engine, options,
                            pure=False)
        futures[fut] = idx
    for fut in as_completed(futures):
        acc, f1, n_iter, conv = fut.result()
        idx = futures[fut]
        ckpt.record(idx, acc, f1, n_iter, conv)
        bar.update(idx.size)


def best_row(df: pd.DataFrame, by: str = "macro_f1") -> pd.Series:
    """The first row with the highest ``by`` (the authors' selection rule)."""
    return df.loc[df[by].idxmax()]


def read_grid(path: str | os.PathLike) -> pd.DataFrame:
    """Read a grid CSV (plain or .gz) with exact round-trip floats."""
    if int(pd.__version__.split(".")[0]) >= 3:  # pandas 3 parses floats exactly by default
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")


def grid_cache_path(source, target, kappas=None, xis=None, grouping: str = "authors",
                    cache_dir: str | os.PathLike = "cache/grids") -> Path:
    """Where :func:`cached_grid` keeps this grid: the name holds a hash of everything that
    affects the values (features and labels, kappas, xis, grouping, solver constants and
    :data:`GRID_VERSION`)."""
    Xs, ys = features_of(source)
    Xt, yt = features_of(target)
    kappas, xis = grid_axes(kappas, xis)
    key = _fingerprint(Xs, ys, Xt, yt, kappas, xis, grouping, "fast", {})
    name = f"{_label(source)}_{_label(target)}_{grouping}_{key[:16]}.csv.gz"
    return Path(cache_dir) / name


def _label(spec) -> str:
    if isinstance(spec, tuple):
        return "features"
    return Path(str(spec)).stem if Path(str(spec)).suffix else str(spec)


def cached_grid(source, target, kappas=None, xis=None, grouping: str = "authors",
                cache_dir: str | os.PathLike = "cache/grids", recompute: bool = False,
                progress: bool | None = None, **options) -> pd.DataFrame:
    """:func:`compute_grid` with an on-disk cache (what the notebooks use).

    A grid is read from ``cache_dir`` when a file with the same key exists (see
    :func:`grid_cache_path`), else computed with the fast engine (resumable) and saved.
    ``recompute=True`` ignores the cache.
    """
    path = grid_cache_path(source, target, kappas, xis, grouping, cache_dir)
    if path.is_file() and not recompute:
        return read_grid(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return compute_grid(source, target, kappas, xis, grouping=grouping, out=path,
                        progress=progress, **options)
