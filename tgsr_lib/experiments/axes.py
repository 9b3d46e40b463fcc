"""The paper's hyperparameter grid: kappa = 1..85 x 276 xi values, and grid specs.

:func:`paper_xis` gives the authors' 276 xi values bit for bit (MATLAB's colon rounding),
:func:`parse_kappa` / :func:`parse_xi` read the command line's specs, :func:`grid_axes`
validates any axes and :func:`grid_points` lays them out in the records' order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tgsr_lib.checks import check_kappas, check_xis
from tgsr_lib.data import layout

#: The paper's xi list as MATLAB ranges (start, step, stop); joins are kept twice.
XI_RANGES = ((0.001, 0.0002, 0.01), (0.01, 0.002, 0.1), (0.1, 0.02, 1.0), (1.0, 0.2, 10.0),
             (10.0, 2.0, 100.0), (100.0, 20.0, 1000.0))


def matlab_colon(a: float, step: float, b: float) -> np.ndarray:
    """``a:step:b`` with MATLAB's rounding: the first half counts up from ``a``, the second
    half down from ``b``, an even count's midpoint is ``(a + b) / 2``. Bit-identical to the
    xi values stored in the authors' records."""
    n = int(np.floor((b - a) / step + 1e-10))
    k = np.arange(n + 1)
    out = np.empty(n + 1)
    half = n // 2
    out[: half + 1] = a + k[: half + 1] * step
    out[half + 1:] = b - (n - k[half + 1:]) * step
    if n % 2 == 0:
        out[half] = (a + b) / 2
    return out


def paper_xis() -> np.ndarray:
    """The 276 xi values of the paper's grid, in the authors' order (271 distinct)."""
    return np.concatenate([matlab_colon(*r) for r in XI_RANGES])


def paper_kappas() -> np.ndarray:
    """kappa = 1..85."""
    return np.arange(1, layout.N_GROUPS + 1)


def parse_kappa(spec: str, n_groups: int = layout.N_GROUPS) -> np.ndarray:
    """``"a:b"`` (inclusive), ``"1,5,12"``, or ``"paper"``/``"all"`` (1..n_groups), every
    value checked against ``n_groups`` (the number of feature groups: 85 for the authors'
    groupings)."""
    spec = str(spec).strip()
    usage = "use 'a:b' (inclusive), a comma list like '1,12,40', or 'paper'"
    if spec.lower() in ("paper", "all"):
        return np.arange(1, n_groups + 1)
    tokens = spec.split(":") if ":" in spec else [s.strip() for s in spec.split(",") if s.strip()]
    bad = [t for t in tokens if not _is_int(t)]
    if bad or len(tokens) > 2 and ":" in spec:
        what = f"{_short(bad[0].strip())} is not an integer" if bad else "too many ':'"
        raise ValueError(f"bad kappa spec {_short(spec)}: {what}; {usage}")
    values = [int(t) for t in tokens]
    if ":" in spec and values[1] < values[0]:
        raise ValueError(f"bad kappa spec {_short(spec)}: empty range (b < a); {usage}")
    if not values:
        raise ValueError(f"kappa spec {_short(spec)} gives no value")
    values = check_kappas(values, n_groups)
    return np.arange(values[0], values[1] + 1) if ":" in spec else values


def parse_xi(spec: str) -> np.ndarray:
    """``"paper"`` (the 276-value list) or a comma list like ``"0.1,1,44"``."""
    spec = str(spec).strip()
    if spec.lower() == "paper":
        return paper_xis()
    tokens = [s.strip() for s in spec.split(",") if s.strip()]
    try:
        values = np.array([float(s) for s in tokens])
    except ValueError:
        bad = next(s for s in tokens if not _is_float(s))
        raise ValueError(f"bad xi spec {_short(spec)}: {_short(bad)} is not a number; use "
                         "'paper' or a comma list like '0.1,1,44'") from None
    if values.size == 0:
        raise ValueError(f"xi spec {_short(spec)} gives no value")
    return check_xis(values)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _short(text: str, limit: int = 40) -> str:
    """``repr(text)``, shortened in the middle when long (a spec can be thousands of
    characters)."""
    return repr(text) if len(text) <= limit else repr(f"{text[:20]}...{text[-12:]}")


def grid_axes(kappas=None, xis=None, n_groups: int = layout.N_GROUPS
              ) -> tuple[np.ndarray, np.ndarray]:
    """Validated kappa (int) and xi (float) values of a grid for features in ``n_groups``
    groups; ``None`` gives every kappa ``1..n_groups`` and the paper's 276 xi values."""
    kappas = np.arange(1, n_groups + 1) if kappas is None else kappas
    xis = paper_xis() if xis is None else xis
    return check_kappas(kappas, n_groups), check_xis(xis)


def grid_points(kappas: Sequence[int], xis: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """All (kappa, xi) pairs, kappa outer and xi inner (the records' order)."""
    kappas = np.asarray(kappas, dtype=np.int64)
    xis = np.asarray(xis, dtype=np.float64)
    return np.repeat(kappas, xis.size), np.tile(xis, kappas.size)
