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
