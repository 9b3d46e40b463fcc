"""Figures: one helper writes every figure as ``figures/NAME.png`` and ``.pdf``.

matplotlib is imported by the functions that draw (the ``notebooks`` extra:
``pip install "tgsr[notebooks]"``), so that importing this module needs only the core.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from tgsr_lib._optional import require

#: Colour-blind safe palette (Okabe & Ito), used for every categorical colour.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")


def figures_dir(directory: str | os.PathLike | None = None) -> Path:
    """Where figures go: ``directory``, else ``TGSR_FIGURES_DIR``, else the project's
    ``figures/`` folder when run inside the project (e.g. from ``notebooks/``), else
    ``./figures``."""
    if directory is not None:
        return Path(directory)
    if os.environ.get("TGSR_FIGURES_DIR"):
        return Path(os.environ["TGSR_FIGURES_DIR"])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "tgsr_lib").is_dir():
            return folder / "figures"
    return Path("figures")


def figure_name(name: str, params: Mapping | None = None) -> str:
    """The file name (without extension) of figure ``name`` drawn with ``params``.

    ``params`` holds the notebook parameters that differ from the notebook's defaults (see
    :func:`tgsr_lib.report.params.changed`). None or empty: ``name`` itself, the committed
    figure. Otherwise a suffix names them, e.g. ``fig3_kappa_curves__grouping-blocks``, so that
    a rerun with other parameters never overwrites a committed figure.
    """
    if not params:
        return name
    parts = []
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            value = "-".join(str(v) for v in value)
        text = re.sub(r"[^A-Za-z0-9._+]+", "-", f"{key}-{value}").strip("-")
        parts.append(text)
    suffix = "__".join(parts)
    if len(suffix) > 80:  # keep file names short; the hash keeps them distinct
        digest = hashlib.sha256(suffix.encode()).hexdigest()[:10]
        suffix = f"{suffix[:68]}-{digest}"
    return f"{name}__{suffix}"


def savefig(fig, name: str, directory: str | os.PathLike | None = None, *,
            params: Mapping | None = None) -> None:
    """Write ``fig`` as ``NAME.png`` (150 dpi) and ``NAME.pdf`` with fixed metadata (no
    timestamps) into :func:`figures_dir`. ``params``: the notebook parameters that differ
    from its defaults; when any, the files get a suffix naming them (:func:`figure_name`)
    and the committed figures stay as they are. Returns None, so that a notebook cell ending
    with this call prints no (machine-dependent) path."""
    out = figures_dir(directory)
    out.mkdir(parents=True, exist_ok=True)
    name = figure_name(name, params)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None, "Producer": None,
                                                          "Creator": None})


def confusion_matrix(cm, class_names, ax=None, title: str | None = None):
    """Draw a confusion matrix (rows = true class, columns = predicted) with counts."""
    import numpy as np

    plt = require("matplotlib.pyplot", "figures")

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.6))
    cm = np.asarray(cm)
    ax.imshow(cm, cmap="Blues", vmin=0)
    n = len(class_names)
    ax.set_xticks(range(n), class_names, rotation=30, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    if title:
        ax.set_title(title)
    return ax


def metric_curves(ax, x, accuracy, macro_f1, *, xlabel: str, title: str | None = None,
                  paper: tuple[float, float] | None = None, label_suffix: str = "",
                  linestyle: str = "-", logx: bool = False):
    """Accuracy (%) and macro-F1 (x100) against a hyperparameter; the paper's values as
    dotted horizontal lines when given (``paper = (macro_f1, accuracy_percent)``)."""
    import numpy as np

    ax.plot(x, 100 * np.asarray(accuracy), linestyle, color=OKABE_ITO[0],
            label=f"accuracy{label_suffix}")
    ax.plot(x, 100 * np.asarray(macro_f1), linestyle, color=OKABE_ITO[3],
            label=f"macro-F1 x 100{label_suffix}")
    if paper is not None:
        ax.axhline(paper[1], color=OKABE_ITO[0], linestyle=":", linewidth=1,
                   label="paper accuracy")
        ax.axhline(100 * paper[0], color=OKABE_ITO[3], linestyle=":", linewidth=1,
                   label="paper macro-F1")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score (%)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def grid_heatmap(ax, df, metric: str = "macro_f1", title: str | None = None, vmin=None,
                 vmax=None, *, cmap: str = "viridis", mark_best: bool = False):
    """A kappa x xi heatmap of one metric of a grid (xi on its 276 positions, labelled by
    value; duplicates at the joins of the xi ranges kept as in the paper).

    ``vmin``/``vmax`` in percent (None: the grid's own range). ``mark_best``: a white-edged
    cross on the first max-``metric`` row, drawn unclipped so that a best row at the edge of
    the grid (kappa = 85) shows whole. Returns the image (for a colour bar)."""
    import numpy as np

    kappas = np.unique(df.kappa)
    xis = df.xi.values[: len(df) // kappas.size]
    values = 100 * df[metric].values.reshape(kappas.size, xis.size)
    im = ax.imshow(values, aspect="auto", origin="lower", cmap=cmap, vmin=vmin, vmax=vmax,
                   extent=(-0.5, xis.size - 0.5, kappas[0] - 0.5, kappas[-1] + 0.5),
                   interpolation="nearest")
    ticks = [i for i, x in enumerate(xis) if x in (0.001, 0.1, 10, 1000)
             and (i == 0 or xis[i - 1] != x)]
    ax.set_xticks(ticks, [f"{xis[i]:g}" for i in ticks])
    ax.set_xlabel("xi (276 grid positions)")
    ax.set_ylabel("kappa (groups kept)")
    if mark_best:
        flat = int(np.argmax(values))  # the first maximum in grid order (kappa outer)
        k, j = divmod(flat, xis.size)
        ax.plot(j, kappas[k], marker="X", markersize=10, color="#D55E00",
                markeredgecolor="white", markeredgewidth=1.2, clip_on=False, zorder=5,
                linestyle="none")
    if title:
        ax.set_title(title)
    return im


def _groups_by_block(grouping: str, groups, strengths, plane: str | None):
    """{(scale, block): strength} of the blocks that the given groups cover (in ``plane``
    only, when given); a block covered by several groups gets the largest strength."""
    import numpy as np

    from tgsr_lib.data import layout

    groups = np.asarray(groups).ravel()
    contents = layout.group_contents(grouping)
    contents = contents[contents.group.isin(groups)]
    if plane is not None:
        contents = contents[contents.plane == plane]
    out: dict[tuple[int, int], float] = {}
    for h in contents.itertuples():
        value = 1.0 if strengths is None else float(np.asarray(strengths)[int(h.group)])
        key = (int(h.scale), int(h.block))
        out[key] = max(out.get(key, -np.inf), value)
    return out, contents


def draw_groups(ax, face, grouping: str, groups, title: str | None = None, *,
                strengths=None, plane: str | None = None, cmap: str = "viridis", norm=None,
                labels: bool = False, face_alpha: float = 0.55):
    """Draw the facial blocks that selected feature groups cover on a 112 x 112 face.

    Parameters
    ----------
    ax : matplotlib Axes
    face : (112, 112) grey image, drawn underneath (an illustration of where the blocks lie).
    grouping : ``"authors"`` or ``"blocks"``.
    groups : ids of the groups to draw (e.g. ``model.selected_groups_``).
    title : optional panel title.
    strengths : optional (K,) value per group (e.g. ``model.group_norms_``): each block is
        coloured by the largest value among the drawn groups that cover it, through ``cmap``
        and ``norm`` (a ``matplotlib.colors.Normalize``; default: 0 .. the largest drawn value).
        Without it blocks are coloured by scale.
    plane : ``"XY"``, ``"XT"`` or ``"YT"``: draw only the groups' histograms of that plane
        (an ``authors`` chunk holds one plane's histograms of three blocks, so one panel per
        plane shows what it covers without overlapping labels).
    labels : write ``PLANE k`` (plane(s) and block index) in each block, for a few groups.

    The finest scale drawn is filled; coarser blocks (which the finer ones overlap) are thick
    outlines in the same colours, so nothing hides another.
    """

    from tgsr_lib.data import layout

    patches = require("matplotlib.patches", "figures")
    colors = require("matplotlib.colors", "figures")
    cm = require("matplotlib.cm", "figures")
    effects = require("matplotlib.patheffects", "figures")

    ax.imshow(face, cmap="gray", vmin=0, vmax=255, alpha=face_alpha)
    blocks, contents = _groups_by_block(grouping, groups, strengths, plane)
    scale_colours = {1: OKABE_ITO[6], 2: OKABE_ITO[1], 4: OKABE_ITO[2], 8: OKABE_ITO[5]}
    if strengths is not None:
        values = list(blocks.values())
        norm = norm or colors.Normalize(0, max(values) if values else 1.0)
        mapper = cm.ScalarMappable(norm=norm, cmap=cmap)
    finest = max((s for s, _ in blocks), default=None)
    for (scale, block), value in sorted(blocks.items()):
        top, left, h, w = layout.block_rectangle(scale, block)
        colour = scale_colours[scale] if strengths is None else mapper.to_rgba(value)
        if scale == finest:
            ax.add_patch(patches.Rectangle((left - 0.5, top - 0.5), w, h, facecolor=colour,
                                           edgecolor="white", linewidth=0.6, alpha=0.85))
        else:
            ax.add_patch(patches.Rectangle((left + 1, top + 1), w - 3, h - 3, fill=False,
                                           edgecolor=colour, linewidth=3.0, zorder=3))
        if labels:
            sub = contents[(contents.scale == scale) & (contents.block == block)]
            planes = "+".join(sorted(set(sub.plane), key=layout.PLANES.index))
            size = 9 if w >= 25 else 7
            ax.text(left + w / 2 - 0.5, top + h / 2 - 0.5, f"{planes}\n{block}",
                    ha="center", va="center", fontsize=size, color="black",
                    path_effects=[effects.withStroke(linewidth=2.5, foreground="white")])
    ax.set_xlim(-0.5, face.shape[1] - 0.5)
    ax.set_ylim(face.shape[0] - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def selection_map(ax, kept, xis, best_xi: float | None = None, title: str | None = None, *,
                  legend: bool = True):
    """Which groups a fit keeps (rows of ``kept``: one per xi, columns: the groups) against
    xi on a log axis: kept = dark, dropped = white; ``best_xi`` as a dashed vertical line.
    ``legend``: name them in a legend on the axes; else draw one for the whole figure from
    :func:`selection_legend_handles`."""
    import numpy as np

    xis = np.asarray(xis, dtype=np.float64)
    kept = np.asarray(kept, dtype=np.float64)
    logs = np.log10(xis)
    mids = (logs[1:] + logs[:-1]) / 2
    edges = 10 ** np.concatenate([[2 * logs[0] - mids[0]], mids, [2 * logs[-1] - mids[-1]]])
    ax.pcolormesh(edges, np.arange(kept.shape[1] + 1) - 0.5, kept.T, cmap="Greys", vmin=0,
                  vmax=1.25, shading="flat")
    ax.set_xscale("log")
    ax.set_ylim(kept.shape[1] - 0.5, -0.5)
    ax.set_xlabel("xi (log scale)")
    ax.set_ylabel("group")
    if best_xi is not None:
        ax.axvline(best_xi, color=OKABE_ITO[3], linestyle="--", linewidth=1.2)
    if legend:
        ax.legend(handles=selection_legend_handles(), fontsize=7, loc="lower left",
                  framealpha=0.9)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def selection_legend_handles() -> list:
    """Legend entries of :func:`selection_map`: kept, not kept, the best xi."""
    patches = require("matplotlib.patches", "figures")
    lines = require("matplotlib.lines", "figures")
    return [patches.Patch(facecolor="#333333", label="group kept"),
            patches.Patch(facecolor="white", edgecolor="grey", label="group not kept"),
            lines.Line2D([], [], color=OKABE_ITO[3], linestyle="--",
                         label="xi of the best grid point")]
