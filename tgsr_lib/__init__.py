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

from tgsr_lib.data import datasets
from tgsr_lib.experiments.cache import cached_grid
from tgsr_lib.experiments.runner import compute_grid
from tgsr_lib.model.da import TGSRClassifier
from tgsr_lib.model.estimator import TGSR

__all__ = ["TGSR", "TGSRClassifier", "cached_grid", "compute_grid", "datasets"]
__version__ = "0.1.0"
