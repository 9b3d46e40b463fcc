"""Checks of the notebooks' papermill parameters.

Every notebook calls these in the cell right after its ``parameters`` cell, so that a bad
``-p NAME VALUE`` stops at once with a ``ValueError`` that names the parameter and the
values it accepts (instead of an error deep inside a later cell). kappa and xi reuse
:mod:`tgsr_lib.checks`, so their wording matches the library's.

:func:`changed` lists the parameters that differ from the notebook's defaults; notebooks pass
it to :func:`tgsr_lib.report.plotting.savefig` so that a rerun with other parameters never
overwrites the committed figures.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping

import numpy as np

from tgsr_lib import checks
from tgsr_lib.data import layout, protocols


def _fail(name: str, value, allowed: str) -> ValueError:
    return ValueError(f"parameter {name}={value!r} is not allowed: {allowed}")


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def check_choice(name: str, value, allowed: Iterable):
    """``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise _fail(name, value, "use one of " + ", ".join(repr(a) for a in allowed))
    return value


def check_choices(name: str, values, allowed: Iterable) -> list:
    """A non-empty list whose items are all in ``allowed``."""
    allowed = tuple(allowed)
    spec = ", ".join(repr(a) for a in allowed)
    if not isinstance(values, (list, tuple)) or not values:
        raise _fail(name, values, f"give a non-empty list of values from {spec}")
    for v in values:
        if v not in allowed:
            raise _fail(name, values, f"{v!r} is not one of {spec}")
    return list(values)


def check_grouping(name: str, value) -> str:
    """A grouping name: ``"authors"`` or ``"blocks"``."""
    return check_choice(name, value, layout.GROUPINGS)


def check_groupings(name: str, values) -> list[str]:
    """A non-empty list of grouping names."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values:
        raise _fail(name, values, f"give a non-empty list of groupings from {layout.GROUPINGS}")
    for v in values:
        if v not in layout.GROUPINGS:
            raise _fail(name, values, f"{v!r} is not a grouping: use values from "
                        f"{layout.GROUPINGS}")
    return list(values)


def _experiment_spec(allowed) -> str:
    allowed = list(allowed)
    if allowed == list(range(1, 13)):
        return "1..12"
    return ", ".join(str(a) for a in allowed)


def check_experiment(name: str, value, allowed: Iterable[int] | None = None) -> int:
    """One experiment number of the paper (1..12), or of ``allowed``."""
    allowed = list(allowed) if allowed is not None else [e.number for e in protocols.EXPERIMENTS]
    if not _is_int(value) or int(value) not in allowed:
        raise _fail(name, value, f"give an experiment number in {_experiment_spec(allowed)}")
    return int(value)


def check_experiments(name: str, values, allowed: Iterable[int] | None = None) -> list[int]:
    """A non-empty list of experiment numbers (1..12, or within ``allowed``)."""
    allowed = list(allowed) if allowed is not None else [e.number for e in protocols.EXPERIMENTS]
    spec = _experiment_spec(allowed)
    if not isinstance(values, (list, tuple)) or not values:
        raise _fail(name, values, f"give a non-empty list of experiment numbers in {spec}")
    for v in values:
        if not _is_int(v) or int(v) not in allowed:
            raise _fail(name, values, f"{v!r} is not an experiment number in {spec}")
    return [int(v) for v in values]


def check_kappa_value(name: str, value, n_groups: int = layout.N_GROUPS, *,
                      optional: bool = False) -> int | None:
    """kappa (kept groups): an integer in ``1..n_groups``; None too when ``optional``."""
    if value is None and optional:
        return None
    try:
        return checks.check_kappa(value, n_groups)
    except ValueError as err:
        extra = " (or None)" if optional else ""
        raise ValueError(f"parameter {name}: {err}{extra}") from None


def check_xi_value(name: str, value, *, optional: bool = False) -> float | None:
    """xi (transfer weight): a finite number >= 0; None too when ``optional``."""
    if value is None and optional:
        return None
    try:
        return checks.check_xi(value)
    except ValueError as err:
        extra = " (or None)" if optional else ""
        raise ValueError(f"parameter {name}: {err}{extra}") from None


def check_grid_xi(name: str, value, *, optional: bool = False) -> float | None:
    """xi on the paper's grid (one of its 271 distinct values, 0.001 .. 1000): curves
    through the grid at another xi would be empty. None too when ``optional``."""
    from tgsr_lib.experiments.axes import paper_xis

    xi = check_xi_value(name, value, optional=optional)
    if xi is None:
        return None
    grid = np.unique(paper_xis())
    if not np.isclose(grid, xi).any():
        near = grid[np.argsort(np.abs(grid - xi))[:2]]
        raise _fail(name, value, f"give one of the grid's {grid.size} xi values "
                    f"({grid[0]:g} .. {grid[-1]:g}; nearest: {near.min():g}, {near.max():g})"
                    + (" or None" if optional else ""))
    return xi


def check_xi_values(name: str, values) -> list[float]:
    """A non-empty list of xi values."""
    if not isinstance(values, (list, tuple)) or not values:
        raise _fail(name, values, "give a non-empty list of finite numbers >= 0")
    return [check_xi_value(name, v) for v in values]


def check_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer in ``minimum..maximum``."""
    bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        raise _fail(name, value, f"give an integer {bound}")
    return int(value)


def check_number(name: str, value, minimum: float = 0.0) -> float:
    """A finite number >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)) \
            or not np.isfinite(float(value)) or value < minimum:
        raise _fail(name, value, f"give a finite number >= {minimum:g}")
    return float(value)


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(name, value, "give True or False")
    return bool(value)


def check_path(name: str, value, *, optional: bool = True):
    """A path (a string), or None when ``optional``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(name, value, "give a path (a string)" + (" or None" if optional else ""))
    return value


def computable(number: int, grouping: str) -> bool:
    """Can a grid of experiment ``number`` exist under ``grouping``? Experiments involving
    SMIC_HS (whose features are not public) have only the authors' recorded grid, under the
    authors' grouping, unless the user supplies the SMIC_HS features."""
    if grouping == "authors" or number in protocols.COMPUTABLE:
        return True
    import os
    from pathlib import Path

    from tgsr_lib.data import datasets

    candidates = []
    if os.environ.get(datasets.HS_ENV):
        candidates.append(Path(os.environ[datasets.HS_ENV]).expanduser())
    if datasets.data_dir() is not None:
        candidates.append(datasets.data_dir() / datasets.feature_path("SMIC_HS"))
    return any(c.is_file() for c in candidates)


def drop_uncomputable(name: str, numbers_: Iterable[int], grouping: str) -> list[int]:
    """The experiments of ``numbers_`` that have a grid under ``grouping``; prints a note
    naming the others (experiments with SMIC_HS under a grouping other than the authors')."""
    numbers_ = list(numbers_)
    kept = [n for n in numbers_ if computable(n, grouping)]
    dropped = [n for n in numbers_ if n not in kept]
    if dropped:
        labels = ", ".join(protocols.get_experiment(n).label for n in dropped)
        print(f"Note: {name}: skipping {labels} under grouping={grouping!r}: SMIC_HS features "
              "are not public, so only the authors' recorded grid (grouping 'authors') exists.")
    return kept


def changed(defaults: Mapping, values: Mapping) -> dict:
    """The parameters whose value differs from the notebook's default (``{name: value}``,
    in the order of ``defaults``)."""
    return {k: values[k] for k in defaults if k in values and values[k] != defaults[k]}
