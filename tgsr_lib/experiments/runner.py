"""Run TGSR at every point of a grid.

:func:`compute_grid` evaluates TGSR at every (kappa, xi) point of one experiment, in three
steps that read top-down:

1. :func:`prepare_grid` validates every input (features and labels, feature groups, axes,
   engine and its options, the grid's size) and computes the grid's key
   (:func:`~tgsr_lib.experiments.keys.fingerprint`): a :class:`GridJob`;
2. :func:`run_grid` solves the points not yet finished, here (:func:`solve_points`: the fast
   engine :mod:`tgsr_lib.model.engine`, the GPU engine or the one-fit-at-a-time reference
   solver) or on a Dask cluster (:mod:`~tgsr_lib.experiments.distributed`), with progress on
   stderr (:mod:`~tgsr_lib.experiments.progress`) and checkpoints
   (:mod:`~tgsr_lib.experiments.checkpoint`) saved as points finish and on any error;
3. the grid is written atomically to ``out`` (:mod:`~tgsr_lib.experiments.io`).

Features of any dimension work, with any feature groups: the ``grouping`` of every function
here takes what :func:`~tgsr_lib.model.groups.resolve_groups` (and ``TGSR(groups=...)``)
takes: ``"authors"`` and ``"blocks"`` (the authors' 15,045-dimensional LBP-TOP vector),
``"features"`` (each feature its own group) or an integer array with one group id per feature.
kappa then counts groups of that layout (``1..K``; the default axis is all of them).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tgsr_lib.checks import (
    check_features,
    check_grid_size,
    check_label_kinds,
    check_labels,
    check_positive_int,
    check_source_target,
    check_xis,
)
from tgsr_lib.compare.metrics import score_classes, score_predictions
from tgsr_lib.data import layout
from tgsr_lib.data.datasets import load_features
from tgsr_lib.experiments import distributed, keys
from tgsr_lib.experiments import progress as progress_mod
from tgsr_lib.experiments.axes import grid_axes, grid_points
from tgsr_lib.experiments.checkpoint import Checkpoint
from tgsr_lib.experiments.io import check_writable, write_csv_atomic
from tgsr_lib.experiments.keys import ENGINES, fingerprint
from tgsr_lib.experiments.progress import Progress, size_estimate
from tgsr_lib.model.estimator import TGSR
from tgsr_lib.model.groups import GroupLayout, resolve_groups

__all__ = ["COLUMNS", "ENGINES", "GROUPING_NAMES", "GridJob", "best_row", "check_grouping",
           "compute_grid", "f1_column", "features_of", "prepare_grid", "run_grid",
           "solve_points"]

#: Columns of a grid, one row per point, kappa outer and xi inner. After them come ``uar``
#: (unweighted average recall) and ``f1_<class>`` for every class of the source and target
#: labels (:func:`f1_column`), e.g. ``f1_1, f1_2, f1_3`` for the authors' labels. Grids written
#: before these columns existed (the committed caches) hold only :data:`COLUMNS`; every reader
#: accepts both.
COLUMNS = ["kappa", "xi", "accuracy", "macro_f1", "n_iter"]


def f1_column(label) -> str:
    """The name of the per-class F1 column of class ``label``: ``f1_<label>``."""
    return f"f1_{label.item() if isinstance(label, np.generic) else label}"

#: The grouping names (any other grouping is an integer array, one group id per feature).
GROUPING_NAMES = (*layout.GROUPINGS, "features")

Grouping = str | np.ndarray  # a name of GROUPING_NAMES or one group id per feature


def compute_grid(source, target, kappas=None, xis=None, grouping: Grouping = "authors",
                 engine: str = "fast", out: str | os.PathLike | None = None,
                 progress: bool | None = None, client=None, chunk_size: int = 2760,
                 checkpoint_every: float = 20.0, progress_every: float | None = None,
                 confirm_large: bool = False, **engine_options) -> pd.DataFrame:
    """Accuracy, macro-F1, UAR and per-class F1 of TGSR at every (kappa, xi) point of
    one experiment.

    Parameters
    ----------
    source, target : database names (``"SMIC_VIS"``...) or feature file paths, or
        ``(X, y)`` / :class:`~tgsr_lib.data.datasets.Features` tuples ``(X, y, class_names)``.
        Labels are numbers or strings, the same kind in both.
    kappas, xis : grid values (default: kappa = 1..K, all group counts, and the paper's 276
        xi values; K = 85 for the authors' groupings).
    grouping : the feature groups (``groups=`` is accepted as an alias): ``"authors"``
        (default) or ``"blocks"`` for the authors' 15,045-dimensional features, ``"features"``
        (every feature its own group) or an integer array with one group id per feature
        (features of any dimension; see :func:`~tgsr_lib.model.groups.resolve_groups`).
    engine : ``"fast"`` (default, CPU), ``"gpu"`` (CuPy) or ``"reference"`` (one fit at a
        time).
    out : CSV path (a file, not a folder). When given, the result is written atomically and
        finished points are checkpointed to ``OUT.partial.npz`` (every ``checkpoint_every``
        seconds and on any error); a rerun with the same inputs resumes from it.
    progress : None (default): a bar when stderr is a terminal, else plain lines on stderr
        every ``progress_every`` seconds (default
        :data:`~tgsr_lib.experiments.progress.PROGRESS_EVERY`, 30) and at the end; True: a
        bar; False: silent. Unless silent, the run starts with its size and a rough
        duration, and says when it resumes from a checkpoint.
    client : a ``dask.distributed.Client``: chunks of ``chunk_size`` points run on its
        workers (identical results).
    confirm_large : compute grids of more than
        :data:`~tgsr_lib.checks.MAX_GRID_POINTS` points (refused otherwise).
    **engine_options : ``mu0, rho, mu_max, tol, max_iter`` (the IALM constants, the
        authors' by default) and ``n_slots`` (fits run side by side by the grid engines).

    Returns
    -------
    DataFrame with columns ``kappa, xi, accuracy, macro_f1, n_iter``, then ``uar`` and
    ``f1_<class>`` for every class of the source and target labels (sorted), kappa outer.

    Raises
    ------
    ValueError for any invalid input; errors of the run (``OSError`` of a full disk,
    ``KeyboardInterrupt``...) pass through after the finished points are checkpointed, with
    a note saying where (``err.__notes__``).
    """
    job = prepare_grid(source, target, kappas, xis, grouping, engine, engine_options,
                       confirm_large)
    return run_grid(job, out=out, progress=progress, client=client, chunk_size=chunk_size,
                    checkpoint_every=checkpoint_every, progress_every=progress_every)


@dataclass(frozen=True, eq=False)
class GridJob:
    """A validated grid: data, axes, groups, engine and options, and its key.

    ``grouping`` is the groups as the engines take them (a name or one group id per
    feature), ``layout`` their :class:`~tgsr_lib.model.groups.GroupLayout`.
    """

    Xs: np.ndarray
    ys: np.ndarray
    Xt: np.ndarray
    yt: np.ndarray
    kappas: np.ndarray
    xis: np.ndarray
    grouping: Grouping
    engine: str
    options: dict
    key: str
    desc: str
    layout: GroupLayout

    @property
    def grouping_name(self) -> str:
        """``"authors"``, ``"blocks"``, ``"features"`` or ``"custom"``."""
        return self.layout.name

    @property
    def n_points(self) -> int:
        """Points of the grid (kappas x xis)."""
        return self.kappas.size * self.xis.size

    @property
    def classes(self) -> np.ndarray:
        """The classes of the source and target labels, sorted: one ``f1_<class>`` column
        each."""
        return np.union1d(self.ys, self.yt)

    def estimate(self, n_points: int | None = None) -> str:
        """A rough duration of ``n_points`` (default: all) fits of this job."""
        n = self.n_points if n_points is None else n_points
        return size_estimate(n, self.engine, self.Xs.shape[0])


def prepare_grid(source, target, kappas=None, xis=None, grouping: Grouping = "authors",
                 engine: str = "fast", options: dict | None = None,
                 confirm_large: bool = False, *, groups_name: str | None = None) -> GridJob:
    """Validate the inputs of a grid and compute its key (see :func:`compute_grid`).

    ``options`` may hold ``groups`` (an alias of ``grouping``). ``groups_name`` says where
    the groups come from (e.g. ``"--groups g.npy"``) in the message when they do not fit the
    features.
    """
    options = dict(options or {})
    grouping = check_grouping(_grouping_alias(grouping, options))
    options = keys.engine_options(engine, options)
    if xis is not None:
        check_xis(xis)  # before loading anything (kappas need the groups)
    Xs, ys = features_of(source)
    Xt, yt = features_of(target)
    check_label_kinds(ys, yt)
    yt = check_labels(yt, check_features(Xt, "target features").shape[0], "target")
    Xs, ys, Xt, _ = check_source_target(Xs, ys, Xt, classes=np.union1d(ys, yt))
    groups = _layout(grouping, Xs.shape[1], groups_name)
    kappas, xis = grid_axes(kappas, xis, groups.n_groups)
    desc = f"grid {_name(source)} -> {_name(target)} ({_describe(groups)})"
    job = GridJob(Xs, ys, Xt, yt, kappas, xis, grouping, engine, options,
                  fingerprint(Xs, ys, Xt, yt, kappas, xis, groups, engine, options), desc,
                  groups)
    check_size(job.n_points, confirm_large, job.estimate())
    return job


def check_grouping(grouping) -> Grouping:
    """A grouping name of :data:`GROUPING_NAMES` (``None`` is ``"authors"``), or numeric
    group ids returned as a read-only copy (checked against the features later by
    :func:`~tgsr_lib.model.groups.resolve_groups`: one integer id per feature, or a 2-D array
    of the columns of each group)."""
    if grouping is None:
        return "authors"
    if isinstance(grouping, str):
        if grouping not in GROUPING_NAMES:
            raise ValueError(f"unknown grouping {grouping!r}: use one of "
                             f"{', '.join(GROUPING_NAMES)}, or an integer array with one group "
                             "id per feature")
        return grouping
    if isinstance(grouping, GroupLayout):
        raise ValueError("give the groups as a name or one group id per feature, not a "
                         "GroupLayout (e.g. layout.group_of_feature())")
    arr = np.asarray(grouping)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"groups must be integer group ids, one per feature (got dtype "
                         f"{arr.dtype}), or one of the names {', '.join(GROUPING_NAMES)}")
    arr = np.array(arr)  # a private copy: the caller may change theirs
    arr.flags.writeable = False
    return arr


def _grouping_alias(grouping, options: dict):
    """``groups=`` (TGSR's name) is accepted for ``grouping=``; giving both is an error."""
    if "groups" not in options:
        return grouping
    groups = options.pop("groups")
    if not (isinstance(grouping, str) and grouping == "authors"):
        raise ValueError("give the feature groups once: grouping= or its alias groups=, not "
                         "both")
    return groups


def _layout(grouping: Grouping, n_features: int, where: str | None) -> GroupLayout:
    try:
        return resolve_groups(grouping, n_features)
    except ValueError as err:
        if where is None:
            raise
        raise ValueError(f"{where}: {err}") from None


def _describe(groups: GroupLayout) -> str:
    if groups.name in layout.GROUPINGS:
        return groups.name
    return f"{groups.name}, {groups.n_groups} groups"


def check_size(n_points: int, confirm_large: bool, estimate: str) -> None:
    """:func:`~tgsr_lib.checks.check_grid_size` with the rough duration in the message."""
    try:
        check_grid_size(n_points, confirm_large)
    except ValueError as err:
        raise ValueError(f"{err}; {estimate}") from None


def run_grid(job: GridJob, out: str | os.PathLike | None = None, progress: bool | None = None,
             client=None, chunk_size: int = 2760, checkpoint_every: float = 20.0,
             progress_every: float | None = None) -> pd.DataFrame:
    """Compute a prepared grid (see :func:`compute_grid` for the parameters)."""
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    for name, value in (("checkpoint_every", checkpoint_every),
                        ("progress_every", progress_every)):
        if value is not None and not (isinstance(value, (int, float)) and value >= 0):
            raise ValueError(f"{name}={value!r} is out of range: give seconds >= 0")
    out = None if out is None else check_writable(out)
    kk, xx = grid_points(job.kappas, job.xis)
    ckpt = Checkpoint(out, job.key, kk.size, checkpoint_every, n_classes=job.classes.size)
    todo = np.flatnonzero(~ckpt.done)
    every = progress_mod.PROGRESS_EVERY if progress_every is None else progress_every
    bar = Progress(kk.size, ckpt.resumed, progress, job.desc, every)
    bar.start(job.engine, job.Xs.shape[0], ckpt.path)
    try:
        if client is None:
            _run_local(job, kk, xx, todo, ckpt, bar)
        else:
            _run_dask(client, job, kk, xx, todo, ckpt, bar, chunk_size)
        df = pd.DataFrame({"kappa": kk, "xi": xx, "accuracy": ckpt.acc, "macro_f1": ckpt.f1,
                           "n_iter": ckpt.n_iter, "uar": ckpt.uar,
                           **{f1_column(c): ckpt.f1_class[:, j]
                              for j, c in enumerate(job.classes)}})
        if not ckpt.converged.all():
            warnings.warn(f"{int((~ckpt.converged).sum())} grid points stopped at the "
                          "iteration limit without converging", RuntimeWarning, stacklevel=3)
        if out is not None:
            _write(df, out)
    except BaseException as err:  # Ctrl-C, engine or worker errors, a full disk: keep the work
        bar.close(ok=False)
        _add_note(err, ckpt.save_after_error())
        raise
    bar.close()
    ckpt.remove()
    return df


def _write(df: pd.DataFrame, out: Path) -> None:
    try:
        write_csv_atomic(df, out)
    except OSError as err:
        if err.errno is None:
            raise
        raise type(err)(err.errno, f"cannot write {out}: {err.strerror}") from err


def _add_note(err: BaseException, note: str) -> None:
    if hasattr(err, "add_note"):
        err.add_note(note)
    else:  # Python 3.10
        err.__notes__ = [*getattr(err, "__notes__", []), note]


def solve_points(Xs, ys, Xt, kappas, xis, grouping: Grouping = "authors",
                 engine: str = "fast", on_result: Callable | None = None, **engine_options):
    """Predictions on the target for each (kappas[p], xis[p]).

    ``grouping`` as in :func:`compute_grid` (a name or one group id per feature). Returns
    ``(pred (P, Nt), n_iter (P,), converged (P,))``. ``on_result(positions, pred, n_iter,
    converged)`` is called as fits finish. Engines: ``"fast"`` (CPU, numba), ``"gpu"``
    (CuPy), ``"reference"`` (one fit at a time with :class:`TGSR`, ``TGSR(k, x, grouping)``);
    options as in :func:`compute_grid`.
    """
    options = keys.engine_options(engine, engine_options)
    if engine in ("fast", "gpu"):
        from tgsr_lib.model.driver import solve_many
        from tgsr_lib.model.problem import GridProblem

        problem = GridProblem(Xs, ys, Xt, grouping)
        return solve_many(problem, kappas, xis, backend="numba" if engine == "fast" else "array",
                          on_result=on_result, **options)
    pred = np.zeros((len(kappas), len(Xt)), dtype=np.asarray(ys).dtype)
    n_iter = np.zeros(len(kappas), dtype=np.int64)
    converged = np.zeros(len(kappas), dtype=bool)
    for p, (k, x) in enumerate(zip(kappas, xis, strict=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = TGSR(k, x, grouping, **options).fit(Xs, ys, Xt)
        pred[p] = model.predict(Xt)
        n_iter[p] = model.n_iter_
        converged[p] = model.converged_
        if on_result is not None:
            on_result(np.array([p]), pred[p:p + 1], n_iter[p:p + 1], converged[p:p + 1])
    return pred, n_iter, converged


def features_of(spec) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a database name, a feature file path, or an ``(X, y, ...)`` tuple."""
    if isinstance(spec, tuple):
        if len(spec) < 2:
            raise ValueError("a features tuple must be (X, y) or (X, y, class_names)")
        X = np.asarray(spec[0])
        if X.dtype.kind in "biuf":  # anything else: checked (and named) by the caller
            X = X.astype(np.float64, copy=False)
        return X, np.asarray(spec[1]).ravel()
    if isinstance(spec, (str, os.PathLike)):
        f = load_features(os.fspath(spec))
        return f.X, f.y
    raise ValueError(f"expected a database name, a feature file or (X, y, ...), "
                     f"not {type(spec).__name__}")


def _name(spec) -> str:
    if isinstance(spec, tuple):
        return "features"
    return Path(os.fspath(spec)).name if isinstance(spec, os.PathLike) else str(spec)


#: Finished fits are scored and recorded together, up to this many (:func:`_run_local`) ...
SCORE_BATCH = 512
#: ... or after this many seconds. The grid engines (``fast``, ``gpu``) finish a few fits per
#: iteration, and scoring and recording a handful cost as much as hundreds: Exp.5 at every
#: 8th kappa, one thread, 2,218 calls of 1.4 fits each took 1.36 s of the 17.6 s. The
#: ``reference`` engine's fits, one at a time, are recorded as each finishes.
SCORE_EVERY = 1.0


def _run_local(job: GridJob, kk, xx, todo, ckpt: Checkpoint, bar: Progress) -> None:
    """Solve the points ``todo``, scoring and checkpointing fits as they finish, in batches
    (:data:`SCORE_BATCH`, :data:`SCORE_EVERY`); the fits finished when an error stops the
    run are recorded too."""
    if todo.size == 0:
        return

    classes = job.classes
    batch = SCORE_BATCH if job.engine in ("fast", "gpu") else 1
    held = []  # (pos, pred, n_iter, converged) of finished fits not yet recorded
    n_held, last = 0, time.monotonic()

    def record():
        nonlocal n_held, last
        if held:
            pos, pred, n_iter, converged = (np.concatenate(a) for a in zip(*held, strict=True))
            held.clear()
            acc, f1 = score_predictions(job.yt, pred)
            uar, f1_class = score_classes(job.yt, pred, classes)
            ckpt.record(todo[pos], acc, f1, uar, f1_class, n_iter, converged)
            bar.update(len(pos))
        n_held, last = 0, time.monotonic()

    def on_result(pos, pred, n_iter, converged):
        nonlocal n_held
        held.append((pos, pred, n_iter, converged))
        n_held += len(pos)
        if n_held >= batch or time.monotonic() - last >= SCORE_EVERY:
            record()

    try:
        solve_points(job.Xs, job.ys, job.Xt, kk[todo], xx[todo], job.grouping, job.engine,
                     on_result=on_result, **job.options)
    finally:
        record()


def _chunk_task(Xs, ys, Xt, yt, kappas, xis, grouping, engine, options):
    pred, n_iter, conv = solve_points(Xs, ys, Xt, kappas, xis, grouping, engine, **options)
    acc, f1 = score_predictions(yt, pred)
    uar, f1_class = score_classes(yt, pred, np.union1d(ys, yt))
    return acc, f1, uar, f1_class, n_iter, conv


def _run_dask(client, job: GridJob, kk, xx, todo, ckpt: Checkpoint, bar: Progress,
              chunk_size: int) -> None:
    def on_chunk(idx, result):
        ckpt.record(idx, *result)
        bar.update(idx.size)

    distributed.run_chunks(client, _chunk_task, [job.Xs, job.ys, job.Xt, job.yt], kk, xx, todo,
                           chunk_size, (job.grouping, job.engine, job.options), on_chunk)


def best_row(df: pd.DataFrame, by: str = "macro_f1") -> pd.Series:
    """The first row with the highest ``by`` (the authors' selection rule)."""
    if not isinstance(df, pd.DataFrame) or by not in df.columns or df.empty:
        raise ValueError(f"best_row needs a non-empty grid DataFrame with a {by!r} column")
    return df.loc[df[by].idxmax()]

