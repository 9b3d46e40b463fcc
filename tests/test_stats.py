"""Tests of tgsr_lib.compare.stats against independent references: scipy's binomial test and
Beta distribution, scikit-learn's balanced accuracy, scipy's bootstrap and permutation test,
statsmodels (when installed) and hand-worked values."""

import numpy as np
import pytest
from scipy import stats as sps

from tgsr_lib.compare import metrics, stats

N_TARGETS = (71, 130, 164)  # SMIC VIS / NIR, CASME II, SMIC-HS
SCALAR = {"accuracy": metrics.accuracy, "uar": stats.uar, "macro_f1": metrics.macro_f1}


def noisy_predictions(rng, n, n_classes=3, p_right=0.6, labels=None):
    t = rng.integers(0, n_classes, n)
    p = np.where(rng.random(n) < p_right, t, rng.integers(0, n_classes, n))
    if labels is not None:
        labels = np.asarray(labels)
        return labels[t], labels[p]
    return t, p


# --------------------------------------------------------------------------- Clopper-Pearson


@pytest.mark.parametrize("n", N_TARGETS)
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_scipy_binomtest(n, level):
    # scipy's own exact interval (BinomTestResult.proportion_ci, method="exact")
    for k in sorted({0, 1, 2, n // 3, n // 2, n - 2, n - 1, n}):
        low, high = stats.clopper_pearson(k, n, level)
        ci = sps.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
        assert low == pytest.approx(ci.low, abs=1e-12)
        assert high == pytest.approx(ci.high, abs=1e-12)


def test_clopper_pearson_matches_statsmodels():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for n in N_TARGETS:
        k = np.arange(n + 1)
        low, high = stats.clopper_pearson(k, n)
        ref_low, ref_high = proportion.proportion_confint(k, n, alpha=0.05, method="beta")
        # statsmodels gives nan at k = 0 / k = n on some versions; the closed forms are 0 / 1
        ref_low = np.where(k == 0, 0.0, ref_low)
        ref_high = np.where(k == n, 1.0, ref_high)
        np.testing.assert_allclose(low, ref_low, atol=1e-12)
        np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_clopper_pearson_edges_closed_form():
    # P(X = 0) = (1 - p)^n = alpha/2  =>  high(0) = 1 - (alpha/2)^(1/n); symmetric for k = n
    for n in N_TARGETS:
        low, high = stats.clopper_pearson(0, n)
        assert low == 0.0
        assert high == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-10)
        low, high = stats.clopper_pearson(n, n)
        assert high == 1.0
        assert low == pytest.approx(0.025 ** (1 / n), rel=1e-10)
    # n = 1, k = 1: the only condition is p >= alpha/2
    assert stats.clopper_pearson(1, 1) == (pytest.approx(0.025), 1.0)


def test_clopper_pearson_50_of_71_and_tail_definition():
    low, high = stats.clopper_pearson(50, 71)
    assert isinstance(low, float) and isinstance(high, float)
    assert low < 50 / 71 < high
    # definition: P(X >= 50 | p = low) = 0.025 and P(X <= 50 | p = high) = 0.025
    assert sps.binom.sf(49, 71, low) == pytest.approx(0.025, abs=1e-10)
    assert sps.binom.cdf(50, 71, high) == pytest.approx(0.025, abs=1e-10)


def test_clopper_pearson_vectorised_and_coverage():
    n = 71
    k = np.arange(n + 1)
    low, high = stats.clopper_pearson(k, n)
    assert low.shape == high.shape == (n + 1,)
    for kk in (0, 17, 50, 71):
        assert (low[kk], high[kk]) == pytest.approx(stats.clopper_pearson(kk, n))
    # broadcasting over n too
    lo2, hi2 = stats.clopper_pearson([[10], [20]], [71, 130])
    assert lo2.shape == (2, 2)
    assert hi2[1, 1] == pytest.approx(stats.clopper_pearson(20, 130)[1])
    # exact coverage >= level at every true proportion (conservative interval)
    for p in np.linspace(0.01, 0.99, 57):
        covered = (low <= p) & (p <= high)
        assert sps.binom.pmf(k, n, p)[covered].sum() >= 0.95 - 1e-12


def test_clopper_pearson_errors():
    with pytest.raises(ValueError, match="must not exceed n"):
        stats.clopper_pearson(72, 71)
    with pytest.raises(ValueError, match="non-negative"):
        stats.clopper_pearson(-1, 71)
    with pytest.raises(ValueError, match="at least 1"):
        stats.clopper_pearson(0, 0)
    with pytest.raises(ValueError, match="whole numbers"):
        stats.clopper_pearson(2.5, 71)
    for level in (0, 1, 1.5, -0.1, 95):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            stats.clopper_pearson(50, 71, level)


# --------------------------------------------------------------------------- metrics


def test_uar_hand_and_sklearn():
    from sklearn.metrics import balanced_accuracy_score

    # class 1: recall 1/2, class 2: 1/1, class 3: 0/1; class 4 is only predicted, not counted
    t = [1, 1, 2, 3]
    p = [1, 2, 2, 4]
    assert stats.uar(t, p) == pytest.approx((0.5 + 1 + 0) / 3)
    rng = np.random.default_rng(3)
    for _ in range(5):
        t, p = noisy_predictions(rng, 130)
        assert stats.uar(t, p) == pytest.approx(balanced_accuracy_score(t, p), abs=1e-14)


def test_batched_metrics_equal_scalar_ones():
    rng = np.random.default_rng(7)
    t, _ = noisy_predictions(rng, 50, labels=["neg", "pos", "sur"])
    P = np.array([noisy_predictions(rng, 50, labels=["neg", "pos", "sur"])[1] for _ in range(20)])
    P[0] = "neg"  # a constant prediction
    P[1, :5] = "other"  # a class that is only predicted
    T = np.tile(t, (20, 1))
    T[2] = np.sort(T[2])  # a row with its own true labels
    acc = stats.accuracy_batch(T, P)
    u = stats.uar_batch(T, P)
    f1 = stats.macro_f1_batch(T, P)
    for i in range(20):
        assert acc[i] == pytest.approx(metrics.accuracy(T[i], P[i]), abs=1e-15)
        assert u[i] == pytest.approx(stats.uar(T[i], P[i]), abs=1e-15)
        assert f1[i] == pytest.approx(metrics.macro_f1(T[i], P[i]), abs=1e-15)
    # a shared (N,) y_true broadcasts against (B, N) predictions
    np.testing.assert_allclose(stats.macro_f1_batch(t, P[3:]), f1[3:], atol=1e-15)
    np.testing.assert_allclose(metrics.score_predictions(t, P)[1], stats.macro_f1_batch(t, P))


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_deterministic_for_a_seed():
    rng = np.random.default_rng(0)
    t, p = noisy_predictions(rng, 164)
    for metric in ("accuracy", "uar", "macro_f1"):
        r1 = stats.bootstrap_interval(t, p, metric, seed=5)
        r2 = stats.bootstrap_interval(t, p, metric, seed=5)
        assert r1 == r2
        # other seeds draw other resamples (the quantiles of a discrete metric can coincide
        # for two seeds, not for five)
        others = {stats.bootstrap_interval(t, p, metric, seed=s) for s in range(5)}
        assert len(others) > 1
        assert {r.estimate for r in others} == {r1.estimate}


def test_bootstrap_keeps_class_counts_when_stratified():
    rng = np.random.default_rng(1)
    t, p = noisy_predictions(rng, 71)
    t[:3] = 2  # make sure no class is tiny by accident
    target = np.bincount(t, minlength=3)
    seen = []

    def recording_accuracy(y_true, y_pred):
        seen.append(np.bincount(y_true, minlength=3))
        return metrics.accuracy(y_true, y_pred)

    stats.bootstrap_interval(t, p, recording_accuracy, n_boot=300, seed=0)
    assert len(seen) == 301  # the estimate on the full data, then 300 resamples
    assert all(np.array_equal(c, target) for c in seen)
    seen.clear()
    stats.bootstrap_interval(t, p, recording_accuracy, n_boot=300, seed=0, stratified=False)
    assert any(not np.array_equal(c, target) for c in seen)


def test_bootstrap_batched_path_equals_generic_path():
    # the same seed draws the same resamples, scored batched or one by one
    rng = np.random.default_rng(2)
    t, p = noisy_predictions(rng, 130)
    for builtin, name in (
        (metrics.accuracy, "accuracy"),
        (stats.uar, "uar"),
        (metrics.macro_f1, "macro_f1"),
    ):
        for stratified in (True, False):
            batched = stats.bootstrap_interval(t, p, builtin, n_boot=400, stratified=stratified)
            by_name = stats.bootstrap_interval(t, p, name, n_boot=400, stratified=stratified)
            generic = stats.bootstrap_interval(
                t, p, lambda a, b, f=builtin: f(a, b), n_boot=400, stratified=stratified
            )
            assert batched == by_name
            assert batched == pytest.approx(generic, abs=1e-12)
    assert stats.bootstrap_accuracy(t, p) == stats.bootstrap_interval(t, p, metrics.accuracy)
    assert stats.bootstrap_uar(t, p) == stats.bootstrap_interval(t, p, stats.uar)
    assert stats.bootstrap_macro_f1(t, p, seed=3) == stats.bootstrap_interval(
        t, p, metrics.macro_f1, seed=3
    )


@pytest.mark.parametrize("seed", range(4))
def test_bootstrap_interval_sanity(seed):
    rng = np.random.default_rng(seed)
    t, p = noisy_predictions(rng, 71)
    for metric in ("accuracy", "uar", "macro_f1"):
        est, low, high = stats.bootstrap_interval(t, p, metric)
        assert 0 <= low <= est <= high <= 1
        assert est == pytest.approx(SCALAR[metric](t, p))
        # the same errors on 4x as many samples: same estimate, narrower interval (~1/2)
        big = stats.bootstrap_interval(np.tile(t, 4), np.tile(p, 4), metric)
        assert big.estimate == pytest.approx(est)
        assert big.high - big.low < 0.7 * (high - low)
        # a higher level gives a wider interval
        wide = stats.bootstrap_interval(t, p, metric, level=0.99)
        assert wide.low <= low and wide.high >= high


def test_bootstrap_accuracy_agrees_with_scipy_bootstrap_and_clopper_pearson():
    rng = np.random.default_rng(11)
    t, p = noisy_predictions(rng, 164, p_right=0.55)
    ours = stats.bootstrap_interval(t, p, "accuracy", n_boot=4000, stratified=False)
    ref = sps.bootstrap(
        (t, p),
        lambda a, b, axis: np.mean(a == b, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(0),
    ).confidence_interval
    # two Monte-Carlo estimates of the same quantiles (one sample = 0.61 points)
    assert ours.low == pytest.approx(ref.low, abs=0.015)
    assert ours.high == pytest.approx(ref.high, abs=0.015)
    # and roughly the exact binomial interval (which is a little wider, conservative)
    k = int(np.sum(t == p))
    cp_low, cp_high = stats.clopper_pearson(k, 164)
    assert ours.low == pytest.approx(cp_low, abs=0.03)
    assert ours.high == pytest.approx(cp_high, abs=0.03)


def test_bootstrap_difference():
    rng = np.random.default_rng(4)
    t, a = noisy_predictions(rng, 130, p_right=0.7)
    assert stats.bootstrap_difference(t, a, a, "macro_f1") == (0.0, 0.0, 0.0)
    b = a.copy()
    wrong = np.flatnonzero(a == t)[:15]
    b[wrong] = (t[wrong] + 1) % 3  # B is A with 15 more errors: never better on a resample
    est, low, high = stats.bootstrap_difference(t, a, b, "accuracy")
    assert est == pytest.approx(15 / 130)
    assert 0 < low <= est <= high
    # deterministic, and consistent with the two marginal intervals' estimates
    assert stats.bootstrap_difference(t, a, b, metrics.macro_f1, seed=1) == (
        stats.bootstrap_difference(t, a, b, metrics.macro_f1, seed=1)
    )
    assert stats.bootstrap_difference(t, a, b, "uar").estimate == pytest.approx(
        stats.uar(t, a) - stats.uar(t, b)
    )


def test_bootstrap_errors():
    with pytest.raises(ValueError, match="same length"):
        stats.bootstrap_interval([0, 1, 1], [0, 1], "accuracy")
    with pytest.raises(ValueError, match="empty"):
        stats.bootstrap_interval([], [], "accuracy")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        stats.bootstrap_interval([0, 1], [0, 1], "accuracy", level=1.0)
    with pytest.raises(ValueError, match="n_boot must be a positive integer"):
        stats.bootstrap_interval([0, 1], [0, 1], "accuracy", n_boot=0)
    with pytest.raises(ValueError, match="unknown metric"):
        stats.bootstrap_interval([0, 1], [0, 1], "f1")
    with pytest.raises(ValueError, match="callable"):
        stats.bootstrap_interval([0, 1], [0, 1], 3)
    with pytest.raises(ValueError, match="1-D"):
        stats.bootstrap_interval([[0, 1]], [[0, 1]], "accuracy")
    with pytest.raises(ValueError, match="NaN"):
        stats.bootstrap_interval([0, 1], [0, 1], lambda a, b: float("nan"), n_boot=5)
    with pytest.raises(ValueError, match="same length"):
        stats.bootstrap_difference([0, 1], [0, 1], [0], "accuracy")
    with pytest.raises(ValueError, match="do not match"):
        stats.accuracy_batch(np.zeros((2, 3)), np.zeros((2, 4)))


# --------------------------------------------------------------------------- McNemar


def hand_discordant(t, a, b):
    b_count = sum(1 for x, y, z in zip(t, a, b, strict=True) if y == x and z != x)
    c_count = sum(1 for x, y, z in zip(t, a, b, strict=True) if y != x and z == x)
    return b_count, c_count


@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_matches_binomial_test_on_random_pairs(seed):
    rng = np.random.default_rng(seed)
    n = N_TARGETS[seed % 3]
    t, a = noisy_predictions(rng, n, n_classes=3, p_right=0.6)
    # B agrees with A on most samples (as two grid points of one model do)
    b = np.where(rng.random(n) < 0.8, a, rng.integers(0, 3, n))
    res = stats.mcnemar_exact(t, a, b)
    bb, cc = hand_discordant(t.tolist(), a.tolist(), b.tolist())
    assert (res["b"], res["c"], res["n_discordant"]) == (bb, cc, bb + cc)
    assert bb + cc > 0
    # scipy's two-sided exact binomial test: for p = 1/2 it sums the pmf of outcomes no more
    # likely than the observed one, which is 2 * P(X <= min(b, c)) capped at 1
    ref = sps.binomtest(bb, bb + cc, 0.5).pvalue
    assert res["p_value"] == pytest.approx(ref, rel=1e-10)
    # and a direct sum of binomial probabilities
    direct = sum(sps.binom.pmf(i, bb + cc, 0.5) for i in range(min(bb, cc) + 1))
    assert res["p_value"] == pytest.approx(min(1.0, 2 * direct), rel=1e-10)
    # symmetric in A and B
    swapped = stats.mcnemar_exact(t, b, a)
    assert (swapped["b"], swapped["c"]) == (cc, bb)
    assert swapped["p_value"] == res["p_value"]


def test_mcnemar_matches_statsmodels():
    ct = pytest.importorskip("statsmodels.stats.contingency_tables")
    rng = np.random.default_rng(9)
    for _ in range(8):
        t, a = noisy_predictions(rng, 164)
        b = np.where(rng.random(164) < 0.7, a, rng.integers(0, 3, 164))
        ra, rb = a == t, b == t
        table = [[np.sum(ra & rb), np.sum(ra & ~rb)], [np.sum(~ra & rb), np.sum(~ra & ~rb)]]
        ref = ct.mcnemar(table, exact=True).pvalue
        assert stats.mcnemar_exact(t, a, b)["p_value"] == pytest.approx(ref, rel=1e-10)


def test_mcnemar_hand_values_and_errors():
    t = [0, 0, 0, 0, 0, 1, 1]
    a = [0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 1, 1, 1, 0]  # A right, B wrong on 5 samples; never the reverse
    res = stats.mcnemar_exact(t, a, b)
    assert res == {"b": 5, "c": 0, "p_value": pytest.approx(2 / 32), "n_discordant": 5}
    # no discordant pair: no evidence at all
    assert stats.mcnemar_exact(t, a, a) == {"b": 0, "c": 0, "p_value": 1.0, "n_discordant": 0}
    # b = c: p = 2 P(X <= 2 | n = 4) = 2 * 11/16 -> capped at 1
    assert stats.mcnemar_exact([0] * 4, [0, 0, 1, 1], [1, 1, 0, 0])["p_value"] == 1.0
    with pytest.raises(ValueError, match="same length"):
        stats.mcnemar_exact([0, 1], [0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        stats.mcnemar_exact([], [], [])


# --------------------------------------------------------------------------- Holm


def test_holm_hand_worked_example():
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> the
    # running max keeps 0.06); back in input order:
    adjusted, reject = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert reject.tolist() == [True, False, False, True]
    # step-down stops at the first non-rejection: 0.03 > 0.05/2, so 0.04 is kept too
    # capping at 1: 0.4 x 3 = 1.2 -> 1
    adjusted, reject = stats.holm([0.4, 0.9, 0.7])
    assert adjusted.tolist() == [1.0, 1.0, 1.0]
    assert not reject.any()
    # one p-value: unchanged
    adjusted, reject = stats.holm([0.03])
    assert adjusted.tolist() == [0.03] and reject.tolist() == [True]
    # alpha matters for reject only
    adjusted, reject = stats.holm([0.01, 0.04, 0.03, 0.005], alpha=0.1)
    assert reject.tolist() == [True, True, True, True]


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(12)
    for m in (1, 2, 6, 12, 30):
        p = np.round(rng.random(m) ** 3, 3)  # rounding creates ties
        adjusted, reject = stats.holm(p, alpha=0.05)
        ref_reject, ref_adjusted, _, _ = multitest.multipletests(p, alpha=0.05, method="holm")
        np.testing.assert_allclose(adjusted, ref_adjusted, atol=1e-14)
        assert reject.tolist() == ref_reject.tolist()


def test_holm_properties_and_errors():
    rng = np.random.default_rng(5)
    p = rng.random(20) ** 2
    adjusted, _ = stats.holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)  # monotone in the sorted order
    assert np.all(adjusted >= p) and np.all(adjusted <= 1)
    assert np.all(adjusted <= np.minimum(1, len(p) * p) + 1e-15)  # never above Bonferroni
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stats.holm([0.5, 1.2])
    with pytest.raises(ValueError, match="empty"):
        stats.holm([])
    with pytest.raises(ValueError, match="NaN"):
        stats.holm([0.1, float("nan")])
    with pytest.raises(ValueError, match="alpha"):
        stats.holm([0.1], alpha=0)


# --------------------------------------------------------------------------- sign test


def test_sign_test_five_of_six():
    # P(X >= 5 | n = 6, 1/2) = (C(6,5) + C(6,6)) / 2^6 = 7/64
    d = [0.5, 1.2, 3.0, 0.1, 2.2, -0.7]
    res = stats.sign_test(d, "greater")
    assert res["p_value"] == pytest.approx(7 / 64, abs=1e-15)
    assert (res["n_positive"], res["n_negative"], res["n_ties"]) == (5, 1, 0)
    assert stats.sign_test(d)["p_value"] == pytest.approx(14 / 64, abs=1e-15)
    assert stats.sign_test(d, "less")["p_value"] == pytest.approx(63 / 64, abs=1e-15)
    # ties are dropped
    res = stats.sign_test(d + [0.0, 0.0], "greater")
    assert res["n_ties"] == 2 and res["p_value"] == pytest.approx(7 / 64, abs=1e-15)
    res = stats.sign_test([0.5, 0.001, -0.002], "greater", zero_tol=0.01)
    assert (res["n_positive"], res["n_negative"], res["n_ties"]) == (1, 0, 2)
    assert res["p_value"] == pytest.approx(0.5)
    # all ties: no evidence
    assert stats.sign_test([0.0, 0.0])["p_value"] == 1.0


def test_sign_test_matches_scipy_binomtest():
    rng = np.random.default_rng(8)
    for n in (1, 6, 12, 25):
        for _ in range(5):
            d = rng.normal(0.3, 1, n)
            pos = int(np.sum(d > 0))
            for alt in ("two-sided", "greater", "less"):
                ref = sps.binomtest(pos, n, 0.5, alternative=alt).pvalue
                assert stats.sign_test(d, alt)["p_value"] == pytest.approx(ref, rel=1e-10)


def test_sign_test_errors():
    with pytest.raises(ValueError, match="alternative"):
        stats.sign_test([1, 2], "bigger")
    with pytest.raises(ValueError, match="empty"):
        stats.sign_test([])
    with pytest.raises(ValueError, match="1-D"):
        stats.sign_test([[1, 2]])
    with pytest.raises(ValueError, match="zero_tol"):
        stats.sign_test([1, 2], zero_tol=-1)


# --------------------------------------------------------------------------- permutation test


def test_permutation_hand_example():
    # differences 1, 2, 3: the 8 sign flips give sums 6, 4, 2, 0, 0, -2, -4, -6
    res = stats.paired_permutation_test([2, 3, 4], [1, 1, 1], alternative="greater")
    assert res["p_value"] == pytest.approx(1 / 8)
    assert res["exact"] and res["n_perm"] == 8
    assert res["mean_diff"] == pytest.approx(2.0)
    assert stats.paired_permutation_test([2, 3, 4], [1, 1, 1])["p_value"] == pytest.approx(2 / 8)
    res = stats.paired_permutation_test([2, 3, 4], [1, 1, 1], alternative="less")
    assert res["p_value"] == pytest.approx(1.0)
    # zero differences change nothing except the mean
    res = stats.paired_permutation_test([2, 3, 4, 5], [1, 1, 1, 5], alternative="greater")
    assert res["p_value"] == pytest.approx(1 / 8)
    assert res["mean_diff"] == pytest.approx(1.5)
    # all pairs equal
    assert stats.paired_permutation_test([1, 2], [1, 2])["p_value"] == 1.0


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_permutation_exact_matches_scipy(alternative):
    rng = np.random.default_rng(21)
    for n in (4, 6, 10):
        a = rng.normal(0.6, 0.05, n)
        b = a - rng.normal(0.01, 0.02, n)
        res = stats.paired_permutation_test(a, b, alternative=alternative)
        ref = sps.permutation_test(
            (a, b),
            lambda x, y, axis: np.mean(x - y, axis=axis),
            permutation_type="samples",
            vectorized=True,
            n_resamples=np.inf,
            alternative=alternative,
        )
        assert res["exact"] and res["n_perm"] == 2**n
        assert res["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)


def test_permutation_monte_carlo():
    rng = np.random.default_rng(22)
    a = rng.normal(0.6, 0.05, 12)
    b = a - rng.normal(0.01, 0.02, 12)
    exact = stats.paired_permutation_test(a, b)["p_value"]
    mc = stats.paired_permutation_test(a, b, n_perm=20000, seed=3, exact=False)
    assert not mc["exact"] and mc["n_perm"] == 20000
    assert mc["p_value"] == pytest.approx(exact, abs=0.02)  # ~4 standard errors
    again = stats.paired_permutation_test(a, b, n_perm=20000, seed=3, exact=False)
    assert again == mc
    # more than 16 non-zero differences: Monte Carlo by default, p never 0
    big = stats.paired_permutation_test(np.arange(40.0) + 1, np.zeros(40), n_perm=500)
    assert not big["exact"] and big["p_value"] == pytest.approx(1 / 501)


def test_permutation_errors():
    with pytest.raises(ValueError, match="one pair per experiment"):
        stats.paired_permutation_test([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        stats.paired_permutation_test([], [])
    with pytest.raises(ValueError, match="alternative"):
        stats.paired_permutation_test([1], [0], alternative="up")
    with pytest.raises(ValueError, match="n_perm"):
        stats.paired_permutation_test([1], [0], n_perm=0)
    with pytest.raises(ValueError, match="too large"):
        stats.paired_permutation_test(np.arange(30.0) + 1, np.zeros(30), exact=True)


# --------------------------------------------------------------------------- printed numbers


def test_k_over_n_checks():
    # 61.50 is no k/71: 43/71 = 60.56%, 44/71 = 61.97%
    assert not stats.is_k_over_n(61.50, 71)
    assert stats.is_k_over_n(61.97, 71)
    assert [k for k, _ in stats.nearest_counts(61.50, 71)] == [43, 44]
    assert [round(v, 2) for _, v in stats.nearest_counts(61.50, 71)] == [60.56, 61.97]
    assert stats.nearest_counts(50.0, 130) == [(65, 50.0)]
    assert stats.nearest_counts(0, 71) == [(0, 0.0)]
    assert stats.nearest_counts(100, 71) == [(71, 100.0)]
    for n in N_TARGETS:
        assert all(stats.is_k_over_n(round(100 * k / n, 2), n) for k in range(n + 1))
        assert all(stats.is_k_over_n(round(100 * k / n, 1), n, decimals=1) for k in range(n + 1))
        # exactly n + 1 of the 10001 two-decimal values in [0, 100] are attainable (for these
        # n no 100 k / n ends in an exact half at the third decimal)
        hits = sum(stats.is_k_over_n(v / 100, n) for v in range(10001))
        assert hits == n + 1
    # 44/71 = 61.97% prints as 62.0 and 62, never as 61.5
    assert not stats.is_k_over_n(61.5, 71, decimals=1)
    assert stats.is_k_over_n(62, 71, decimals=0)
    # an exact half printed either way (k/n = 12.5% with n = 8, one decimal dropped)
    assert stats.is_k_over_n(12, 8, decimals=0) and stats.is_k_over_n(13, 8, decimals=0)


def test_k_over_n_errors():
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        stats.is_k_over_n(101, 71)
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        stats.nearest_counts(float("nan"), 71)
    with pytest.raises(ValueError, match="positive integer"):
        stats.is_k_over_n(50, 0)
    with pytest.raises(ValueError, match="positive integer"):
        stats.nearest_counts(50, 71.5)
    with pytest.raises(ValueError, match="decimals"):
        stats.is_k_over_n(50, 71, decimals=-1)
