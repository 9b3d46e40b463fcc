"""The project's label-free rules (:mod:`tgsr_lib.compare.selection`) beside skada's scorers.

skada (0.6) scores a fitted domain-adaptation model on a validation set of source and target
samples. Where a skada scorer and a project rule compute the same quantity, they must give the
same number when fed the same models, folds and importance weights:

``iwcv`` vs ``ImportanceWeightedScorer``
    skada: the source accuracy weighted by ``w = p_t / p_s`` (normalised to sum 1) on the
    validation set. Project: the held-out 0-1 loss weighted by ``w`` (not normalised) pooled
    over the source folds, ``sum_i w_i l_i / n``. With the same weights, skada's score on fold
    ``f`` is ``1 - sum_f(w l) / sum_f(w)``, so ``sum_f (1 - score_f) sum_f(w) / n`` is the
    project's risk. The density ratio differs by construction (skada: two kernel density
    estimates; project: a cross-fitted source-vs-target logistic regression), so the test
    feeds the project's weights to skada through a fixed "density estimator".
``dev`` vs ``DeepEmbeddedValidation``
    Both are ``mean(w l) + eta mean(w) - eta`` with ``eta = -Cov(w l, w) / Var(w)`` (You et
    al. 2019), but skada evaluates it on a random third of the validation source (its own
    ``train_test_split``) with weights from a logistic regression fitted on the other two
    thirds, and its default loss is the cross-entropy of ``predict_proba`` indexed by the
    label value (labels must be 0..c-1). The project evaluates the pooled held-out 0-1 losses
    of all folds. The test feeds skada the project's weights (a fixed domain classifier) and a
    0-1 loss, and checks skada's value against :func:`selection.dev_risk` on the very samples
    skada validated on. (The loss must have shape (n, 1): skada multiplies it with (n, 1)
    weights, and an (n,) loss would broadcast to an (n, n) matrix.)
``reverse`` vs ``CircularValidation``
    Both pseudo-label the target with the forward model, train a model with the same
    hyperparameters on the pseudo-labelled target with source samples as its unlabelled
    domain, and score its predictions on source samples. skada's reverse model takes the
    *scored* source samples as its unlabelled domain (transductive); the project's takes the
    training folds and scores the held-out fold. TGSR reads its unlabelled domain only through
    the mean, so on features where every fold has the source mean the two are the same model:
    the test builds such features and checks the pooled reverse macro-F1 exactly.

No authors' files are needed: small synthetic features with custom feature groups.
"""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin

from tgsr_lib import TGSR, TGSRClassifier
from tgsr_lib.compare import metrics, selection

from .naive import grouped_domains


def _import_skada():
    """skada's modules, without the global switch of scikit-learn's metadata routing that
    ``import skada`` makes (the tests switch it on only where skada runs)."""
    before = sklearn.get_config()["enable_metadata_routing"]
    try:
        import skada
        import skada.metrics
    finally:
        sklearn.set_config(enable_metadata_routing=before)
    return skada


skada = _import_skada()

POINTS = [(2, 0.1), (4, 10.0)]  # (kappa, xi)
N_FOLDS = 3


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _features(seed=0, equal_fold_means=False):
    """30 features in 5 custom groups; 24 source samples (8 per class), 15 target samples.
    ``equal_fold_means``: shift each source fold so that its mean is the source mean."""
    Xs, ys, Xt, groups = grouped_domains(seed, [7, 2, 11, 5, 9], [8, 4, 6, 7, 5], (2, 11, 9),
                                         n_source=8, n_target=5, noise=0.7, signal=0.8,
                                         shift=0.3)
    folds = selection.source_folds(ys, N_FOLDS, seed=0)
    if equal_fold_means:
        mu = Xs.mean(axis=0)
        for _, te in folds:
            Xs[te] += mu - Xs[te].mean(axis=0)
    return Xs, ys, Xt, groups, folds


def _stack(Xs, ys, Xt):
    """skada's inputs: source rows then target rows, target labels masked as -1."""
    X = np.vstack([Xs, Xt])
    y = np.concatenate([ys, -np.ones(len(Xt), dtype=ys.dtype)])
    domain = np.concatenate([np.ones(len(Xs), dtype=int), -np.ones(len(Xt), dtype=int)])
    return X, y, domain


def _forward(kappa, xi, groups, Xs, ys, Xt):
    """The fold model as a skada pipeline: TGSR trained on the labelled source part and the
    unlabelled target (what the project's rules train on each fold)."""
    clf = TGSRClassifier(kappa, xi, groups).set_score_request(sample_weight=True)
    X, y, domain = _stack(Xs, ys, Xt)
    return skada.make_da_pipeline(clf).fit(X, y, sample_domain=domain)


def _rows(table: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Index in ``table`` of every row of ``X`` (exact match)."""
    idx = [np.flatnonzero((table == row).all(axis=1)) for row in X]
    assert all(i.size == 1 for i in idx), "rows not found in the table"
    return np.array([i[0] for i in idx])


class FixedRatio(BaseEstimator):
    """A "density estimator" for skada's ImportanceWeightedScorer that reproduces given
    importance weights: fitted on source rows, its log-density is 0; fitted on anything
    else (the target), its log-density at source row ``i`` is ``log w_i``."""

    def __init__(self, source=None, weights=None):
        self.source = source
        self.weights = weights

    def fit(self, X, y=None):
        self.on_source_ = all((self.source == row).all(axis=1).any() for row in X)
        return self

    def score_samples(self, X):
        if self.on_source_:
            return np.zeros(len(X))
        return np.log(self.weights[_rows(self.source, X)])


class FixedDomainClassifier(ClassifierMixin, BaseEstimator):
    """A domain classifier for skada's DeepEmbeddedValidation whose probabilities give the
    importance weights ``w`` at source rows: skada uses ``n_train / n_target * P(target) /
    P(source)`` (label 0 = target, 1 = source). Records the rows it was asked about."""

    def __init__(self, source=None, weights=None):
        self.source = source
        self.weights = weights

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.n_train_, self.n_target_ = int(np.sum(y == 1)), int(np.sum(y == 0))
        return self

    def predict_proba(self, X):
        self.asked_ = _rows(self.source, X)
        r = self.weights[self.asked_] * self.n_target_ / self.n_train_
        return np.column_stack([r / (1 + r), 1 / (1 + r)])


@pytest.mark.parametrize("kappa, xi", POINTS)
def test_iwcv_equals_skada_importance_weighted_scorer(routing, kappa, xi):
    Xs, ys, Xt, groups, folds = _features()
    w = selection.importance_weights(Xs, Xt, n_folds=N_FOLDS, seed=0)
    ours = selection.rule_scores((Xs, ys), Xt, [kappa], [xi], groups, n_folds=N_FOLDS,
                                 weights=w, reverse=False)
    scorer = skada.metrics.ImportanceWeightedScorer(weight_estimator=FixedRatio(Xs, w))
    total = 0.0
    for tr, te in folds:
        model = _forward(kappa, xi, groups, Xs[tr], ys[tr], Xt)
        X, y, domain = _stack(Xs[te], ys[te], Xt)
        score = scorer(model, X, y, sample_domain=domain)
        # skada: weighted accuracy with the weights normalised on the fold
        loss = TGSR(kappa, xi, groups).fit(Xs[tr], ys[tr], Xt).predict(Xs[te]) != ys[te]
        assert score == pytest.approx(1 - np.sum(w[te] * loss) / np.sum(w[te]), rel=1e-12)
        total += (1 - score) * np.sum(w[te])
    assert total / ys.size == pytest.approx(ours.iwcv_risk.item(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("kappa, xi", POINTS)
def test_dev_formula_equals_skada_deep_embedded_validation(routing, kappa, xi):
    Xs, ys, Xt, groups, folds = _features()
    w = selection.importance_weights(Xs, Xt, n_folds=N_FOLDS, seed=0)
    for f, (tr, te) in enumerate(folds):
        model = _forward(kappa, xi, groups, Xs[tr], ys[tr], Xt)
        seen = {}

        def zero_one(y_true, proba, model=model, seen=seen):
            classes = model[-1].get_estimator().classes_
            seen["loss"] = (classes[np.argmax(proba, axis=1)] != y_true).astype(float)
            return seen["loss"][:, None]  # (n, 1), see the module docstring

        domain_clf = FixedDomainClassifier(Xs, w)
        dev = skada.metrics.DeepEmbeddedValidation(domain_classifier=domain_clf,
                                                   loss_func=zero_one, random_state=f)
        X, y, domain = _stack(Xs[te], ys[te], Xt)
        value = dev(model, X, y, sample_domain=domain)
        asked = dev.domain_classifier_.asked_  # the source rows skada validated on
        assert asked.size >= 2 and np.isin(asked, te).all()
        ref = selection.dev_risk(seen["loss"], w[asked])[0]
        assert -value == pytest.approx(ref, rel=1e-10, abs=1e-12)  # skada returns -risk


@pytest.mark.parametrize("kappa, xi", POINTS)
def test_reverse_equals_skada_circular_validation(routing, kappa, xi):
    Xs, ys, Xt, groups, folds = _features(equal_fold_means=True)
    ours = selection.rule_scores((Xs, ys), Xt, [kappa], [xi], groups, n_folds=N_FOLDS,
                                 weights=np.ones(ys.size))
    back = np.empty_like(ys)
    for tr, te in folds:
        model = _forward(kappa, xi, groups, Xs[tr], ys[tr], Xt)
        seen = []

        def macro_f1(y_true, y_pred, seen=seen):
            seen.append(np.asarray(y_pred))
            return metrics.macro_f1(y_true, y_pred)

        circular = skada.metrics.CircularValidation(source_scorer=macro_f1)
        X, y, domain = _stack(Xs[te], ys[te], Xt)
        score = circular(model, X, y, sample_domain=domain)
        (back[te],) = seen
        assert score == metrics.macro_f1(ys[te], back[te])
    assert metrics.macro_f1(ys, back) == pytest.approx(ours.reverse_f1.item(), abs=1e-15)
    # the fold means are what makes the two the same model: without them they may differ
    Xs2, _, _, _, folds2 = _features()
    means = [np.abs(Xs2[te].mean(0) - Xs2[tr].mean(0)).max() for tr, te in folds2]
    assert min(means) > 1e-3
