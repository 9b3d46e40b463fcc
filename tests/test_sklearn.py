"""TGSR as a scikit-learn estimator and, in skada's conventions, a domain-adaptation
classifier: parameters, estimator checks, probabilities, string labels, skada pipelines."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from tgsr_lib import TGSR, TGSRClassifier
from tgsr_lib.model.estimator import simplex_projection

from . import naive
from .conftest import requires_data

#: scikit-learn checks that cannot apply to TGSR, and why.
NOT_APPLICABLE = {
    "check_classifiers_train":
        "kappa=1, the only kappa valid for every check's feature count, keeps one of the two "
        "blob features: too few for the check's 0.83 training accuracy (run with kappa=2 in "
        "test_classifiers_train_with_every_group)",
    "check_classifiers_train(readonly_memmap=True)": "as check_classifiers_train",
    "check_classifiers_train(readonly_memmap=True,X_dtype=float32)":
        "as check_classifiers_train",
}


def _expected_failures(estimator):
    return NOT_APPLICABLE


@parametrize_with_checks([TGSR(kappa=1, xi=0.0, groups="features"),
                          TGSR(kappa=1, xi=0.5, groups="features", max_iter=200)],
                         expected_failed_checks=_expected_failures)
def test_scikit_learn_checks(estimator, check):
    """The applicable checks of ``sklearn.utils.estimator_checks`` pass. They call
    ``fit(X, y)`` only: without ``X_target`` the target is the source (no transfer term);
    one group per feature lets them use any number of features."""
    check(estimator)


def test_classifiers_train_with_every_group():
    """scikit-learn's training check on its 2-feature blobs with both groups kept."""
    from sklearn.utils.estimator_checks import check_classifiers_train

    check_classifiers_train("TGSR", TGSR(kappa=2, xi=0.0, groups="features"))
    check_classifiers_train("TGSR", TGSR(kappa=2, xi=0.0, groups="features"),
                            readonly_memmap=True)
    check_classifiers_train("TGSR", TGSR(kappa=2, xi=0.0, groups="features"),
                            readonly_memmap=True, X_dtype="float32")


def test_parameters_round_trip():
    model = TGSR(kappa=3, xi=0.5)
    assert clone(model).get_params() == model.get_params()
    assert model.set_params(kappa=7).kappa == 7
    assert repr(TGSR(kappa=3, xi=0.5)) == "TGSR(kappa=3, xi=0.5)"
    da = TGSRClassifier(kappa=12, xi=44, groups="blocks")
    assert clone(da).get_params() == da.get_params()


def _slow_simplex_projection(s, steps=200):
    """Bisection on theta of p = max(s - theta, 0), sum p = 1 (obviously right, slow)."""
    lo, hi = s.min() - 1.0, s.max()
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.maximum(s - mid, 0).sum() > 1 else (lo, mid)
    return np.maximum(s - (lo + hi) / 2, 0)


def test_simplex_projection_against_bisection():
    rng = np.random.default_rng(0)
    S = np.vstack([rng.normal(size=(50, 4)) * rng.choice([0.01, 1, 30], (50, 1)),
                   [[1, 1, 1, 1], [5, 0, 0, 0], [0.3, 0.3, -2, 0.1]]])
    P = simplex_projection(S)
    np.testing.assert_allclose(P, [_slow_simplex_projection(s) for s in S], atol=1e-12)
    assert np.all(P >= 0) and np.allclose(P.sum(axis=1), 1)
    assert np.array_equal(P.argmax(axis=1), S.argmax(axis=1))


def test_string_labels_end_to_end():
    Xs, ys, Xt, gid = naive.make_problem(seed=30, n_groups=5, n_target=12)
    names = np.array(["surprise", "negative", "positive"])  # not in sorted order
    model = TGSR(kappa=2, xi=0.5, groups=gid).fit(Xs, names[ys - 1], Xt)
    assert model.classes_.tolist() == ["negative", "positive", "surprise"]
    proba = model.predict_proba(Xt)
    pred = model.predict(Xt)
    assert proba.shape == (12, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(model.classes_[proba.argmax(axis=1)], pred)
    ref = naive.ialm(Xs, ys, Xt, 2, 0.5, gid)
    expected = names[naive.predict(ref["C"], ref["classes"], Xt)[1] - 1]
    assert np.array_equal(pred, expected)
    truth = pred.copy()
    truth[:4] = "surprise"
    assert model.score(Xt, truth) == accuracy_score(truth, pred) < 1


def _domains(Xs, ys, Xt):
    X = np.vstack([Xs, Xt])
    y = np.concatenate([ys, np.full(Xt.shape[0], -1)])
    sample_domain = np.concatenate([np.ones(Xs.shape[0], int), -np.ones(Xt.shape[0], int)])
    return X, y, sample_domain


def test_da_classifier_equals_tgsr():
    Xs, ys, Xt, gid = naive.make_problem(seed=31, n_groups=6)
    X, y, sd = _domains(Xs, ys, Xt)
    ref = TGSR(kappa=3, xi=2.0, groups=gid).fit(Xs, ys, Xt)
    for kwargs in (dict(sample_domain=sd), {}):  # without sample_domain: masked labels
        da = TGSRClassifier(kappa=3, xi=2.0, groups=gid).fit(X, y, **kwargs)
        np.testing.assert_array_equal(da.coef_, ref.coef_)
        assert np.array_equal(da.predict(Xt), ref.predict(Xt))
        np.testing.assert_array_equal(da.predict_proba(Xt), ref.predict_proba(Xt))
    with pytest.raises(ValueError, match="needs source samples .* and target samples"):
        TGSRClassifier(groups=gid).fit(Xs, ys)
    with pytest.raises(ValueError, match="one integer per sample"):
        TGSRClassifier(groups=gid).fit(X, y, sample_domain=sd[:-1])


def test_skada_pipeline_and_scorer():
    """skada needs scikit-learn's metadata routing (``import skada`` turns it on globally; the
    project's baselines turn it back off), so the test turns it on for itself."""
    pytest.importorskip("skada")
    from sklearn import config_context

    with config_context(enable_metadata_routing=True):
        _skada_pipeline_and_scorer()


def _skada_pipeline_and_scorer():
    import skada
    from skada.metrics import PredictionEntropyScorer
    from skada.model_selection import SourceTargetShuffleSplit
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import StandardScaler

    Xs, ys, Xt, gid = naive.make_problem(seed=32, n_groups=6, n_source=(12, 10, 9),
                                         n_target=20)
    X, y, sd = _domains(Xs, ys, Xt)
    pipe = skada.make_da_pipeline(StandardScaler(), TGSRClassifier(kappa=2, xi=1.0, groups=gid))
    pipe.fit(X, y, sample_domain=sd)
    # the same as TGSR on the scaled features (skada's scaler is fitted on all samples)
    scaler = StandardScaler().fit(X)
    ref = TGSR(kappa=2, xi=1.0, groups=gid).fit(scaler.transform(Xs), ys, scaler.transform(Xt))
    assert np.array_equal(pipe.predict(Xt, sample_domain=-np.ones(len(Xt), int)),
                          ref.predict(scaler.transform(Xt)))
    search = GridSearchCV(pipe, {"tgsrclassifier__kappa": [1, 3],
                                 "tgsrclassifier__xi": [0.1, 10.0]},
                          scoring=PredictionEntropyScorer(),
                          cv=SourceTargetShuffleSplit(n_splits=2, random_state=0))
    search.fit(X, y, sample_domain=sd)
    assert set(search.best_params_) == {"tgsrclassifier__kappa", "tgsrclassifier__xi"}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # importance-weighted scoring passes sample_weight to score; skada's merge gives float
    # domain labels
    from skada.metrics import ImportanceWeightedScorer
    from skada.utils import source_target_merge

    X2, y2, sd2 = source_target_merge(Xs, Xt, ys, np.full(len(Xt), -1))
    assert sd2.dtype.kind == "f"
    pipe.fit(X2, y2, sample_domain=sd2)
    assert np.isfinite(ImportanceWeightedScorer()(pipe, X2, y2, sample_domain=sd2))


@requires_data
def test_da_classifier_reproduces_the_recorded_best_point(vis, nir):
    """TGSRClassifier(kappa=12, xi=44) in skada's conventions on SMIC_VIS -> SMIC_NIR."""
    X, y, sd = _domains(vis.X, vis.y, nir.X)
    da = TGSRClassifier(kappa=12, xi=44).fit(X, y, sample_domain=sd)
    assert round(accuracy_score(nir.y, da.predict(nir.X)), 8) == 0.70422535
