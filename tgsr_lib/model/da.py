"""TGSR as a domain-adaptation classifier in skada's conventions.

skada (scikit-learn for domain adaptation) passes source and target samples together:
``fit(X, y, sample_domain)`` where ``sample_domain >= 0`` marks source samples and a negative
value target samples, whose labels are masked (``-1`` for classification). Without
``sample_domain`` the target is recognised by the masked label, as skada does.
:class:`TGSRClassifier` follows these conventions and requests ``sample_domain`` through
scikit-learn's metadata routing, so it works inside ``skada.make_da_pipeline`` (after a scaler,
for instance), with skada's splitters and label-free scorers. It needs no skada to run; skada
is needed only for skada's own pipelines and scorers.

All source domains together form TGSR's source and all target domains its target (TGSR is a
single-source, single-target method).
"""

from __future__ import annotations

import numpy as np

from tgsr_lib.checks import check_features
from tgsr_lib.model.estimator import TGSR

#: skada's label of a masked target sample (classification).
MASKED_LABEL = -1


def split_domains(X, y, sample_domain):
    """Source features and labels, and target features, from skada-style inputs."""
    X = check_features(X, "X")
    if y is None:
        raise ValueError("y is required: the source labels, with target labels masked as -1")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got shape "
                         f"{y.shape}")
    if sample_domain is None:
        target = y == MASKED_LABEL if y.dtype.kind in "iuf" else np.zeros(y.size, bool)
    else:
        sample_domain = np.asarray(sample_domain)
        if sample_domain.ndim == 0:
            sample_domain = np.full(y.size, sample_domain)
        whole = sample_domain.dtype.kind in "iu" or (  # skada's helpers may give 1.0, -2.0
            sample_domain.dtype.kind == "f" and np.all(sample_domain == np.round(sample_domain)))
        if sample_domain.shape != y.shape or not whole:
            raise ValueError("sample_domain must give one integer per sample (>= 0: source, "
                             "< 0: target)")
        target = sample_domain < 0
    if target.all() or not target.any():
        raise ValueError("TGSR needs source samples (sample_domain >= 0) and target samples "
                         "(sample_domain < 0, or labels masked as -1)")
    return X[~target], y[~target], X[target]


class TGSRClassifier(TGSR):
    """TGSR (Jiang et al., ICPR 2022) with skada's ``fit(X, y, sample_domain)``.

    Parameters and fitted attributes are those of :class:`~tgsr_lib.model.estimator.TGSR`;
    only the way source and target are passed differs. Prediction ignores ``sample_domain``
    and ``allow_source`` (skada's scorers pass them): TGSR predicts every sample alike.
    """

    __metadata_request__fit = {"sample_domain": True}
    __metadata_request__predict = {"sample_domain": True, "allow_source": True}
    __metadata_request__predict_proba = {"sample_domain": True, "allow_source": True}
    __metadata_request__decision_function = {"sample_domain": True, "allow_source": True}
    __metadata_request__score = {"sample_domain": True, "allow_source": True,
                                 "sample_weight": True}

    def fit(self, X, y=None, sample_domain=None) -> TGSRClassifier:
        """Fit on the source samples (``sample_domain >= 0``) with the target samples
        (``sample_domain < 0``) in the transfer term; target labels are never read."""
        Xs, ys, Xt = split_domains(X, y, sample_domain)
        return super().fit(Xs, ys, Xt)

    def decision_function(self, X, sample_domain=None, allow_source=False) -> np.ndarray:
        return super().decision_function(X)

    def predict(self, X, sample_domain=None, allow_source=False) -> np.ndarray:
        return super().predict(X)

    def predict_proba(self, X, sample_domain=None, allow_source=False) -> np.ndarray:
        return super().predict_proba(X)

    def score(self, X, y, sample_domain=None, sample_weight=None, allow_source=False) -> float:
        """Accuracy on ``(X, y)`` (scikit-learn's convention; pass target samples), weighted by
        ``sample_weight`` when given (skada's ImportanceWeightedScorer passes weights)."""
        return super().score(X, y, sample_weight=sample_weight)
