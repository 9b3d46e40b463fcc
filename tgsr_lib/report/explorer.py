"""An interactive explorer of TGSR's grid (ipywidgets): pick an experiment, kappa, xi and the
grouping; see the groups kept on a face, the confusion matrix on the target, the grid's
macro-F1 heatmap with the point marked, and the curves through the point along kappa and xi
beside the paper's and the authors' recorded values.

Accuracy and macro-F1 of the whole grid come from the cached grid (notebooks/cache/grids, read
once per task); the current point's kept groups and predictions come from one fit of the fast
engine (:func:`tgsr_lib.model.solve_many`, one slot), cached per point
(``benchmarks/explorer_speed.py`` times an update against its 0.3 s target).

:func:`render` draws one state without widgets (pure, used by notebook 09 and the tests);
:class:`Explorer` wires widgets to a persistent :class:`Canvas`: slider moves are debounced
(only the last one of a quick series is computed), the figure is dimmed while a point is
computed, a typed xi snaps to the nearest grid value and says so, and "go to best F1" moves
kappa and xi in one update.

Needs the ``notebooks`` extra (matplotlib, ipywidgets) and, for the face, the ``video`` extra
(scikit-image): ``pip install "tgsr[notebooks,video]"``.
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from tgsr_lib._optional import require
from tgsr_lib.compare import metrics
from tgsr_lib.data import datasets, layout, protocols
from tgsr_lib.experiments import axes
from tgsr_lib.report import plotting, tables

#: The grid's distinct xi values (271: the paper's 276-value list repeats the joins).
GRID_XIS = np.unique(axes.paper_xis())
#: kappa = 1..85.
GRID_KAPPAS = axes.paper_kappas()
#: One colour per LBP-TOP plane on the face (Okabe & Ito).
PLANE_COLOURS = {"XY": plotting.OKABE_ITO[0], "XT": plotting.OKABE_ITO[1],
                 "YT": plotting.OKABE_ITO[2]}
#: Colours of the two metrics in the curves (the record's: darker, dashed over them).
F1_COLOUR, ACC_COLOUR = plotting.OKABE_ITO[3], plotting.OKABE_ITO[5]
RECORD_COLOURS = ("#7A3500", "#1B5E84")
#: Figure size (inches) and resolution of the explorer's PNG.
FIGSIZE = (8.4, 6.4)
DPI = 96


# ----------------------------------------------------------------------------------------
# Data of one task (experiment x grouping) and of one point
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskData:
    """What every point of one (experiment, grouping) shares.

    ``f1`` and ``acc`` are (85, 271) matrices (kappa x distinct xi) of the grid (``kind``
    ``"computed"`` or ``"recorded"``; None when ``"unavailable"``); ``record_f1`` and
    ``record_acc`` the authors' released grid (authors' grouping) where one exists; ``paper``
    the paper's TGSR entry ``(macro_f1, accuracy)`` (fractions); ``best`` the grid's first
    max-F1 point ``(kappa, xi)``.
    """

    number: int
    label: str
    grouping: str
    kind: str
    f1: np.ndarray | None
    acc: np.ndarray | None
    record_f1: np.ndarray | None
    record_acc: np.ndarray | None
    paper: tuple[float, float] | None
    best: tuple[int, float] | None


@dataclass(frozen=True)
class PointFit:
    """One fit of the fast engine: the kept groups, the predictions on the target and the
    target's labels."""

    kept: np.ndarray
    pred: np.ndarray
    y_true: np.ndarray
    classes: np.ndarray
    converged: bool


def grid_matrix(df: pd.DataFrame, column: str) -> np.ndarray:
    """A grid's ``column`` as a (85, 271) matrix over :data:`GRID_KAPPAS` x :data:`GRID_XIS`
    (NaN where the grid has no row; the repeated xi positions of the paper's list are one)."""
    flat = df.drop_duplicates(["kappa", "xi"]).pivot(index="kappa", columns="xi", values=column)
    return flat.reindex(index=GRID_KAPPAS, columns=GRID_XIS).to_numpy(dtype=np.float64)


def snap_xi(value: float) -> tuple[int, float]:
    """The grid position and value nearest to ``value`` (ties go to the smaller value)."""
    i = int(np.argmin(np.abs(GRID_XIS - float(value))))
    return i, float(GRID_XIS[i])


def xi_index(xi: float) -> int:
    """Position of ``xi`` among :data:`GRID_XIS` (the nearest one when off the grid)."""
    return snap_xi(xi)[0]


def _grid_frame(number: int, grouping: str, cache_dir: str) -> tuple[pd.DataFrame | None, str]:
    """The cached grid if it is on disk (never computed here: a cold grid takes minutes), else
    the authors' record (authors' grouping), else None."""
    from tgsr_lib.experiments.cache import grid_cache_path
    from tgsr_lib.experiments.io import read_grid

    exp = protocols.get_experiment(number)
    has_record = (exp.source, exp.target) in datasets.available_records()
    try:
        path = grid_cache_path(exp.source, exp.target, grouping=grouping, cache_dir=cache_dir)
        if path.is_file():
            return read_grid(path), "computed"
    except datasets.DataUnavailableError:
        pass
    if has_record and grouping == "authors":
        try:
            return datasets.load_record(exp.source, exp.target), "recorded"
        except datasets.DataUnavailableError:
            pass
    return None, "unavailable"


@lru_cache(maxsize=16)
def task_data(number: int, grouping: str = "authors", cache_dir: str = "cache/grids"
              ) -> TaskData:
    """The :class:`TaskData` of one experiment and grouping (cached)."""
    layout.check_grouping(grouping)
    exp = protocols.get_experiment(number)
    df, kind = _grid_frame(exp.number, grouping, os.fspath(cache_dir))
    f1 = acc = best = None
    if df is not None:
        f1, acc = grid_matrix(df, "macro_f1"), grid_matrix(df, "accuracy")
        row = tables.first_best(df)
        best = (int(row.kappa), float(row.xi))
    record_f1 = record_acc = None
    if (exp.source, exp.target) in datasets.available_records():
        try:
            record = datasets.load_record(exp.source, exp.target)
            record_f1, record_acc = grid_matrix(record, "macro_f1"), grid_matrix(record,
                                                                                  "accuracy")
        except datasets.DataUnavailableError:
            pass
    paper = tables.paper_table()
    entry = paper[(paper.experiment == exp.number) & (paper.method == "TGSR")]
    paper_pair = ((float(entry.macro_f1.iloc[0]), float(entry.accuracy_percent.iloc[0]) / 100)
                  if len(entry) else None)
    return TaskData(exp.number, exp.label, grouping, kind, f1, acc, record_f1, record_acc,
                    paper_pair, best)


@lru_cache(maxsize=8)
def _problem(number: int, grouping: str):
    from tgsr_lib.model import GridProblem

    exp = protocols.get_experiment(number)
    src, tgt = datasets.load_features(exp.source), datasets.load_features(exp.target)
    return GridProblem(src.X, src.y, tgt.X, grouping), np.asarray(tgt.y)


@lru_cache(maxsize=2048)
def solve_point(number: int, grouping: str, kappa: int, xi: float) -> PointFit:
    """One TGSR fit with the fast engine (cached per point): the same predictions as the
    grid's engines and as :class:`~tgsr_lib.model.estimator.TGSR`."""
    from threadpoolctl import threadpool_limits

    from tgsr_lib.model import solve_many

    problem, y_true = _problem(int(number), grouping)
    # one fit's products are small: BLAS threads only wait on each other (3x slower on a
    # busy 2-core machine); numba runs its serial kernels for a single slot
    with threadpool_limits(1, user_api="blas"):
        pred, _, converged, kept = solve_many(problem, [int(kappa)], [float(xi)],
                                              n_slots=1, return_groups=True)
    return PointFit(np.flatnonzero(kept[0]), pred[0], y_true, problem.classes,
                    bool(converged[0]))


def summarize(task: TaskData, kappa: int, xi: float, fit: PointFit) -> dict:
    """The numbers of one state: the fit's accuracy and macro-F1, the grid's, the record's and
    the paper's values, and the kept groups."""
    out = dict(experiment=task.label, grouping=task.grouping, kappa=int(kappa), xi=float(xi),
               accuracy=metrics.accuracy(fit.y_true, fit.pred),
               macro_f1=metrics.macro_f1(fit.y_true, fit.pred), grid=task.kind,
               kept_groups=fit.kept.tolist())
    k, j = int(kappa) - 1, xi_index(xi)
    on_grid = bool(GRID_XIS[j] == float(xi)) and 0 <= k < GRID_KAPPAS.size
    if task.f1 is not None and on_grid and np.isfinite(task.f1[k, j]):
        out["grid_accuracy"] = float(task.acc[k, j])
        out["grid_macro_f1"] = float(task.f1[k, j])
    if task.record_f1 is not None and on_grid and np.isfinite(task.record_f1[k, j]):
        out["record_accuracy"] = float(task.record_acc[k, j])
        out["record_macro_f1"] = float(task.record_f1[k, j])
    if task.paper is not None:
        out["paper_macro_f1"], out["paper_accuracy"] = task.paper
    return out


def describe(summary: dict) -> str:
    """One line naming the state and its fitted values (the figure's alt text)."""
    return (f"{summary['experiment']}, {summary['grouping']} grouping, kappa {summary['kappa']}, "
            f"xi {summary['xi']:g}: accuracy {100 * summary['accuracy']:.2f}%, "
            f"macro-F1 {summary['macro_f1']:.4f}, {len(summary['kept_groups'])} groups kept")


def status_html(summary: dict) -> str:
    """The explorer's text under the controls: the fit, the grid, the record and the paper."""
    def pair(acc, f1):
        return f"{100 * acc:.2f}% / {f1:.4f}"

    parts = [f"<b>{html.escape(summary['experiment'])}</b>, {summary['grouping']} grouping, "
             f"<b>kappa {summary['kappa']}, xi {summary['xi']:g}</b>",
             f"this fit (accuracy / macro-F1): "
             f"<b>{pair(summary['accuracy'], summary['macro_f1'])}</b>"]
    if "grid_accuracy" in summary:
        parts.append(f"{summary['grid']} grid: "
                     f"{pair(summary['grid_accuracy'], summary['grid_macro_f1'])}")
    if "record_accuracy" in summary:
        whose = "" if summary["grouping"] == "authors" else " (their grouping)"
        parts.append(f"authors' record{whose}: "
                     f"{pair(summary['record_accuracy'], summary['record_macro_f1'])}")
    if "paper_accuracy" in summary:
        parts.append("paper's reported value: "
                     f"{pair(summary['paper_accuracy'], summary['paper_macro_f1'])}")
    parts.append(f"{len(summary['kept_groups'])} of {layout.N_GROUPS} groups kept")
    return " &middot; ".join(parts)


# ----------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _group_planes(grouping: str) -> dict[int, tuple[tuple[int, int, int], ...]]:
    """group -> its (scale, block, plane index) histograms."""
    contents = layout.group_contents(grouping)
    out: dict[int, list[tuple[int, int, int]]] = {}
    for g, s, b, p in contents[["group", "scale", "block", "plane_index"]].itertuples(
            index=False):
        out.setdefault(int(g), []).append((int(s), int(b), int(p)))
    return {g: tuple(v) for g, v in out.items()}


def face_blocks(grouping: str, kept) -> dict[int, list[tuple[int, int, int, int, tuple]]]:
    """The blocks that the kept groups touch, per scale: ``(top, left, height, width,
    planes)`` in pixels of the 112 x 112 frame, ``planes`` the sorted plane indices (0 = XY,
    1 = XT, 2 = YT) whose histogram of that block a kept group holds."""
    planes = _group_planes(grouping)
    used: dict[tuple[int, int], set[int]] = {}
    for g in np.asarray(kept).tolist():
        for s, b, p in planes[int(g)]:
            used.setdefault((s, b), set()).add(p)
    out: dict[int, list] = {s: [] for s in layout.SCALES}
    for (s, b), ps in sorted(used.items()):
        out[s].append((*layout.block_rectangle(s, b), tuple(sorted(ps))))
    return out


class Canvas:
    """A persistent figure of the explorer: faces per scale (kept groups, coloured by plane),
    the confusion matrix, the grid's macro-F1 heatmap with the point marked, and the curves
    through the point along kappa and along xi.

    :meth:`draw` updates the artists in place; :meth:`png` renders the figure. What changes
    with the point is drawn over a cached image of what changes only with the task (axes,
    ticks, legends, heatmap: blitting), so an update renders a few dozen artists, not the whole
    figure. :meth:`freeze` turns that off (for a figure handed out, e.g. by :func:`render`).
    """

    def __init__(self):
        figure = require("matplotlib.figure", "the explorer")
        backend_agg = require("matplotlib.backends.backend_agg", "the explorer")
        from tgsr_lib.features.synthetic import base_face

        self.fig = fig = figure.Figure(figsize=FIGSIZE, dpi=DPI)
        # one Agg canvas for the figure's life: its renderer (and matplotlib's text layout
        # cache, keyed by renderer) is reused by every draw
        self._agg = backend_agg.FigureCanvasAgg(fig)
        self._dynamic: list = []  # drawn over the background at each update, in this order
        self._face_colls: dict[int, tuple] = {}
        self._background = None
        self._blit = True
        self._task_key = None

        outer = fig.add_gridspec(2, 3, left=0.075, right=0.955, top=0.86, bottom=0.155,
                                 wspace=0.5, hspace=0.5, width_ratios=(0.95, 0.9, 1.2))
        faces = outer[0, 0].subgridspec(2, 2, wspace=0.08, hspace=0.25)
        face = base_face()
        self.face_axes: dict[int, object] = {}
        for i, s in enumerate(layout.SCALES):
            ax = fig.add_subplot(faces[i // 2, i % 2])
            ax.imshow(face, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            self._dyn(ax.title)
            self.face_axes[s] = ax
        self.title = self._dyn(fig.text(0.5, 0.985, "", fontsize=12.5, ha="center", va="top"))
        self.faces_title = self._dyn(fig.text(0.075, 0.91, "", fontsize=9.5, ha="left",
                                              va="center"))
        self.cm_ax = fig.add_subplot(outer[0, 1])
        self.hm_ax = fig.add_subplot(outer[0, 2])
        bottom = outer[1, :].subgridspec(1, 2, wspace=0.16)
        self.kappa_ax = fig.add_subplot(bottom[0, 0])
        self.xi_ax = fig.add_subplot(bottom[0, 1])
        self._build_confusion()
        self._build_heatmap()
        self._curves: dict[str, dict] = {}
        self._build_curves()
        self._legends()

    def _dyn(self, artist):
        """Register an artist that changes with the point."""
        artist.set_animated(self._blit)
        self._dynamic.append(artist)
        return artist

    # -- static parts --------------------------------------------------------------------
    def _build_confusion(self) -> None:
        n = len(datasets.CLASS_NAMES)
        plotting.confusion_matrix(np.zeros((n, n)), datasets.CLASS_NAMES, ax=self.cm_ax)
        ax = self.cm_ax
        self._cm = self._dyn(ax.images[0])
        self._cm_texts = [self._dyn(t) for t in ax.texts]
        self._dyn(ax.title)
        ax.xaxis.label.set_fontsize(9)
        ax.yaxis.label.set_fontsize(9)
        ax.tick_params(labelsize=8.5)

    def _build_heatmap(self) -> None:
        ax = self.hm_ax
        self._heatmap = ax.imshow(
            np.full((GRID_KAPPAS.size, GRID_XIS.size), np.nan), aspect="auto", origin="lower",
            cmap="viridis", extent=(-0.5, GRID_XIS.size - 0.5, 0.5, GRID_KAPPAS[-1] + 0.5),
            interpolation="nearest", vmin=0, vmax=1)
        colorbar = self.fig.colorbar(self._heatmap, ax=ax, fraction=0.06, pad=0.02)
        colorbar.ax.tick_params(labelsize=8)
        ticks = [int(np.argmin(np.abs(GRID_XIS - v))) for v in (1e-3, 1e-2, 0.1, 1, 10, 100,
                                                                1e3)]
        ax.set_xticks(ticks, [f"{GRID_XIS[i]:g}" for i in ticks], rotation=45)
        ax.tick_params(labelsize=8)
        ax.set_xlabel(f"xi ({GRID_XIS.size} grid values)", fontsize=9)
        ax.set_ylabel("kappa", fontsize=9)
        self._hm_best = ax.plot([np.nan], [np.nan], "*", ms=10, color="#F0E442", mec="black",
                                mew=0.6)[0]
        self._hm_cross = (self._dyn(ax.axhline(np.nan, color="white", lw=0.8, alpha=0.8)),
                          self._dyn(ax.axvline(np.nan, color="white", lw=0.8, alpha=0.8)))
        self._hm_point = self._dyn(ax.plot([np.nan], [np.nan], "o", ms=10, mfc="none",
                                           mec=plotting.OKABE_ITO[3], mew=2.2,
                                           clip_on=False)[0])

    def _build_curves(self) -> None:
        from matplotlib import ticker

        for name, ax, x in (("kappa", self.kappa_ax, GRID_KAPPAS), ("xi", self.xi_ax, GRID_XIS)):
            lines = {}
            nan = np.full(x.size, np.nan)
            for metric, colour in (("f1", F1_COLOUR), ("acc", ACC_COLOUR)):
                lines[f"paper_{metric}"] = ax.axhline(np.nan, color=colour, ls=":", lw=1.1)
                lines[f"grid_{metric}"] = self._dyn(ax.plot(x, nan, "-", color=colour,
                                                            lw=1.3)[0])
            for metric, colour in (("f1", RECORD_COLOURS[0]), ("acc", RECORD_COLOURS[1])):
                lines[f"record_{metric}"] = self._dyn(ax.plot(x, nan, color=colour, lw=1.0,
                                                              dashes=(3, 2.5))[0])
            lines["vline"] = self._dyn(ax.axvline(np.nan, color="0.3", lw=0.8))
            for metric, colour in (("f1", F1_COLOUR), ("acc", ACC_COLOUR)):
                lines[f"point_{metric}"] = self._dyn(ax.plot([np.nan], [np.nan], "o",
                                                             color=colour, mec="black", mew=0.6,
                                                             ms=5)[0])
            ax.set_ylabel("score (%)", fontsize=9)
            ax.tick_params(labelsize=8.5)
            ax.grid(alpha=0.3)
            lines["title"] = self._dyn(ax.title)
            ax.title.set_fontsize(10)
            self._curves[name] = lines
        self.kappa_ax.set_xlabel("kappa (groups kept)", fontsize=9)
        self.kappa_ax.set_xlim(0.5, GRID_KAPPAS[-1] + 0.5)
        self.xi_ax.set_xscale("log")
        decades = [1e-3, 1e-2, 0.1, 1, 10, 100, 1e3]
        self.xi_ax.set_xticks(decades, [f"{x:g}" for x in decades])  # no mathtext: faster
        self.xi_ax.xaxis.set_minor_locator(ticker.NullLocator())
        self.xi_ax.set_xlabel("xi", fontsize=9)
        self.xi_ax.set_xlim(GRID_XIS[0] / 1.2, GRID_XIS[-1] * 1.2)

    def _legends(self) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = [Line2D([], [], color=F1_COLOUR, lw=1.3, label="macro-F1 x 100"),
                   Line2D([], [], color=ACC_COLOUR, lw=1.3, label="accuracy"),
                   Line2D([], [], color="0.2", lw=1.3, label="this grid"),
                   Line2D([], [], color="0.2", lw=1.0, dashes=(3, 2.5),
                          label="authors' record"),
                   Line2D([], [], color="0.2", lw=1.1, ls=":",
                          label="paper's reported value"),
                   Line2D([], [], color="0.3", lw=0.8, marker="o", mfc="white", mec="black",
                          label="current point"),
                   Line2D([], [], ls="none", marker="*", ms=9, color="#F0E442", mec="black",
                          mew=0.6, label="grid's best")]
        self.fig.legend(handles=handles, loc="lower center", ncol=7, fontsize=8.5,
                        handlelength=1.6, columnspacing=0.9, handletextpad=0.4,
                        frameon=False, bbox_to_anchor=(0.5, 0.0))
        planes = [Patch(facecolor=c, alpha=0.6, label=f"{p} plane")
                  for p, c in PLANE_COLOURS.items()]
        self.fig.legend(handles=planes, loc="upper left", ncol=3, fontsize=8.5, frameon=False,
                        bbox_to_anchor=(0.06, 0.555), handlelength=1.0, columnspacing=0.7,
                        handletextpad=0.4)

    # -- per task --------------------------------------------------------------------------
    def _set_task(self, task: TaskData) -> None:
        """What changes with the task only: heatmap, best point, paper lines, score axes."""
        key = (task.number, task.grouping, task.kind, id(task))
        if key == self._task_key:
            return
        self._task_key = key
        self._background = None
        ax = self.hm_ax
        if task.f1 is not None:
            values = 100 * task.f1
            self._heatmap.set_data(values)
            self._heatmap.set_clim(np.nanmin(values), np.nanmax(values))
            self._heatmap.set_visible(True)
            ax.set_title(f"{task.kind} grid: macro-F1 x 100", fontsize=10)
        else:
            self._heatmap.set_visible(False)
            ax.set_title("no grid for this task", fontsize=10)
        best = task.best if task.best is not None else (np.nan, np.nan)
        self._hm_best.set_data([xi_index(best[1]) if task.best else np.nan], [best[0]])
        scores = [100 * m for m in (task.f1, task.acc, task.record_f1, task.record_acc)
                  if m is not None]
        if task.paper is not None:
            scores.append(100 * np.array(task.paper))
        finite = np.concatenate([np.ravel(v) for v in scores]) if scores else np.array([])
        finite = finite[np.isfinite(finite)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 100.0)
        pad = max(2.0, 0.05 * (hi - lo))
        for name in ("kappa", "xi"):
            lines = self._curves[name]
            lines["title"].axes.set_ylim(lo - pad, hi + pad)
            for metric in ("f1", "acc"):
                value = np.nan
                if task.paper is not None:
                    value = 100 * (task.paper[0] if metric == "f1" else task.paper[1])
                lines[f"paper_{metric}"].set_ydata([value, value])

    # -- per point -------------------------------------------------------------------------
    def draw(self, task: TaskData, kappa: int, xi: float, fit: PointFit) -> dict:
        """Update every panel to the state ``(task, kappa, xi)`` with its fit; returns the
        :func:`summarize` dict."""
        summary = summarize(task, kappa, xi, fit)
        self._set_task(task)
        self._draw_faces(task.grouping, fit.kept)
        self._draw_confusion(fit, summary)
        k, j = int(kappa), xi_index(xi)
        point = (j, k) if task.f1 is not None else (np.nan, np.nan)
        self._hm_point.set_data([point[0]], [point[1]])
        self._hm_cross[0].set_ydata([point[1], point[1]])
        self._hm_cross[1].set_xdata([point[0], point[0]])
        self._draw_curves(task, k, j)
        self.title.set_text(f"{task.label}, {task.grouping} grouping: kappa = {k}, "
                            f"xi = {xi:g}")
        return summary

    def _draw_faces(self, grouping: str, kept) -> None:
        """Each touched block is outlined and split in three vertical stripes (XY | XT | YT),
        a stripe filled with its plane's colour when a kept group holds that histogram. The
        stripes and outlines of every block exist once; an update only sets their colours."""
        from matplotlib.colors import to_rgba

        if not self._face_colls:
            self._build_face_collections()
        colours = [to_rgba(c, 0.6) for c in PLANE_COLOURS.values()]
        clear = (0.0, 0.0, 0.0, 0.0)
        for s, blocks in face_blocks(grouping, kept).items():
            fill, outline = self._face_colls[s]
            faces = np.tile(clear, (3 * s * s, 1))
            edges = np.tile(clear, (s * s, 1))
            for top, left, _h, _w, ps in blocks:
                b = self._block_index[s][(top, left)]
                edges[b] = (1.0, 1.0, 1.0, 1.0)
                for p in ps:
                    faces[3 * b + p] = colours[p]
            fill.set_facecolor(faces)
            outline.set_edgecolor(edges)
            self.face_axes[s].set_title(f"{s}x{s}: {len(blocks)}/{s * s}",
                                        fontsize=8.5, pad=2)
        self.faces_title.set_text(f"kept {len(kept)} of {layout.N_GROUPS} groups; blocks "
                                  "used per scale")

    def _build_face_collections(self) -> None:
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        self._block_index = {}
        for s, ax in self.face_axes.items():
            rects = [layout.block_rectangle(s, b) for b in range(s * s)]
            self._block_index[s] = {(top, left): b for b, (top, left, _, _) in enumerate(rects)}
            fill = PatchCollection(
                [Rectangle((left - 0.5 + p * w / 3, top - 0.5), w / 3, h)
                 for top, left, h, w in rects for p in range(3)],
                facecolors="none", edgecolors="none")
            outline = PatchCollection(
                [Rectangle((left - 0.5, top - 0.5), w, h) for top, left, h, w in rects],
                facecolors="none", edgecolors="none", linewidths=0.7)
            for coll in (fill, outline):
                ax.add_collection(coll)
                self._dyn(coll)
            self._face_colls[s] = (fill, outline)

    def _draw_confusion(self, fit: PointFit, summary: dict) -> None:
        cm = metrics.confusion_matrix(fit.y_true, fit.pred, labels=fit.classes)
        if cm.shape != self._cm.get_array().shape:
            raise ValueError(f"the explorer draws {len(datasets.CLASS_NAMES)} classes, not "
                             f"{cm.shape[0]}")
        self._cm.set_data(cm)
        self._cm.set_clim(0, max(1, cm.max()))
        n = cm.shape[0]
        for t, (i, j) in zip(self._cm_texts, [(i, j) for i in range(n) for j in range(n)],
                             strict=True):
            t.set_text(str(int(cm[i, j])))
            t.set_color("white" if cm[i, j] > cm.max() / 2 else "black")
        self.cm_ax.set_title(f"target: acc {100 * summary['accuracy']:.2f}%, "
                             f"F1 {summary['macro_f1']:.4f}", fontsize=10)

    def _draw_curves(self, task: TaskData, k: int, j: int) -> None:
        for name in ("kappa", "xi"):
            lines = self._curves[name]
            x_point = k if name == "kappa" else GRID_XIS[j]
            lines["vline"].set_xdata([x_point, x_point])
            for metric in ("f1", "acc"):
                for source, matrix in (("grid", task.f1 if metric == "f1" else task.acc),
                                       ("record", task.record_f1 if metric == "f1"
                                        else task.record_acc)):
                    line = lines[f"{source}_{metric}"]
                    if matrix is None:
                        line.set_ydata(np.full(line.get_xdata().size, np.nan))
                    else:
                        line.set_ydata(100 * (matrix[:, j] if name == "kappa"
                                              else matrix[k - 1, :]))
                grid = task.f1 if metric == "f1" else task.acc
                y = 100 * grid[k - 1, j] if grid is not None else np.nan
                lines[f"point_{metric}"].set_data([x_point], [y])
            lines["title"].set_text(f"along kappa at xi = {GRID_XIS[j]:g}" if name == "kappa"
                                    else f"along xi at kappa = {k}")

    # -- output ----------------------------------------------------------------------------
    def freeze(self) -> None:
        """Draw every artist in a plain ``fig.savefig`` / inline display (no blitting)."""
        self._blit = False
        for artist in self._dynamic:
            artist.set_animated(False)

    def png(self) -> bytes:
        """The figure as PNG bytes: the cached background of the task, then what changes
        with the point (or a full draw after :meth:`freeze`)."""
        if not self._blit:
            self._agg.draw()
            return _encode_png(self._agg)
        if self._background is None:
            self._agg.draw()  # everything but the animated artists
            self._background = self._agg.copy_from_bbox(self.fig.bbox)
        else:
            self._agg.restore_region(self._background)
        renderer = self._agg.get_renderer()
        for artist in self._dynamic:
            if artist.get_visible():
                artist.draw(renderer)
        return _encode_png(self._agg)


def _encode_png(agg) -> bytes:
    """An Agg canvas's pixels as an RGB PNG (no metadata; light compression: speed matters
    more than size here)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.frombuffer("RGBA", agg.get_width_height(), agg.buffer_rgba(), "raw", "RGBA", 0,
                     1).convert("RGB").save(buf, format="png", compress_level=1)
    return buf.getvalue()


def figure_png(fig) -> bytes:
    """Any figure as PNG bytes at the explorer's resolution (as :meth:`Canvas.png`)."""
    backend_agg = require("matplotlib.backends.backend_agg", "the explorer")
    agg = backend_agg.FigureCanvasAgg(fig) if not hasattr(fig.canvas, "buffer_rgba") \
        else fig.canvas
    agg.draw()
    return _encode_png(agg)


def render(number: int, kappa: int, xi: float, grouping: str = "authors",
           cache_dir: str = "cache/grids"):
    """Figure and summary of one (experiment, kappa, xi, grouping) state, without widgets.

    Returns ``(fig, summary)``: a matplotlib ``Figure`` (not managed by pyplot) and the dict
    of :func:`summarize` (the fitted accuracy and macro-F1, the grid's, the record's and the
    paper's values where they exist, and the kept groups).
    """
    task = task_data(int(number), grouping, os.fspath(cache_dir))
    fit = solve_point(int(number), grouping, int(kappa), float(xi))
    canvas = Canvas()
    summary = canvas.draw(task, int(kappa), float(xi), fit)
    canvas.freeze()
    return canvas.fig, summary


def img_html(png: bytes, alt: str, css_class: str = "tgsr-figure-img") -> str:
    """An ``<img>`` tag holding ``png`` inline, scaled to the width available."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="{css_class}" src="data:image/png;base64,{data}" '
            f'alt="{html.escape(alt)}" title="{html.escape(alt)}" '
            f'style="width:100%;max-width:{int(FIGSIZE[0] * DPI)}px;height:auto;'
            'display:block"/>')


# ----------------------------------------------------------------------------------------
# The widgets
# ----------------------------------------------------------------------------------------

_CSS = """<style>
.tgsr-explorer .tgsr-figure img {transition: opacity 0.12s;}
.tgsr-explorer .tgsr-figure.tgsr-busy img {opacity: 0.35;}
.tgsr-explorer .tgsr-status {line-height: 1.35; font-size: 13px;}
.tgsr-explorer .tgsr-busy-note {color: #D55E00; font-weight: bold;}
.tgsr-explorer .tgsr-note {color: #0072B2;}
.tgsr-explorer .widget-label {min-width: 0;}
</style>"""


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Explorer:
    """Widgets over :class:`Canvas`. Display the explorer itself (the last expression of a
    cell) or ``Explorer().widget``.

    Parameters
    ----------
    experiments : the experiment numbers offered (default: the six computable ones).
    cache_dir : the grid cache folder (relative to the notebook).
    number, kappa, xi, grouping : the initial state (xi snaps to the nearest grid value).
    debounce_s : a change is computed this long after the last one (in a kernel; without a
        running event loop, e.g. in a script, every change is computed at once).
    """

    def __init__(self, experiments=protocols.COMPUTABLE, cache_dir: str = "cache/grids",
                 number: int | None = None, kappa: int = 12, xi: float = 44.0,
                 grouping: str = "authors", debounce_s: float = 0.06):
        w = require("ipywidgets", "the explorer")
        experiments = [protocols.get_experiment(n).number for n in experiments]
        self.cache_dir = os.fspath(cache_dir)
        self.debounce_s = float(debounce_s)
        self.canvas = Canvas()
        self.summary: dict = {}
        self.n_updates = 0
        self._timer = None
        self._hold = 0
        self._syncing = False
        self._note: tuple[str, tuple] | None = None  # (text, the state it is about)

        j, _ = snap_xi(xi)
        number = experiments[0] if number is None else protocols.get_experiment(number).number
        self.experiment = w.Dropdown(
            options=[(protocols.get_experiment(n).label, n) for n in experiments], value=number,
            description="task", layout=w.Layout(width="180px"),
            style={"description_width": "32px"})
        self.grouping = w.ToggleButtons(
            options=["authors", "blocks"], value=grouping, style={"button_width": "76px"},
            tooltips=["the authors' 85 chunks of the feature vector", "85 true facial blocks"],
            layout=w.Layout(width="auto"))
        self.best = w.Button(description="go to best F1", icon="star",
                             tooltip="the grid's first max-macro-F1 point",
                             layout=w.Layout(width="136px"))
        slider = dict(continuous_update=False, readout=False,
                      layout=w.Layout(flex="1 1 auto", width="auto", min_width="260px"))
        self.kappa = w.IntSlider(value=int(kappa), min=1, max=int(GRID_KAPPAS[-1]), **slider)
        self.kappa_box = w.BoundedIntText(value=int(kappa), min=1, max=int(GRID_KAPPAS[-1]),
                                          layout=w.Layout(width="72px"))
        self.xi_index = w.IntSlider(value=j, min=0, max=GRID_XIS.size - 1, **slider)
        self.xi_box = w.Text(value=f"{GRID_XIS[j]:g}", continuous_update=False,
                             placeholder="xi", layout=w.Layout(width="90px"))
        label = dict(layout=w.Layout(width="44px"))
        self.status = w.HTML(layout=w.Layout(width="100%"))
        self.figure = w.HTML(layout=w.Layout(width="100%"))
        self.kappa.add_class("tgsr-kappa")
        self.kappa_box.add_class("tgsr-kappa-box")
        self.xi_index.add_class("tgsr-xi")
        self.xi_box.add_class("tgsr-xi-box")
        self.experiment.add_class("tgsr-task")
        self.best.add_class("tgsr-best")
        self.status.add_class("tgsr-status")
        self.figure.add_class("tgsr-figure")

        wrap = dict(flex_flow="row wrap", align_items="center", width="100%")
        # the label beside its buttons (a ToggleButtons description goes above them)
        grouping_box = w.HBox([w.Label("grouping"), self.grouping],
                              layout=w.Layout(align_items="center", width="auto"))
        grouping_box.add_class("tgsr-grouping")
        self.widget = w.VBox([
            w.HTML(_CSS),
            w.HBox([self.experiment, grouping_box, self.best],
                   layout=w.Layout(grid_gap="4px 10px", **wrap)),
            w.HBox([w.Label("kappa", **label), self.kappa, self.kappa_box],
                   layout=w.Layout(**wrap)),
            w.HBox([w.Label("xi", **label), self.xi_index, self.xi_box],
                   layout=w.Layout(**wrap)),
            self.status, self.figure,
        ], layout=w.Layout(width="100%", max_width="980px"))
        self.widget.add_class("tgsr-explorer")

        w.link((self.kappa, "value"), (self.kappa_box, "value"))
        self.xi_index.observe(self._xi_slider_moved, names="value")
        for control in (self.experiment, self.grouping, self.kappa, self.xi_index):
            control.observe(self._changed, names="value")
        self.xi_box.observe(self._xi_typed, names="value")
        self.best.on_click(lambda _button: self.go_to_best())
        self.update()

    # -- state -------------------------------------------------------------------------------
    @property
    def xi(self) -> float:
        """The current xi value."""
        return float(GRID_XIS[self.xi_index.value])

    def state(self) -> tuple[int, str, int, float]:
        """``(experiment, grouping, kappa, xi)`` shown by the controls."""
        return (int(self.experiment.value), self.grouping.value, int(self.kappa.value), self.xi)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls with one update at the end."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
        self._changed()

    # -- events ------------------------------------------------------------------------------
    def _changed(self, _change=None) -> None:
        if self._hold:
            return
        number, grouping, kappa, xi = self.state()
        self.figure.add_class("tgsr-busy")
        self.status.value = (f'<span class="tgsr-busy-note">computing '
                             f'{html.escape(protocols.get_experiment(number).label)}, '
                             f'{grouping}, kappa {kappa}, xi {xi:g} &hellip;</span>')
        loop = _running_loop()
        if loop is None or self.debounce_s <= 0:
            self.update()
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(self.debounce_s, self._flush)

    def _flush(self) -> None:
        self._timer = None
        try:
            self.update()
        except Exception as err:  # a timer's exception would vanish in the kernel's log
            self.figure.remove_class("tgsr-busy")
            self.status.value = (f'<span class="tgsr-busy-note">could not compute this point: '
                                 f'{html.escape(type(err).__name__)}: '
                                 f'{html.escape(str(err)[:300])}</span>')

    def _xi_slider_moved(self, change) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.xi_box.value = f"{GRID_XIS[change['new']]:g}"
        finally:
            self._syncing = False

    def _xi_typed(self, change) -> None:
        if self._syncing:
            return
        text = str(change["new"]).strip()
        try:
            value = float(text)
            if not np.isfinite(value) or value <= 0:
                raise ValueError
        except ValueError:
            self._set_note(f"xi {html.escape(text)} is not a positive number: kept xi = "
                           f"{self.xi:g}")
            self._set_xi(self.xi_index.value)
            self._refresh_status()
            return
        j, snapped = snap_xi(value)
        if snapped != value:
            self._set_note(f"xi {value:g} is not a grid value: snapped to the nearest of the "
                           f"{GRID_XIS.size}, {snapped:g}", xi=snapped)
        if j == self.xi_index.value:
            self._set_xi(j)
            self._refresh_status()
        else:
            self._set_xi(j)

    def _set_xi(self, j: int) -> None:
        self._syncing = True
        try:
            self.xi_box.value = f"{GRID_XIS[j]:g}"
            self.xi_index.value = int(j)
        finally:
            self._syncing = False

    def go_to_best(self) -> None:
        """Move kappa and xi to the grid's first max-F1 point, in one update."""
        task = task_data(int(self.experiment.value), self.grouping.value, self.cache_dir)
        if task.best is None:
            self._set_note("no grid for this task: no best point")
            self._refresh_status()
            return
        kappa, xi = task.best
        self._set_note(f"best macro-F1 of the {task.kind} grid (its first maximum): kappa "
                       f"{kappa}, xi {xi:g}", kappa=kappa, xi=float(GRID_XIS[xi_index(xi)]))
        with self.hold():
            self.kappa.value = int(kappa)
            self._set_xi(xi_index(xi))

    # -- drawing -----------------------------------------------------------------------------
    def _set_note(self, text: str, **state) -> None:
        """A note shown under the numbers while the controls show ``state`` (the current
        state with the given fields replaced)."""
        number, grouping, kappa, xi = self.state()
        self._note = (text, (number, grouping, int(state.get("kappa", kappa)),
                             float(state.get("xi", xi))))

    def _refresh_status(self) -> None:
        if self.summary:
            note = ""
            if self._note is not None and self._note[1] == self.state():
                note = f'<br><span class="tgsr-note">{self._note[0]}</span>'
            self.status.value = status_html(self.summary) + note

    def update(self) -> None:
        """Compute and draw the state the controls show (at once)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        number, grouping, kappa, xi = self.state()
        task = task_data(number, grouping, self.cache_dir)
        fit = solve_point(number, grouping, kappa, xi)
        self.summary = self.canvas.draw(task, kappa, xi, fit)
        self.best.disabled = task.best is None
        self.figure.value = img_html(self.canvas.png(), describe(self.summary))
        self.figure.remove_class("tgsr-busy")
        self._refresh_status()
        self.n_updates += 1

    def snapshot_html(self) -> str:
        """A static copy of the current view (what a notebook shows before it is run, or
        where widgets cannot be displayed, e.g. the HTML book)."""
        return (f'<div class="tgsr-snapshot"><p><em>Static snapshot of the explorer: run the '
                f'notebook to use the controls.</em><br>{self.status.value}</p>'
                f'{self.figure.value}</div>')

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        data = self.widget._repr_mimebundle_()
        data["text/html"] = self.snapshot_html()
        data["text/plain"] = (f"Explorer ({describe(self.summary)}); run the notebook to use "
                              "the controls")
        return data
