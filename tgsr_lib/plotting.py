"""Figures: one helper writes every figure as ``figures/NAME.png`` and ``.pdf``."""

from __future__ import annotations

import os
from pathlib import Path

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


def savefig(fig, name: str, directory: str | os.PathLike | None = None) -> list[Path]:
    """Write ``fig`` as ``NAME.png`` (150 dpi) and ``NAME.pdf`` with fixed metadata (no
    timestamps), so reruns give byte-identical files where the backend allows."""
    out = figures_dir(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None, "Producer": None,
                                                          "Creator": None})
    return paths


def confusion_matrix(cm, class_names, ax=None, title: str | None = None):
    """Draw a confusion matrix (rows = true class, columns = predicted) with counts."""
    import matplotlib.pyplot as plt
    import numpy as np

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
