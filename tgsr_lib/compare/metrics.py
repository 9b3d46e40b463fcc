"""Accuracy, macro-F1 and UAR, with the authors' conventions.

* :func:`accuracy`: the fraction of correct predictions (the paper prints it in %);
* :func:`macro_f1`: the mean, over the classes in the *union* of true and predicted labels, of
  the per-class F1 score ``2 TP / (2 TP + FP + FN)`` (:func:`f1_per_class`; 0 where undefined).
  This is the authors' "mean F1" and equals scikit-learn's
  ``f1_score(y_true, y_pred, average="macro", labels=union, zero_division=0)``;
* :func:`uar`: the unweighted average recall (balanced accuracy), the mean over the *true*
  classes of the per-class recall ``TP_c / N_c``; scikit-learn's ``balanced_accuracy_score``.
  A class that is only predicted counts in macro-F1 (with F1 0) but not in UAR.

:func:`score_predictions` scores many prediction vectors at once (the grids); its values are
those of :func:`accuracy` and :func:`macro_f1` row by row. :func:`score_classes` adds, row by
row, :func:`uar` and the F1 of each class of a fixed list (the grids' ``uar`` and ``f1_<class>``
columns). The tests check all of them against scikit-learn on random labels (numbers and
strings, classes only predicted or never predicted).
"""

from __future__ import annotations

import numpy as np


def _check(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has {y_true.size} labels but y_pred has {y_pred.size}: they must match"
        )
    if y_true.size == 0:
        raise ValueError("cannot score an empty set of predictions")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions (the paper reports it in %)."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def f1_per_class(y_true, y_pred) -> dict:
    """Per-class F1 over the union of true and predicted labels."""
    y_true, y_pred = _check(y_true, y_pred)
    out = {}
    for c in np.union1d(y_true, y_pred):
        tp = np.sum((y_true == c) & (y_pred == c))
        fp = np.sum((y_true != c) & (y_pred == c))
        fn = np.sum((y_true == c) & (y_pred != c))
        den = 2 * tp + fp + fn
        out[c.item()] = float(2 * tp / den) if den > 0 else 0.0
    return out


def macro_f1(y_true, y_pred) -> float:
    """Unweighted mean of the per-class F1 scores over the union of true and predicted
    labels (the paper's "mean F1")."""
    return float(np.mean(list(f1_per_class(y_true, y_pred).values())))


def uar(y_true, y_pred) -> float:
    """Unweighted average recall (UAR), also called balanced accuracy.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
        True and predicted labels (numbers or strings).

    Returns
    -------
    float
        Mean over the classes present in ``y_true`` of the per-class recall ``TP_c / N_c``.
        Classes that are only predicted do not count (unlike :func:`macro_f1`, which averages
        over the union of true and predicted classes).

    References
    ----------
    .. [1] K. H. Brodersen, C. S. Ong, K. E. Stephan and J. M. Buhmann, "The balanced
       accuracy and its posterior distribution", ICPR 2010, 3121-3124.
    """
    y_true, y_pred = _check(y_true, y_pred)
    classes = np.unique(y_true)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in classes]))


def confusion_matrix(y_true, y_pred, labels) -> np.ndarray:
    """Counts ``M[i, j]`` of samples of class ``labels[i]`` predicted as ``labels[j]``."""
    y_true, y_pred = _check(y_true, y_pred)
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist(), strict=True):
        if t not in index or p not in index:
            raise ValueError(f"label {t if t not in index else p!r} is not in labels {labels}")
        m[index[t], index[p]] += 1
    return m


def score_predictions(y_true, pred_matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro-F1 of many prediction vectors at once.

    Parameters
    ----------
    y_true : (N,) integer labels.
    pred_matrix : (P, N) predicted labels of P models.

    Returns
    -------
    accuracy, macro_f1 : two (P,) arrays, identical to :func:`accuracy` and :func:`macro_f1`
    applied row by row.
    """
    y_true = np.asarray(y_true).ravel()
    pred = np.asarray(pred_matrix)
    if pred.ndim != 2 or pred.shape[1] != y_true.size:
        raise ValueError(f"pred_matrix must be (P, {y_true.size}), got {pred.shape}")
    correct = pred == y_true[None, :]
    acc = correct.mean(axis=1)
    classes = np.union1d(y_true, np.unique(pred))
    f1_sum = np.zeros(pred.shape[0])
    n_present = np.zeros(pred.shape[0])
    for c in classes:
        f1, present = _class_f1_rows(y_true, pred, c)
        f1_sum += f1
        n_present += present  # c is in the union of true and predicted labels of that row
    return acc, f1_sum / n_present


def _class_f1_rows(y_true: np.ndarray, pred: np.ndarray, c) -> tuple[np.ndarray, np.ndarray]:
    """F1 ``2 TP / (2 TP + FP + FN)`` of class ``c`` in each row of ``pred`` (0 where
    undefined), and whether ``c`` is true or predicted in that row."""
    is_t = (y_true == c)[None, :]
    is_p = pred == c
    tp = np.sum(is_t & is_p, axis=1)
    fp = np.sum(~is_t & is_p, axis=1)
    fn = np.sum(is_t & ~is_p, axis=1)
    den = 2 * tp + fp + fn
    return np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0), den > 0


def score_classes(y_true, pred_matrix: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """UAR and per-class F1 of many prediction vectors at once.

    Parameters
    ----------
    y_true : (N,) labels (numbers or strings).
    pred_matrix : (P, N) predicted labels of P models.
    classes : the classes whose F1 is returned, in this order (e.g. every class of the source
        and target sets, so that all rows of a grid have the same columns).

    Returns
    -------
    uar : (P,) array, :func:`uar` row by row (mean recall over the classes of ``y_true``).
    f1 : (P, C) array, the F1 ``2 TP / (2 TP + FP + FN)`` of ``classes[c]`` in row ``p``; 0
        where a class is neither true nor predicted (scikit-learn's
        ``f1_score(..., average=None, labels=classes, zero_division=0)``).
    """
    y_true = np.asarray(y_true).ravel()
    pred = np.asarray(pred_matrix)
    if pred.ndim != 2 or pred.shape[1] != y_true.size:
        raise ValueError(f"pred_matrix must be (P, {y_true.size}), got {pred.shape}")
    classes = np.asarray(classes).ravel()
    missing = np.setdiff1d(y_true, classes)
    if missing.size:
        raise ValueError(f"classes {classes.tolist()} lack the true label(s) "
                         f"{missing.tolist()}: give every class of the labels")
    f1 = np.zeros((pred.shape[0], classes.size))
    for j, c in enumerate(classes.tolist()):
        f1[:, j] = _class_f1_rows(y_true, pred, c)[0]
    recalls = [np.mean(pred[:, y_true == c] == c, axis=1) for c in np.unique(y_true)]
    return np.mean(recalls, axis=0), f1
