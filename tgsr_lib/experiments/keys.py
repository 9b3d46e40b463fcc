"""The key of a grid: a hash of every input that changes its values.

A grid's values depend on the source and target features and labels, the kappa and xi axes,
the feature groups, the engine, the solver constants (``mu0, rho, mu_max, tol, max_iter``) and
the code (:data:`GRID_VERSION`). The key hashes all of them, with the solver constants
normalised (defaults filled in, so ``tol=1e-8`` given explicitly and the default give the same
key). ``n_slots`` (how many fits run side by side) never changes a value and is left out.

The groups enter as :func:`groups_token`: the name of the authors' two groupings (``"authors"``,
``"blocks"``: a name fixes their layout, and the keys of grids computed before custom groups
existed stay valid), otherwise the name and a hash of the layout
(:meth:`~tgsr_lib.model.groups.GroupLayout.key`: which columns form each group, in order).
"""

from __future__ import annotations

import difflib
import hashlib
import json

import numpy as np

from tgsr_lib.checks import check_positive_int
from tgsr_lib.data.layout import GROUPINGS
from tgsr_lib.model.groups import GroupLayout
from tgsr_lib.model.ialm import solver_options

#: Bump when a change of the engines could change any grid value (invalidates caches).
GRID_VERSION = "1"

#: The engines of :func:`tgsr_lib.experiments.runner.compute_grid`.
ENGINES = ("fast", "reference", "gpu")

#: Options that change the values (the IALM constants of Algorithm 1).
SOLVER_OPTIONS = ("mu0", "rho", "mu_max", "tol", "max_iter")

#: Every engine option: the solver constants and the batch width of the grid engines.
ENGINE_OPTIONS = (*SOLVER_OPTIONS, "n_slots")


def check_engine(engine: str) -> str:
    """``engine`` is one of :data:`ENGINES`."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    return engine


def engine_options(engine: str, options: dict) -> dict:
    """Validated engine options with every solver constant filled in.

    Unknown names (a typo like ``tool=1e-3``) are an error naming the allowed options;
    ``n_slots`` is kept only when given (the grid engines' batch width, not a value of the
    reference solver).
    """
    check_engine(engine)
    unknown = [name for name in options if name not in ENGINE_OPTIONS]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(str(name), ENGINE_OPTIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown engine option {name!r}{hint}: the options are "
                         f"{', '.join(ENGINE_OPTIONS)}")
    out = solver_options(**{k: v for k, v in options.items() if k in SOLVER_OPTIONS})
    if options.get("n_slots") is not None:
        if engine == "reference":
            raise ValueError("n_slots is an option of the grid engines ('fast', 'gpu'): the "
                             "reference solver runs one fit at a time")
        out["n_slots"] = check_positive_int(options["n_slots"], "n_slots")
    return out


def value_options(engine: str, options: dict) -> dict:
    """The options that change the values: the solver constants, defaults filled in."""
    opts = engine_options(engine, options)
    return {k: opts[k] for k in SOLVER_OPTIONS}


def _label_bytes(y) -> np.ndarray:
    """Labels as a fixed-width array (object arrays hold pointers, not values)."""
    y = np.asarray(y)
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    return y.astype(str) if y.dtype.kind == "O" else y


def groups_token(groups: GroupLayout | str) -> str:
    """The groups' part of a grid key.

    ``"authors"`` / ``"blocks"`` (a name, or a layout of that name) give their name;
    any other :class:`~tgsr_lib.model.groups.GroupLayout` gives ``"<name>:<sha256 of its
    layout>"``, so two different custom layouts never share a key.
    """
    if isinstance(groups, GroupLayout):
        if groups.name in GROUPINGS:
            return groups.name
        return f"{groups.name}:{hashlib.sha256(groups.key()).hexdigest()}"
    if isinstance(groups, str):
        return groups
    raise ValueError(f"groups must be a GroupLayout or a grouping name, not "
                     f"{type(groups).__name__} (resolve them with "
                     "tgsr_lib.model.groups.resolve_groups)")


def fingerprint(Xs, ys, Xt, yt, kappas, xis, grouping: GroupLayout | str, engine: str,
                options: dict | None = None) -> str:
    """sha256 (hex) of every input that changes a grid's values.

    ``grouping`` is the :class:`~tgsr_lib.model.groups.GroupLayout` of the features (or the
    name of one of the authors' groupings), see :func:`groups_token`. ``options`` are engine
    options (validated and normalised here: the default solver constants fill the missing
    ones, ``n_slots`` is ignored).
    """
    opts = value_options(engine, options or {})
    h = hashlib.sha256()
    for arr in (np.asarray(Xs, np.float64), _label_bytes(ys), np.asarray(Xt, np.float64),
                _label_bytes(yt), np.asarray(kappas, np.int64), np.asarray(xis, np.float64)):
        arr = np.ascontiguousarray(arr)
        h.update(str(arr.shape).encode() + str(arr.dtype).encode())
        h.update(arr.tobytes())
    h.update(json.dumps([GRID_VERSION, groups_token(grouping), engine,
                         [[k, repr(opts[k])] for k in SOLVER_OPTIONS]]).encode())
    return h.hexdigest()
