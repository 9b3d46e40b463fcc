"""tgsr: a reproduction of Transfer Group Sparse Regression (TGSR).

Jiang, Zong, Zheng, Liu, Wei. "Seeking Salient Facial Regions for Cross-Database
Micro-Expression Recognition". ICPR 2022.

The subpackages follow the pipeline, top-down:

``data``         the authors' files (``datasets``), the feature ``layout``, the 12 ``protocols``
``features``     videos to features: ``tim``, ``lbptop``, ``video``, ``extract``, ``synthetic``
``model``        the estimator (``estimator.TGSR``, ``da.TGSRClassifier`` in skada's
                 conventions), Algorithm 1 once (``ialm``), feature
                 ``groups``, and the grid engines: the shared ``problem`` and ``driver``, the
                 ``engine`` on the CPU (numba) and the ``array_engine`` (CuPy or NumPy)
``experiments``  grid ``axes``, the grid ``runner`` and its parts (keys, checkpoints and
                 resume, progress, Dask, file output), the grid ``cache``
``compare``      ``metrics``, ``baselines``, label-free ``selection``
``report``       ``tables``, ``plotting``, the ``explorer``

``checks`` is the input validation they share, ``cli`` the ``tgsr`` command, ``reproduce`` runs
every notebook. The top level re-exports ``TGSR``, ``TGSRClassifier``, ``datasets``,
``compute_grid`` and ``cached_grid``.
"""

import importlib

#: The top level's names and the modules they come from, imported at first use: ``import
#: tgsr_lib.reproduce`` (the processes that only drive a notebook) or ``tgsr --help`` then
#: load neither scikit-learn, SciPy, pandas nor numba.
_EXPORTS = {"TGSR": "tgsr_lib.model.estimator", "TGSRClassifier": "tgsr_lib.model.da",
            "cached_grid": "tgsr_lib.experiments.cache",
            "compute_grid": "tgsr_lib.experiments.runner", "datasets": "tgsr_lib.data.datasets"}

__all__ = ["TGSR", "TGSRClassifier", "cached_grid", "compute_grid", "datasets"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tgsr_lib' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    value = module if name == "datasets" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
