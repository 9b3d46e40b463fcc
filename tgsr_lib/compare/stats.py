"""Statistical uncertainty of classification results on one target set.

The target sets of the cross-database experiments are small: 71 samples (SMIC VIS, SMIC NIR),
130 (CASME II) and 164 (SMIC-HS), so a single sample is worth 1.41, 0.77 or 0.61 points of
accuracy. This module answers "is the difference real?" with tools that need only numpy and
scipy:

* :func:`clopper_pearson`: exact confidence interval of an accuracy ``k / n``;
* :func:`bootstrap_interval` (and :func:`bootstrap_accuracy`, :func:`bootstrap_uar`,
  :func:`bootstrap_macro_f1`, :func:`bootstrap_difference`): seeded, class-stratified
  percentile bootstrap intervals of any metric, batched for accuracy, UAR and macro-F1;
* :func:`mcnemar_exact`: two classifiers on the same target samples;
* :func:`sign_test`, :func:`paired_permutation_test`: one method against another across
  several experiments (e.g. the 6 or 12 source-target pairs);
* :func:`holm`: Holm-Bonferroni adjustment when several comparisons are made;
* :func:`is_k_over_n`, :func:`nearest_counts`: whether a printed accuracy can be ``k / N``.

Macro-F1 and UAR are those of :mod:`tgsr_lib.compare.metrics` (macro-F1: the authors'
convention, mean over the union of true and predicted classes; UAR, unweighted average recall
or balanced accuracy: mean over the *true* classes of the per-class recall). :func:`uar` is
re-exported here from there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _sps

from tgsr_lib.compare import metrics as _metrics
from tgsr_lib.compare.metrics import uar

__all__ = [
    "BootstrapResult",
    "accuracy_batch",
    "bootstrap_accuracy",
    "bootstrap_difference",
    "bootstrap_interval",
    "bootstrap_macro_f1",
    "bootstrap_uar",
    "clopper_pearson",
    "holm",
    "is_k_over_n",
    "macro_f1_batch",
    "mcnemar_exact",
    "nearest_counts",
    "paired_permutation_test",
    "sign_test",
    "uar",
    "uar_batch",
]

_ALTERNATIVES = ("two-sided", "greater", "less")
_MAX_EXACT_AUTO = 16  # exact sign-flip enumeration up to 2**16 patterns by default
_MAX_EXACT = 20  # and at most 2**20 when asked for explicitly
_CHUNK = 1 << 15  # rows of sign patterns handled at once


# --------------------------------------------------------------------------- validation


def _check_level(level: float, name: str = "level") -> float:
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number strictly between 0 and 1, got {level!r}"
        ) from None
    if not 0.0 < level < 1.0:
        raise ValueError(
            f"{name} must be strictly between 0 and 1 (e.g. 0.95 for a 95% interval), got {level!r}"
        )
    return level


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise ValueError(
            f"alternative must be one of {', '.join(map(repr, _ALTERNATIVES))}, got {alternative!r}"
        )
    return alternative


def _labels(*arrays: ArrayLike, names: tuple[str, ...]) -> list[np.ndarray]:
    """1-D label vectors of one common, non-zero length."""
    out = [np.asarray(a) for a in arrays]
    for a, name in zip(out, names, strict=True):
        if a.ndim != 1:
            raise ValueError(f"{name} must be a 1-D vector of labels, got shape {a.shape}")
    sizes = {a.size for a in out}
    if len(sizes) > 1:
        desc = ", ".join(f"{name} has {a.size}" for a, name in zip(out, names, strict=True))
        raise ValueError(f"{desc} labels: they must have the same length (one per sample)")
    if out[0].size == 0:
        raise ValueError(f"{', '.join(names)} are empty: give at least one sample")
    return out


def _finite_vector(x: ArrayLike, name: str) -> np.ndarray:
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D vector of numbers") from None
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of numbers, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty: give at least one value")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values: give finite numbers")
    return x


def _integer_array(x: ArrayLike, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer or an array of integers, got {x!r}") from None
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must hold whole numbers (counts), got {x!r}")
    return a.astype(np.int64)


# --------------------------------------------------------------------------- proportions


def clopper_pearson(
    k: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Exact (Clopper-Pearson) confidence interval of a proportion ``k / n``.

    Parameters
    ----------
    k : int or array_like of int
        Number of successes (e.g. correctly classified target samples), ``0 <= k <= n``.
    n : int or array_like of int
        Number of trials (target samples), ``n >= 1``. Broadcast against ``k``.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    low, high : float or ndarray
        Bounds of the interval as proportions in [0, 1] (multiply by 100 for %). Floats when
        ``k`` and ``n`` are scalars, arrays of their broadcast shape otherwise. ``low = 0``
        when ``k = 0`` and ``high = 1`` when ``k = n``.

    Notes
    -----
    ``low = B(alpha/2; k, n-k+1)`` and ``high = B(1-alpha/2; k+1, n-k)`` where ``B(q; a, b)``
    is the ``q`` quantile of the Beta(a, b) distribution and ``alpha = 1 - level``. The
    interval is conservative: its coverage is at least ``level`` for every true proportion.

    References
    ----------
    .. [1] C. J. Clopper and E. S. Pearson, "The use of confidence or fiducial limits
       illustrated in the case of the binomial", Biometrika 26(4), 404-413, 1934.
    .. [2] L. D. Brown, T. T. Cai and A. DasGupta, "Interval estimation for a binomial
       proportion", Statistical Science 16(2), 101-133, 2001.

    Examples
    --------
    >>> low, high = clopper_pearson(50, 71)   # 70.42% accuracy on SMIC VIS
    >>> round(100 * low, 2), round(100 * high, 2)
    (58.41, 80.67)
    """
    level = _check_level(level)
    k_arr = _integer_array(k, "k")
    n_arr = _integer_array(n, "n")
    if np.any(n_arr < 1):
        raise ValueError(f"n must be at least 1 (the number of samples), got {n!r}")
    if np.any(k_arr < 0):
        raise ValueError(f"k must be non-negative (a number of successes), got {k!r}")
    try:
        k_arr, n_arr = np.broadcast_arrays(k_arr, n_arr)
    except ValueError:
        raise ValueError(
            f"k (shape {np.shape(k)}) and n (shape {np.shape(n)}) do not broadcast"
        ) from None
    if np.any(k_arr > n_arr):
        raise ValueError(f"k must not exceed n (k successes out of n trials), got k={k!r}, n={n!r}")
    alpha = 1.0 - level
    # safe shape parameters where the closed-form bound applies (0 or 1)
    a_low = np.where(k_arr > 0, k_arr, 1)
    b_high = np.where(k_arr < n_arr, n_arr - k_arr, 1)
    low = np.where(k_arr > 0, _sps.beta.ppf(alpha / 2, a_low, n_arr - k_arr + 1), 0.0)
    high = np.where(k_arr < n_arr, _sps.beta.ppf(1 - alpha / 2, k_arr + 1, b_high), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


# --------------------------------------------------------------------------- metrics


def _encode(*arrays: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Integer codes 0..C-1 of the labels, over the union of all arrays."""
    flat = np.concatenate([np.asarray(a).ravel() for a in arrays])
    classes, inverse = np.unique(flat, return_inverse=True)
    codes, start = [], 0
    for a in arrays:
        size = np.asarray(a).size
        codes.append(inverse[start : start + size].reshape(np.shape(a)))
        start += size
    return codes, classes.size


def _confusion_batch(t: np.ndarray, p: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrices ``M[b, i, j]`` of (B, N) integer code matrices."""
    b = t.shape[0]
    flat = (np.arange(b)[:, None] * n_classes + t) * n_classes + p
    counts = np.bincount(flat.ravel(), minlength=b * n_classes * n_classes)
    return counts.reshape(b, n_classes, n_classes)


def _batch_from_confusion(kind: str, m: np.ndarray) -> np.ndarray:
    tp = np.diagonal(m, axis1=1, axis2=2).astype(float)
    if kind == "accuracy":
        return tp.sum(axis=1) / m.sum(axis=(1, 2))
    n_true = m.sum(axis=2)
    if kind == "uar":
        present = n_true > 0
        recall = np.where(present, tp / np.maximum(n_true, 1), 0.0)
        return recall.sum(axis=1) / present.sum(axis=1)
    den = n_true + m.sum(axis=1)  # 2 TP + FP + FN = (row sum) + (column sum)
    present = den > 0  # the class is in the union of true and predicted labels
    f1 = np.where(present, 2 * tp / np.maximum(den, 1), 0.0)
    return f1.sum(axis=1) / present.sum(axis=1)


def _batch(kind: str, y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.ndim == 1:
        t = t[None, :]
    if p.ndim == 1:
        p = p[None, :]
    if t.ndim != 2 or p.ndim != 2:
        raise ValueError(
            f"y_true and y_pred must be (B, N) matrices or (N,) vectors, got shapes "
            f"{np.shape(y_true)} and {np.shape(y_pred)}"
        )
    try:
        t, p = np.broadcast_arrays(t, p)
    except ValueError:
        raise ValueError(
            f"y_true {np.shape(y_true)} and y_pred {np.shape(y_pred)} do not match: give "
            "(B, N) and (B, N), or (N,) and (B, N)"
        ) from None
    if t.shape[1] == 0 or t.shape[0] == 0:
        raise ValueError("cannot score an empty set of predictions")
    (tc, pc), n_classes = _encode(t, p)
    return _batch_from_confusion(kind, _confusion_batch(tc, pc, n_classes))


def accuracy_batch(y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    """Accuracy of many label vectors at once.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (B, N) or (N,)
        Row ``b`` holds the true and predicted labels of set ``b``; an (N,) vector is shared
        by all rows.

    Returns
    -------
    ndarray, shape (B,)
        Equal to :func:`tgsr_lib.compare.metrics.accuracy` applied row by row.
    """
    return _batch("accuracy", y_true, y_pred)


def uar_batch(y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    """UAR (:func:`uar`) of many label vectors at once; shapes as :func:`accuracy_batch`."""
    return _batch("uar", y_true, y_pred)


def macro_f1_batch(y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    """Macro-F1 (:func:`tgsr_lib.compare.metrics.macro_f1`, mean over the union of true and
    predicted classes) of many label vectors at once; shapes as :func:`accuracy_batch`."""
    return _batch("macro_f1", y_true, y_pred)


_SCALAR = {"accuracy": _metrics.accuracy, "uar": uar, "macro_f1": _metrics.macro_f1}
_KIND_OF: dict[Callable, str] = {
    _metrics.accuracy: "accuracy",
    uar: "uar",
    _metrics.macro_f1: "macro_f1",
    accuracy_batch: "accuracy",
    uar_batch: "uar",
    macro_f1_batch: "macro_f1",
}


def _resolve_metric(metric) -> tuple[Callable, str | None]:
    """The scalar metric and, for the three built-ins, the name of its batched form."""
    if isinstance(metric, str):
        if metric not in _SCALAR:
            raise ValueError(
                f"unknown metric {metric!r}: give one of {sorted(_SCALAR)} or a callable "
                "metric(y_true, y_pred) -> float"
            )
        return _SCALAR[metric], metric
    if not callable(metric):
        raise ValueError(
            f"metric must be a callable metric(y_true, y_pred) -> float or one of "
            f"{sorted(_SCALAR)}, got {metric!r}"
        )
    try:
        kind = _KIND_OF.get(metric)
    except TypeError:  # unhashable callable
        kind = None
    if kind is not None:
        return _SCALAR[kind], kind
    return metric, None


# --------------------------------------------------------------------------- bootstrap


class BootstrapResult(NamedTuple):
    """Point estimate and percentile-bootstrap interval (unpacks as a 3-tuple)."""

    estimate: float
    low: float
    high: float


def _resample_indices(y_true: np.ndarray, n_boot: int, seed, stratified: bool) -> np.ndarray:
    """(n_boot, N) indices of bootstrap resamples, drawn all at once."""
    rng = np.random.default_rng(seed)
    n = y_true.size
    if not stratified:
        return rng.integers(0, n, size=(n_boot, n))
    _, codes = np.unique(y_true, return_inverse=True)
    blocks = []
    for c in range(codes.max() + 1):
        members = np.flatnonzero(codes == c)
        blocks.append(members[rng.integers(0, members.size, size=(n_boot, members.size))])
    return np.concatenate(blocks, axis=1)


def _bootstrap_scores(
    kind: str | None, metric: Callable, t: np.ndarray, preds: list[np.ndarray], idx: np.ndarray
) -> list[np.ndarray]:
    if kind is not None:
        (tc, *pcs), n_classes = _encode(t, *preds)
        tb = tc[idx]
        return [_batch_from_confusion(kind, _confusion_batch(tb, pc[idx], n_classes)) for pc in pcs]
    return [np.array([float(metric(t[row], p[row])) for row in idx], dtype=float) for p in preds]


def _check_bootstrap_args(n_boot, level) -> tuple[int, float]:
    return _check_positive_int(n_boot, "n_boot"), _check_level(level)


def _percentile(samples: np.ndarray, level: float) -> tuple[float, float]:
    if not np.all(np.isfinite(samples)):
        raise ValueError(
            "the metric returned NaN or infinite values on some bootstrap resamples: give a "
            "metric defined on every resample (e.g. one that handles absent classes)"
        )
    alpha = 1.0 - level
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_interval(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    metric: Callable[[np.ndarray, np.ndarray], float] | str,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int | None = 0,
    stratified: bool = True,
) -> BootstrapResult:
    """Percentile-bootstrap confidence interval of a classification metric.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
        True and predicted labels of the target samples.
    metric : callable or {"accuracy", "uar", "macro_f1"}
        ``metric(y_true, y_pred) -> float``. :func:`tgsr_lib.compare.metrics.accuracy`,
        :func:`tgsr_lib.compare.metrics.macro_f1` and :func:`uar` (or their names) are
        computed in one batched pass over all resamples; any other callable is called once
        per resample.
    n_boot : int, default 2000
        Number of bootstrap resamples.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.
    seed : int or None, default 0
        Seed of :func:`numpy.random.default_rng`; the result is deterministic for a given
        seed.
    stratified : bool, default True
        Resample with replacement within each true class, so that every resample keeps the
        class counts of ``y_true`` (the test sets are fixed, only the samples vary). When
        False, resample the N samples freely.

    Returns
    -------
    BootstrapResult
        ``(estimate, low, high)``: the metric on the full data and the ``(1-level)/2`` and
        ``(1+level)/2`` quantiles of its bootstrap distribution, as fractions.

    Notes
    -----
    The interval describes the sampling variability of the *target set*, with the fitted
    model held fixed; it does not include the variability from training or from choosing
    hyper-parameters on the target labels.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman &
       Hall, 1993 (chapter 13, percentile intervals).
    .. [2] A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their Application*,
       Cambridge University Press, 1997 (section 3.2, stratified resampling).
    """
    y_true, y_pred = _labels(y_true, y_pred, names=("y_true", "y_pred"))
    n_boot, level = _check_bootstrap_args(n_boot, level)
    scalar, kind = _resolve_metric(metric)
    estimate = float(scalar(y_true, y_pred))
    idx = _resample_indices(y_true, n_boot, seed, stratified)
    (samples,) = _bootstrap_scores(kind, scalar, y_true, [y_pred], idx)
    return BootstrapResult(estimate, *_percentile(samples, level))


def bootstrap_accuracy(y_true: ArrayLike, y_pred: ArrayLike, **kwargs) -> BootstrapResult:
    """:func:`bootstrap_interval` of the accuracy; ``kwargs`` as there."""
    return bootstrap_interval(y_true, y_pred, _metrics.accuracy, **kwargs)


def bootstrap_uar(y_true: ArrayLike, y_pred: ArrayLike, **kwargs) -> BootstrapResult:
    """:func:`bootstrap_interval` of the UAR (:func:`uar`); ``kwargs`` as there."""
    return bootstrap_interval(y_true, y_pred, uar, **kwargs)


def bootstrap_macro_f1(y_true: ArrayLike, y_pred: ArrayLike, **kwargs) -> BootstrapResult:
    """:func:`bootstrap_interval` of the authors' macro-F1; ``kwargs`` as there."""
    return bootstrap_interval(y_true, y_pred, _metrics.macro_f1, **kwargs)


def bootstrap_difference(
    y_true: ArrayLike,
    pred_a: ArrayLike,
    pred_b: ArrayLike,
    metric: Callable[[np.ndarray, np.ndarray], float] | str,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int | None = 0,
    stratified: bool = True,
) -> BootstrapResult:
    """Paired percentile-bootstrap interval of ``metric(a) - metric(b)`` on one target set.

    Both classifiers are scored on the *same* resamples, so the interval reflects the
    variability of their difference (the paired design), not of each score separately. An
    interval that excludes 0 suggests a real difference at that level; for accuracy,
    :func:`mcnemar_exact` is the corresponding exact test.

    Parameters
    ----------
    y_true, pred_a, pred_b : array_like, shape (N,)
        True labels and the predictions of classifiers A and B.
    metric, n_boot, level, seed, stratified
        As in :func:`bootstrap_interval`.

    Returns
    -------
    BootstrapResult
        ``(estimate, low, high)`` of ``metric(y_true, pred_a) - metric(y_true, pred_b)``.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman &
       Hall, 1993.
    """
    y_true, pred_a, pred_b = _labels(y_true, pred_a, pred_b, names=("y_true", "pred_a", "pred_b"))
    n_boot, level = _check_bootstrap_args(n_boot, level)
    scalar, kind = _resolve_metric(metric)
    estimate = float(scalar(y_true, pred_a)) - float(scalar(y_true, pred_b))
    idx = _resample_indices(y_true, n_boot, seed, stratified)
    sa, sb = _bootstrap_scores(kind, scalar, y_true, [pred_a, pred_b], idx)
    return BootstrapResult(estimate, *_percentile(sa - sb, level))


# --------------------------------------------------------------------------- paired tests


def mcnemar_exact(y_true: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike) -> dict:
    """Exact McNemar test of two classifiers on the same samples.

    Parameters
    ----------
    y_true, pred_a, pred_b : array_like, shape (N,)
        True labels and the predictions of classifiers A and B on the same samples.

    Returns
    -------
    dict
        ``b``: samples A classifies correctly and B wrongly; ``c``: A wrongly and B
        correctly; ``n_discordant``: ``b + c``; ``p_value``: two-sided exact p-value
        ``min(1, 2 * Binom.cdf(min(b, c); b + c, 1/2))``, 1 when ``b + c = 0``.

    Notes
    -----
    Only the discordant samples carry information about the difference in accuracy; under
    the null hypothesis of equal accuracy each is equally likely to favour A or B. The exact
    (binomial) form is appropriate for the small target sets here, where ``b + c`` is often
    below 25.

    References
    ----------
    .. [1] Q. McNemar, "Note on the sampling error of the difference between correlated
       proportions or percentages", Psychometrika 12(2), 153-157, 1947.
    .. [2] T. G. Dietterich, "Approximate statistical tests for comparing supervised
       classification learning algorithms", Neural Computation 10(7), 1895-1923, 1998.
    """
    y_true, pred_a, pred_b = _labels(y_true, pred_a, pred_b, names=("y_true", "pred_a", "pred_b"))
    right_a = pred_a == y_true
    right_b = pred_b == y_true
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    n_disc = b + c
    p = 1.0 if n_disc == 0 else min(1.0, 2.0 * float(_sps.binom.cdf(min(b, c), n_disc, 0.5)))
    return {"b": b, "c": c, "p_value": p, "n_discordant": n_disc}


def holm(p_values: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm-Bonferroni step-down adjustment of several p-values.

    Parameters
    ----------
    p_values : array_like, shape (m,)
        Unadjusted p-values in [0, 1].
    alpha : float, default 0.05
        Family-wise error rate, strictly between 0 and 1.

    Returns
    -------
    adjusted : ndarray, shape (m,)
        Adjusted p-values in the input order: with ``p_(1) <= ... <= p_(m)`` sorted,
        ``adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))`` (monotone in the sorted order).
    reject : ndarray of bool, shape (m,)
        ``adjusted <= alpha``: the hypotheses rejected by Holm's procedure at level
        ``alpha``, in the input order.

    References
    ----------
    .. [1] S. Holm, "A simple sequentially rejective multiple test procedure", Scandinavian
       Journal of Statistics 6(2), 65-70, 1979.

    Examples
    --------
    >>> adjusted, reject = holm([0.01, 0.04, 0.03])
    >>> adjusted.round(2).tolist(), reject.tolist()
    ([0.03, 0.06, 0.06], [True, False, False])
    """
    p = _finite_vector(p_values, "p_values")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p_values must lie in [0, 1], got {p.tolist()}")
    alpha = _check_level(alpha, "alpha")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted, adjusted <= alpha


def sign_test(diffs: ArrayLike, alternative: str = "two-sided", *, zero_tol: float = 0.0) -> dict:
    """Exact sign test of paired differences (e.g. one method minus another per experiment).

    Parameters
    ----------
    diffs : array_like, shape (n,)
        Paired differences ``a_i - b_i``, one per experiment.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        ``"greater"``: A tends to be better (more positive than negative differences);
        ``"less"``: B tends to be better.
    zero_tol : float, default 0.0
        Differences with ``|d| <= zero_tol`` count as ties and are dropped.

    Returns
    -------
    dict
        ``n_positive``, ``n_negative``, ``n_ties`` and ``p_value``, the exact binomial
        p-value of ``n_positive`` successes in ``n_positive + n_negative`` trials with
        probability 1/2 (1 when every difference is a tie). Two-sided:
        ``min(1, 2 min(P(X <= n_pos), P(X >= n_pos)))``.

    References
    ----------
    .. [1] W. J. Dixon and A. M. Mood, "The statistical sign test", Journal of the
       American Statistical Association 41(236), 557-566, 1946.
    .. [2] J. Demsar, "Statistical comparisons of classifiers over multiple data sets",
       Journal of Machine Learning Research 7, 1-30, 2006 (section 3.1.3).

    Examples
    --------
    A method better on 5 of 6 experiments: one-sided ``p = (1 + 6) / 2**6 = 7/64``.

    >>> round(sign_test([1, 2, 3, 4, 5, -1], "greater")["p_value"], 4)
    0.1094
    """
    d = _finite_vector(diffs, "diffs")
    alternative = _check_alternative(alternative)
    if not (np.isfinite(zero_tol) and zero_tol >= 0):
        raise ValueError(f"zero_tol must be a finite number >= 0, got {zero_tol!r}")
    pos = int(np.sum(d > zero_tol))
    neg = int(np.sum(d < -zero_tol))
    ties = d.size - pos - neg
    n = pos + neg
    if n == 0:
        p = 1.0
    else:
        greater = float(_sps.binom.sf(pos - 1, n, 0.5))  # P(X >= pos)
        less = float(_sps.binom.cdf(pos, n, 0.5))  # P(X <= pos)
        p = {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}[
            alternative
        ]
    return {"n_positive": pos, "n_negative": neg, "n_ties": ties, "p_value": p}


def _exceed_counts(sums: np.ndarray, observed: float, tol: float) -> tuple[int, int, int]:
    """Counts of T* >= T, T* <= T and |T*| >= |T|, with a tolerance for rounding."""
    return (
        int(np.sum(sums >= observed - tol)),
        int(np.sum(sums <= observed + tol)),
        int(np.sum(np.abs(sums) >= abs(observed) - tol)),
    )


def paired_permutation_test(
    a: ArrayLike,
    b: ArrayLike,
    n_perm: int = 10000,
    seed: int | None = 0,
    alternative: str = "two-sided",
    exact: bool | None = None,
) -> dict:
    """Paired (sign-flip) permutation test of the mean difference ``mean(a - b)``.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired scores (e.g. accuracy of two methods on the same n experiments).
    n_perm : int, default 10000
        Number of random sign flips in the Monte-Carlo test.
    seed : int or None, default 0
        Seed of :func:`numpy.random.default_rng` for the Monte-Carlo test.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        ``"greater"``: ``mean(a - b) > 0`` under the alternative.
    exact : bool or None, default None
        None: enumerate all ``2**m`` sign patterns of the ``m`` non-zero differences when
        ``m <= 16``, otherwise draw ``n_perm`` random ones. True: always enumerate (at most
        ``m = 20``). False: always draw.

    Returns
    -------
    dict
        ``mean_diff`` (observed ``mean(a - b)``), ``p_value``, ``exact`` (whether all
        patterns were enumerated) and ``n_perm`` (patterns enumerated or drawn). The exact
        p-value is the fraction of patterns whose statistic is at least as extreme as the
        observed one (the identity pattern included); the Monte-Carlo p-value is
        ``(1 + count) / (1 + n_perm)``, which is never 0.

    Notes
    -----
    Under the null hypothesis the distribution of each difference is symmetric about 0, so
    its sign is exchangeable. Zero differences do not change the statistic under any flip
    and are left out of the enumeration.

    References
    ----------
    .. [1] P. Good, *Permutation, Parametric, and Bootstrap Tests of Hypotheses*, 3rd ed.,
       Springer, 2005 (section 3.7.2, matched pairs).
    .. [2] B. Phipson and G. K. Smyth, "Permutation p-values should never be zero",
       Statistical Applications in Genetics and Molecular Biology 9(1), article 39, 2010.
    """
    a_arr = _finite_vector(a, "a")
    b_arr = _finite_vector(b, "b")
    if a_arr.size != b_arr.size:
        raise ValueError(
            f"a has {a_arr.size} values but b has {b_arr.size}: give one pair per experiment"
        )
    alternative = _check_alternative(alternative)
    n_perm = _check_positive_int(n_perm, "n_perm")
    if exact not in (None, True, False):
        raise ValueError(f"exact must be None, True or False, got {exact!r}")
    d_all = a_arr - b_arr
    d = d_all[d_all != 0]
    m = d.size
    if exact is None:
        exact = m <= _MAX_EXACT_AUTO
    if exact and m > _MAX_EXACT:
        raise ValueError(
            f"exact enumeration of 2**{m} sign patterns is too large (at most 2**{_MAX_EXACT}):"
            " pass exact=None or exact=False for the Monte-Carlo test"
        )
    observed = float(d.sum())
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))
    ge = le = ab = 0
    if exact:
        total = 1 << m
        bits = np.arange(m)
        for start in range(0, total, _CHUNK):
            patterns = np.arange(start, min(start + _CHUNK, total))
            signs = 1.0 - 2.0 * ((patterns[:, None] >> bits) & 1)
            g, lo, ab_ = _exceed_counts(signs @ d, observed, tol)
            ge, le, ab = ge + g, le + lo, ab + ab_
        count = {"greater": ge, "less": le, "two-sided": ab}[alternative]
        p = count / total
        used = total
    else:
        rng = np.random.default_rng(seed)
        for start in range(0, n_perm, _CHUNK):
            size = min(_CHUNK, n_perm - start)
            signs = 1.0 - 2.0 * rng.integers(0, 2, size=(size, m))
            g, lo, ab_ = _exceed_counts(signs @ d, observed, tol)
            ge, le, ab = ge + g, le + lo, ab + ab_
        count = {"greater": ge, "less": le, "two-sided": ab}[alternative]
        p = (1 + count) / (1 + n_perm)
        used = n_perm
    return {
        "mean_diff": float(d_all.mean()),
        "p_value": float(min(1.0, p)),
        "exact": bool(exact),
        "n_perm": int(used),
    }


# --------------------------------------------------------------------------- printed numbers


def _check_percent_and_n(value_percent, n) -> tuple[float, int]:
    try:
        v = float(value_percent)
    except (TypeError, ValueError):
        raise ValueError(
            f"value_percent must be a number in [0, 100], got {value_percent!r}"
        ) from None
    if not (math.isfinite(v) and 0.0 <= v <= 100.0):
        raise ValueError(
            f"value_percent must be a percentage in [0, 100] (e.g. 61.50), got {value_percent!r}"
        )
    return v, _check_positive_int(n, "n")


def nearest_counts(value_percent: float, n: int) -> list[tuple[int, float]]:
    """The counts ``k`` whose ``100 k / n`` bracket a reported percentage.

    Parameters
    ----------
    value_percent : float
        A reported accuracy in %, in [0, 100].
    n : int
        Number of samples of the target set.

    Returns
    -------
    list of (int, float)
        ``(k, 100 k / n)`` for ``k = floor(v n / 100)`` and ``ceil(v n / 100)`` (one entry
        when they coincide), in increasing order.

    Examples
    --------
    >>> [(k, round(p, 2)) for k, p in nearest_counts(61.50, 71)]
    [(43, 60.56), (44, 61.97)]
    """
    v, n = _check_percent_and_n(value_percent, n)
    x = v * n / 100.0
    ks = sorted({min(n, max(0, math.floor(x))), min(n, max(0, math.ceil(x)))})
    return [(k, 100.0 * k / n) for k in ks]


def is_k_over_n(value_percent: float, n: int, decimals: int = 2) -> bool:
    """Whether a reported percentage is ``100 k / n`` rounded to ``decimals``, for some k.

    Parameters
    ----------
    value_percent : float
        A reported accuracy in % (e.g. 61.50).
    n : int
        Number of samples of the target set (71, 130 or 164 here).
    decimals : int, default 2
        Number of decimals the value was printed with.

    Returns
    -------
    bool
        True when some integer ``0 <= k <= n`` has ``|100 k / n - value| <= 0.5 10**-decimals``
        (either rounding rule at an exact half counts), up to floating-point error.

    Examples
    --------
    >>> is_k_over_n(61.97, 71), is_k_over_n(61.50, 71)
    (True, False)
    """
    v, n = _check_percent_and_n(value_percent, n)
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative integer, got {decimals!r}")
    half = 0.5 * 10.0 ** (-int(decimals))
    centre = round(v * n / 100.0)
    for k in (centre - 1, centre, centre + 1):
        if 0 <= k <= n and abs(100.0 * k / n - v) <= half + 1e-9:
            return True
    return False
