"""Optional dependencies: imported where they are used, with a message naming the extra.

The library itself (TGSR, the grid engines, the authors' files, ``tgsr grid``) needs only the
core dependencies of ``pyproject.toml``; figures, notebooks, videos, Dask and the skada
baselines need an extra (``pip install "tgsr[video]"``, or ``"tgsr[all]"`` for everything).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: top-level module -> (PyPI distribution, extra of ``pyproject.toml`` that installs it)
EXTRAS = {
    "matplotlib": ("matplotlib", "notebooks"),
    "ipywidgets": ("ipywidgets", "notebooks"),
    "IPython": ("ipykernel", "notebooks"),
    "nbformat": ("papermill", "notebooks"),
    "papermill": ("papermill", "notebooks"),
    "cv2": ("opencv-python-headless", "video"),
    "skimage": ("scikit-image", "video"),
    "openpyxl": ("openpyxl", "video"),
    "dask": ("dask[distributed]", "dask"),
    "distributed": ("dask[distributed]", "dask"),
    "skada": ("skada", "baselines"),
}


def missing_message(module: str, purpose: str | None = None) -> str:
    """The one-line advice for a missing optional ``module``."""
    top = module.split(".")[0]
    dist, extra = EXTRAS.get(top, (top, "all"))
    why = f" for {purpose}" if purpose else ""
    return (f"{top} ({dist}) is needed{why} but is not installed: it is an optional dependency "
            f'of tgsr, install it with pip install "tgsr[{extra}]" (or "tgsr[all]" for every '
            "extra)")


def require(module: str, purpose: str | None = None) -> ModuleType:
    """``importlib.import_module(module)``, or an ``ImportError`` that names the extra to
    install (``purpose`` says what needs it, e.g. ``"reading video frames"``)."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        if err.name is not None and err.name.split(".")[0] != top:
            raise  # the module is there but one of its own imports failed: show that
        raise ImportError(missing_message(module, purpose), name=top) from err
