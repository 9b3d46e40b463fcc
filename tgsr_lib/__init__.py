"""tgsr: a reproduction of Transfer Group Sparse Regression (TGSR).

Jiang, Zong, Zheng, Liu, Wei. "Seeking Salient Facial Regions for Cross-Database
Micro-Expression Recognition". ICPR 2022.

Data flows one way: ``datasets`` -> ``layout`` (features) -> ``tgsr`` (model)
-> ``grid`` -> tables and figures (``plotting``).
"""

from .tgsr import TGSR

__all__ = ["TGSR"]
__version__ = "0.1.0"
