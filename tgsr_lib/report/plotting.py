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
                 vmax=None):
    """A kappa x xi heatmap of one metric of a grid (xi on its 276 positions, labelled by
    value; duplicates at the joins of the xi ranges kept as in the paper)."""
    import numpy as np

    kappas = np.unique(df.kappa)
    xis = df.xi.values[: len(df) // kappas.size]
    values = 100 * df[metric].values.reshape(kappas.size, xis.size)
    im = ax.imshow(values, aspect="auto", origin="lower", cmap="viridis", vmin=vmin, vmax=vmax,
                   extent=(-0.5, xis.size - 0.5, kappas[0] - 0.5, kappas[-1] + 0.5),
                   interpolation="nearest")
    ticks = [i for i, x in enumerate(xis) if x in (0.001, 0.1, 10, 1000)
             and (i == 0 or xis[i - 1] != x)]
    ax.set_xticks(ticks, [f"{xis[i]:g}" for i in ticks])
    ax.set_xlabel("xi (276 grid positions)")
    ax.set_ylabel("kappa (groups kept)")
    if title:
        ax.set_title(title)
    return im


def draw_groups(ax, face, grouping: str, groups, title: str | None = None):
    """Draw the facial blocks that selected feature groups cover on a 112 x 112 face.

    Under ``"blocks"`` each group is one facial block (outlined, coloured by scale). Under
    ``"authors"`` a group is a chunk of three consecutive (plane, block) histograms: each
    block it touches is outlined and labelled with the plane(s) (XY, XT, YT) used.
    """
    import numpy as np

    from tgsr_lib.data import layout

    patches = require("matplotlib.patches", "figures")

    ax.imshow(face, cmap="gray", vmin=0, vmax=255)
    contents = layout.group_contents(grouping)
    contents = contents[contents.group.isin(np.asarray(groups))]
    colours = {1: OKABE_ITO[6], 2: OKABE_ITO[1], 4: OKABE_ITO[2], 8: OKABE_ITO[5]}
    for (scale, block), sub in contents.groupby(["scale", "block"]):
        top, left, h, w = layout.block_rectangle(int(scale), int(block))
        ax.add_patch(patches.Rectangle((left - 0.5, top - 0.5), w, h, fill=False,
                                       edgecolor=colours[int(scale)],
                                       linewidth=1.0 + 0.25 * (8 // int(scale))))
        if grouping == "authors":
            planes = "+".join(sorted(set(sub.plane), key=layout.PLANES.index))
            ax.text(left + 1, top + 1, planes, color=colours[int(scale)], fontsize=5,
                    va="top", ha="left")
    ax.set_xticks([])
    ax.set_yticks([])
    for scale, col in colours.items():
        ax.plot([], [], color=col, label=f"{scale}x{scale} blocks")
    if title:
        ax.set_title(title, fontsize=9)
    return ax
