"""The model, top-down: the TGSR ``estimator`` (and ``da.TGSRClassifier``, the same in skada's
domain-adaptation conventions); Algorithm 1 written once (``ialm``); feature
``groups``; and the grid engines that run many fits at once: the shared ``problem`` (small
basis) and ``driver`` (continuous batching), with the ``engine`` on the CPU (numba) and the
``array_engine`` (CuPy on a GPU, or NumPy)."""

from tgsr_lib.model.da import TGSRClassifier
from tgsr_lib.model.driver import solve_many
from tgsr_lib.model.estimator import TGSR
from tgsr_lib.model.groups import GroupLayout, resolve_groups
from tgsr_lib.model.problem import GridProblem

__all__ = ["TGSR", "TGSRClassifier", "GridProblem", "GroupLayout", "resolve_groups", "solve_many"]
