import warnings

import numpy as np
import pytest

from tgsr_lib.compare import metrics


def naive_macro_f1(t, p):
    scores = []
    for c in sorted(set(t) | set(p)):
        tp = sum(a == c and b == c for a, b in zip(t, p, strict=True))
        prec = tp / sum(b == c for b in p) if any(b == c for b in p) else 0.0
        rec = tp / sum(a == c for a in t) if any(a == c for a in t) else 0.0
        scores.append(0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec))
    return float(np.mean(scores))


def test_hand_example():
    t = [1, 1, 2, 3]
    p = [1, 2, 2, 2]
    assert metrics.accuracy(t, p) == 0.5
    # class 1: P=1 R=.5 F1=2/3; class 2: P=1/3 R=1 F1=.5; class 3: 0
    assert metrics.macro_f1(t, p) == pytest.approx((2 / 3 + 0.5 + 0) / 3)


def test_union_of_labels():
    # a class only predicted, never true, still counts (with F1 0)
    assert metrics.macro_f1([1, 1], [1, 2]) == pytest.approx((2 / 3 + 0) / 2)


def test_batch_equals_single():
    rng = np.random.default_rng(1)
    t = rng.integers(1, 4, 40)
    P = rng.integers(1, 4, (25, 40))
    P[3] = 2  # a constant prediction
    acc, f1 = metrics.score_predictions(t, P)
    for i in range(P.shape[0]):
        assert acc[i] == metrics.accuracy(t, P[i])
        assert f1[i] == pytest.approx(metrics.macro_f1(t, P[i]), abs=1e-15)
        assert f1[i] == pytest.approx(naive_macro_f1(list(t), list(P[i])), abs=1e-12)


def test_confusion_and_errors():
    m = metrics.confusion_matrix([1, 2, 2], [1, 1, 2], labels=[1, 2, 3])
    assert m.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="must match"):
        metrics.accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        metrics.macro_f1([], [])


# --------------------------------------------------------------------------- against sklearn


def _random_labels(seed, labels, n=60):
    """True and predicted labels, with one class that is only predicted and one true class
    that is never predicted (besides the usual confusions)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    only_predicted, never_predicted = labels[-1], labels[0]
    t = rng.choice(labels[:-1], n)  # the last label is never true
    p = np.where(rng.random(n) < 0.6, t, rng.choice(labels, n))
    p[p == never_predicted] = labels[1]  # the first label is never predicted
    p[:2] = only_predicted
    return t, p


LABEL_SETS = [[1, 2, 3, 4], ["negative", "positive", "surprise", "other"], [0, 5, 7]]


@pytest.mark.parametrize("labels", LABEL_SETS, ids=["numbers", "strings", "three"])
@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_sklearn(seed, labels):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    t, p = _random_labels(seed, labels)
    union = np.union1d(t, p)
    assert set(p) - set(t) and set(t) - set(p)  # both special classes occur
    assert metrics.accuracy(t, p) == accuracy_score(t, p)
    ref_f1 = f1_score(t, p, average="macro", labels=union, zero_division=0)
    assert metrics.macro_f1(t, p) == pytest.approx(ref_f1, abs=1e-15)
    per_class = f1_score(t, p, average=None, labels=union, zero_division=0)
    assert list(metrics.f1_per_class(t, p)) == union.tolist()
    np.testing.assert_allclose(list(metrics.f1_per_class(t, p).values()), per_class,
                               rtol=0, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "y_pred contains classes not in y_true"
        ref_uar = balanced_accuracy_score(t, p)
    assert metrics.uar(t, p) == pytest.approx(ref_uar, abs=1e-15)
    # the batched scores of the grids are the same numbers
    acc, f1 = metrics.score_predictions(t, np.stack([p, t, np.roll(p, 3)]))
    assert acc[0] == accuracy_score(t, p) and acc[1] == 1.0
    assert f1[0] == pytest.approx(ref_f1, abs=1e-15) and f1[1] == 1.0
    assert f1[2] == pytest.approx(f1_score(t, np.roll(p, 3), average="macro",
                                           labels=np.union1d(t, p), zero_division=0), abs=1e-15)


def test_uar_counts_true_classes_only():
    # class 1: recall 1/2, class 2: 1/1, class 3: 0/1; class 4 is only predicted
    t = [1, 1, 2, 3]
    p = [1, 2, 2, 4]
    assert metrics.uar(t, p) == pytest.approx((0.5 + 1 + 0) / 3)
    # macro-F1 counts the predicted-only class 4 with F1 0: (2/3 + 2/3 + 0 + 0) / 4
    assert metrics.macro_f1(t, p) == pytest.approx((2 / 3 + 2 / 3) / 4)
    with pytest.raises(ValueError, match="must match"):
        metrics.uar([1, 2], [1])


def test_stats_uses_the_metrics_uar():
    from tgsr_lib.compare import stats

    assert stats.uar is metrics.uar


@pytest.mark.parametrize("labels", LABEL_SETS, ids=["numbers", "strings", "three"])
@pytest.mark.parametrize("seed", range(3))
def test_score_classes_equal_sklearn(seed, labels):
    """UAR and per-class F1 of many prediction vectors (the grids' columns) are
    scikit-learn's balanced_accuracy_score and f1_score(average=None) row by row, for a fixed
    class list that holds classes absent from some rows."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    t, p = _random_labels(seed, labels)
    rows = np.stack([p, t, np.roll(p, 3), np.full_like(p, labels[1])])
    classes = np.asarray(labels)
    uar, f1 = metrics.score_classes(t, rows, classes)
    assert f1.shape == (4, len(labels))
    for i, row in enumerate(rows):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # classes only predicted
            assert uar[i] == pytest.approx(balanced_accuracy_score(t, row), abs=1e-15)
        ref = f1_score(t, row, labels=classes, average=None, zero_division=0)
        np.testing.assert_allclose(f1[i], ref, rtol=0, atol=1e-15)
        assert uar[i] == pytest.approx(metrics.uar(t, row), abs=1e-15)


def test_score_classes_needs_every_true_class():
    with pytest.raises(ValueError, match=r"lack the true label\(s\) \[3\]"):
        metrics.score_classes([1, 3], [[1, 1]], [1, 2])
    with pytest.raises(ValueError, match="must be"):
        metrics.score_classes([1, 3], [1, 1], [1, 2, 3])
