"""Predictions at chosen points and the paired comparisons built on them
(:mod:`tgsr_lib.compare.paired`), against scipy, statsmodels, scikit-learn and the authors'
records."""

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.svm import SVC

from tgsr_lib.compare import paired
from tgsr_lib.data import datasets

from .conftest import requires_data


def _random_pairs(seed, n=71, n_classes=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    a = np.where(rng.random(n) < 0.7, y, rng.integers(0, n_classes, n))
    b = np.where(rng.random(n) < 0.5, y, rng.integers(0, n_classes, n))
    return y, a, b


def test_summary_matches_statsmodels_and_sklearn():
    from statsmodels.stats.proportion import proportion_confint

    y, a, _ = _random_pairs(0)
    s = paired.summary(y, a)
    k = int(np.sum(y == a))
    lo, hi = proportion_confint(k, y.size, alpha=0.05, method="beta")
    assert s["correct"] == k and s["n"] == y.size
    assert s["accuracy_low"] == pytest.approx(lo, abs=1e-12)
    assert s["accuracy_high"] == pytest.approx(hi, abs=1e-12)
    assert s["uar"] == pytest.approx(balanced_accuracy_score(y, a), abs=1e-12)
    for c, f in zip(np.unique(y), f1_score(y, a, average=None, labels=np.unique(y)), strict=True):
        assert s[f"f1_{c}"] == pytest.approx(f, abs=1e-12)
    assert s["macro_f1_low"] <= s["macro_f1"] <= s["macro_f1_high"]
    assert s["uar_low"] <= s["uar"] <= s["uar_high"]
    assert paired.summary(y, a) == s  # seeded bootstrap: deterministic


@pytest.mark.parametrize("seed", range(5))
def test_paired_tests_against_binomial_and_statsmodels_holm(seed):
    from statsmodels.stats.multitest import multipletests

    y, a, b = _random_pairs(seed)
    c = np.where(np.random.default_rng(seed + 10).random(y.size) < 0.6, y, a)
    df = paired.paired_tests(y, {"TGSR": a, "B": b, "C": c})
    for _, row in df.iterrows():
        other = {"B": b, "C": c}[row.method]
        n10 = int(np.sum((a == y) & (other != y)))
        n01 = int(np.sum((a != y) & (other == y)))
        assert (row.reference_only, row.other_only) == (n10, n01)
        p = 1.0 if n10 + n01 == 0 else sps.binomtest(n10, n10 + n01, 0.5).pvalue
        assert row.p_value == pytest.approx(p, abs=1e-12)
    expected = multipletests(df.p_value, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose(df.p_holm, expected, atol=1e-12)


def test_verdict_follows_the_evidence():
    y = np.zeros(60, dtype=int)
    good = y.copy()
    bad = np.ones(60, dtype=int)
    assert paired.paired_tests(y, {"TGSR": good, "X": bad}).verdict[0] == "TGSR better"
    assert paired.paired_tests(y, {"TGSR": bad, "X": good}).verdict[0] == "X better"
    near = good.copy()
    near[:2] = 1
    assert paired.paired_tests(y, {"TGSR": good, "X": near}).verdict[0] == \
        "no significant difference"
    with pytest.raises(ValueError, match="reference"):
        paired.paired_tests(y, {"X": good})


@requires_data
def test_tgsr_predictions_equal_the_record():
    """Exp.5 (V->N) at two points: the correct counts and macro-F1 of the authors' record."""
    from tgsr_lib.compare import metrics

    rec = datasets.load_record("SMIC_VIS", "SMIC_NIR")
    for kappa, xi in [(12, 44.0), (40, 0.1)]:
        row = rec[(rec.kappa == kappa) & np.isclose(rec.xi, xi)].iloc[0]
        y, pred = paired.tgsr_predictions(5, kappa, xi)
        assert int(np.sum(y == pred)) == round(row.accuracy * y.size)
        assert metrics.macro_f1(y, pred) == pytest.approx(row.macro_f1, abs=1e-12)


@requires_data
def test_baseline_predictions_equal_a_plain_svc():
    Xs, ys, _ = datasets.load_features("SMIC_NIR")
    Xt, yt, _ = datasets.load_features("SMIC_VIS")
    y, pred = paired.baseline_predictions("SVM", 6, '{"C": 0.1}')
    np.testing.assert_array_equal(y, yt)
    np.testing.assert_array_equal(pred, SVC(kernel="linear", C=0.1).fit(Xs, ys).predict(Xt))


def test_holm_family_covers_every_row():
    """Several experiments' comparisons adjusted together equal statsmodels' Holm over all."""
    from statsmodels.stats.multitest import multipletests

    parts = []
    for seed in range(3):
        y, a, b = _random_pairs(seed)
        parts.append(paired.paired_tests(y, {"TGSR": a, "B": b}).assign(experiment=seed))
    import pandas as pd

    family = paired.holm_family(pd.concat(parts, ignore_index=True))
    expected = multipletests(family.p_value, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose(family.p_holm, expected, atol=1e-12)
    assert (family.p_holm >= family.p_value).all()
