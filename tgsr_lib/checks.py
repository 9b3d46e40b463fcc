"""Validation of user input, shared by every public entrance.

The estimator, the grid problem and solver, the grid runner, the cache, the report helpers and
the ``tgsr`` command line all call these checks, so a bad value gets the same message wherever
it enters: what is wrong, and what to give instead. Every check raises ``ValueError`` (the
command line prints it as one line).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.utils.multiclass import type_of_target

#: Largest grid the runner computes without ``confirm_large=True`` (the command line's
#: ``--yes``): about 20 full paper grids.
MAX_GRID_POINTS = 500_000


def check_kappa(kappa, n_groups: int) -> int:
    """``kappa`` counts kept groups: an integer in ``1..n_groups``."""
    if isinstance(kappa, (bool, np.bool_)) or not isinstance(kappa, (numbers.Real, np.number)):
        raise ValueError(f"kappa={kappa!r} is not a number: give an integer in 1..{n_groups}")
    if not math.isfinite(float(kappa)) or int(kappa) != kappa or not 1 <= int(kappa) <= n_groups:
        raise ValueError(f"kappa={kappa!r} is out of range: it counts kept groups, an integer "
                         f"in 1..{n_groups}")
    return int(kappa)


def check_xi(xi) -> float:
    """``xi`` weighs the transfer term: a finite number >= 0."""
    if isinstance(xi, (bool, np.bool_)) or not isinstance(xi, (numbers.Real, np.number)):
        raise ValueError(f"xi={xi!r} is not a number: give a finite value >= 0")
    xi = float(xi)
    if not math.isfinite(xi) or xi < 0:
        raise ValueError(f"xi={xi!r} is out of range: the transfer weight must be finite "
                         "and >= 0")
    return xi


def check_kappas(kappas, n_groups: int) -> np.ndarray:
    """A non-empty list of valid kappa values as int64."""
    values = np.atleast_1d(np.asarray(kappas, dtype=object)).ravel()
    if values.size == 0:
        raise ValueError("empty kappa list: give at least one value")
    return np.array([check_kappa(k, n_groups) for k in values], dtype=np.int64)


def check_xis(xis) -> np.ndarray:
    """A non-empty list of valid xi values as float64."""
    values = np.atleast_1d(np.asarray(xis, dtype=object)).ravel()
    if values.size == 0:
        raise ValueError("empty xi list: give at least one value")
    return np.array([check_xi(x) for x in values], dtype=np.float64)


def check_points(kappas, xis, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired grid points ``(kappas[p], xis[p])``: equal lengths, every value valid."""
    k = check_kappas(kappas, n_groups)
    x = check_xis(xis)
    if k.size != x.size:
        raise ValueError(f"{k.size} kappa values but {x.size} xi values: grid points come "
                         "in pairs (use grid_points(kappas, xis) for a full grid)")
    return k, x


def check_solver_options(mu0: float, rho: float, mu_max: float, tol: float,
                         max_iter: int) -> dict:
    """The IALM constants of Algorithm 1: ``mu0 > 0``, ``rho >= 1``, ``mu_max >= mu0``,
    ``tol > 0``, ``max_iter`` a positive integer."""
    out = {}
    for name, value in (("mu0", mu0), ("rho", rho), ("mu_max", mu_max), ("tol", tol)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real,
                                                                         np.number)):
            raise ValueError(f"{name}={value!r} is not a number")
        value = float(value)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name}={value!r} is out of range: give a finite value > 0")
        out[name] = value
    if out["rho"] < 1:
        raise ValueError(f"rho={rho!r} is out of range: mu grows by rho each iteration, give "
                         "rho >= 1 (the authors use 1.1)")
    if out["mu_max"] < out["mu0"]:
        raise ValueError(f"mu_max={mu_max!r} is below mu0={mu0!r}: give mu_max >= mu0")
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, (numbers.Integral,
                                                                           np.integer)) \
            or max_iter < 1:
        raise ValueError(f"max_iter={max_iter!r} is out of range: give an integer >= 1")
    out["max_iter"] = int(max_iter)
    return out


def check_positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral,
                                                                     np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} is out of range: give an integer >= 1")
    return int(value)


def check_features(X, name: str = "features", n_features: int | None = None) -> np.ndarray:
    """A 2-D, non-empty, numeric and finite float64 matrix (rows = samples)."""
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name}: sparse input is not supported: give a dense array "
                        "(X.toarray())")
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must be real numbers")
    if arr.dtype.kind == "O":  # e.g. a pandas frame of mixed columns: numbers are fine
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name} are not numbers ({err}): give a numeric "
                            "(samples x features) array") from None
    elif arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} are not numbers (dtype {arr.dtype}): give a numeric "
                         "(samples x features) array")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {arr.shape}: "
                         "Reshape your data, e.g. X.reshape(1, -1) for a single sample")
    for axis, what in ((0, "sample"), (1, "feature")):
        if arr.shape[axis] == 0:  # scikit-learn's wording
            raise ValueError(f"{name} are empty: 0 {what}(s) (shape={arr.shape}) while a "
                             "minimum of 1 is required.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} have {arr.shape[1]} columns, expected {n_features}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} contain NaN or inf (rows {np.flatnonzero(bad)[:10].tolist()}"
                         "): remove or impute them")
    with np.errstate(over="ignore"):
        big = ~np.isfinite(np.einsum("ij,ij->i", arr, arr))
    if big.any():
        raise ValueError(f"{name} are too large: the squared norm of rows "
                         f"{np.flatnonzero(big)[:10].tolist()} overflows; scale the features "
                         "(e.g. with sklearn's StandardScaler)")
    return arr


def check_labels(y, n_samples: int, name: str = "source") -> np.ndarray:
    """One label per sample, 1-D, no missing values (numbers or strings)."""
    if y is None:
        raise ValueError(f"TGSR requires y to be passed, but the target y is None: give the "
                         f"{name} labels")
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} labels must be 1-D (one label per sample), got shape {y.shape}")
    if y.size != n_samples:
        raise ValueError(f"{n_samples} {name} samples but {y.size} labels")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} labels contain NaN or inf")
    if y.dtype.kind == "O":
        if any(v is None or (isinstance(v, float) and not math.isfinite(v)) for v in y):
            raise ValueError(f"{name} labels contain missing values")
    return y


def check_source_target(Xs, ys, Xt, classes=None, n_features: int | None = None):
    """Validate a source/target pair.

    Returns float64 ``Xs``, ``ys``, ``Xt`` and the sorted source classes. ``classes``, when
    given, lists every class the model must predict: one with no source sample is an error.
    """
    Xs = check_features(Xs, "source features", n_features)
    Xt = check_features(Xt, "target features", n_features)
    if Xs.shape[1] != Xt.shape[1]:
        raise ValueError(f"source features have {Xs.shape[1]} columns but target features "
                         f"{Xt.shape[1]}: both must be the same feature vector")
    ys = check_labels(ys, Xs.shape[0], "source")
    if ys.dtype.kind == "f" and type_of_target(ys) == "continuous":
        raise ValueError("Unknown label type: continuous source labels (e.g. "
                         f"{ys[ys != np.round(ys)][0]!r}): TGSR classifies, give class labels")
    found = np.unique(ys)
    if classes is not None:
        classes = np.unique(np.asarray(classes).ravel())
        missing = np.setdiff1d(classes, found)
        if missing.size:
            raise ValueError(
                f"class(es) {missing.tolist()} have no source sample: TGSR cannot learn to "
                "predict them. Use a source database that contains every class."
            )
        extra = np.setdiff1d(found, classes)
        if extra.size:
            raise ValueError(f"source labels {extra.tolist()} are not in classes "
                             f"{classes.tolist()}")
    if found.size < 2:
        raise ValueError(f"the source holds one class {found.tolist()}: need at least two")
    return Xs, ys, Xt, found


def check_grid_size(n_points: int, confirm_large: bool) -> None:
    """Refuse a grid of more than :data:`MAX_GRID_POINTS` points unless confirmed."""
    if n_points > MAX_GRID_POINTS and not confirm_large:
        raise ValueError(
            f"the grid has {n_points:,} points, more than {MAX_GRID_POINTS:,} (about "
            f"{n_points / 23460:.0f} full paper grids of 23,460 points): narrow --kappa/--xi, "
            "or confirm with --yes (confirm_large=True)")


def _label_kind(y: np.ndarray) -> str:
    if y.dtype.kind in "biuf":
        return "numbers"
    if y.dtype.kind in "US":
        return "strings"
    kinds = {"strings" if isinstance(v, (str, bytes, np.str_, np.bytes_)) else
             "numbers" if isinstance(v, (numbers.Real, np.number)) else "other" for v in y.ravel()}
    return kinds.pop() if len(kinds) == 1 else "a mix of numbers and strings"


def _first_label(y: np.ndarray):
    v = y.ravel()[0] if y.size else None
    return v.item() if isinstance(v, np.generic) else v


def check_label_kinds(ys, yt) -> None:
    """Source and target labels of the same kind: both numbers or both strings (``1`` and
    ``"1"`` are different labels, so mixing the two would score every prediction wrong)."""
    ys, yt = np.asarray(ys), np.asarray(yt)
    ks, kt = _label_kind(ys), _label_kind(yt)
    for name, kind in (("source", ks), ("target", kt)):
        if kind not in ("numbers", "strings"):
            raise ValueError(f"{name} labels are {kind}: give one kind of label (numbers or "
                             "strings)")
    if ks != kt:
        raise ValueError(
            f"source labels are {ks} (e.g. {_first_label(ys)!r}) but target labels are {kt} "
            f"(e.g. {_first_label(yt)!r}): label both databases the same way (convert one "
            "with y.astype(int) or y.astype(str))")
