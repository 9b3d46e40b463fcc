"""Transfer Group Sparse Regression (TGSR), the estimator.

Jiang et al., "Seeking Salient Facial Regions for Cross-Database Micro-Expression
Recognition", ICPR 2022. TGSR learns a linear regression ``C`` (d x c) from source features
to one-hot labels, with two terms (Eq. 3-5 of the paper):

* a group sparsity term over the feature groups ("facial regions"). Algorithm 1 handles it
  with an l2,1 proximal step whose threshold is the ``(kappa + 1)``-th largest group norm,
  so at most ``kappa`` groups stay non-zero (fewer on ties); ``kappa = K`` sets the
  threshold to 0 and the fit becomes a ridge step from the all-ones start (no selection);
* a transfer term ``xi * ||C^T (mean(Xs) - mean(Xt))||^2`` that aligns the source and target
  feature means after projection, implemented by appending one augmented sample
  ``sqrt(xi) (mean(Xs) - mean(Xt))`` with a zero label.

Algorithm 1 and its constants are in :mod:`tgsr_lib.model.ialm`. Prediction is
``argmax C^T x`` (Eq. 8-9: the simplex projection keeps the argmax).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning, NotFittedError

from tgsr_lib.checks import check_features, check_kappa, check_source_target, check_xi
from tgsr_lib.model.groups import resolve_groups
from tgsr_lib.model.ialm import MAX_ITER, MU0, MU_MAX, RHO, TOL, solve_dense, solver_options


def augmented_data(Xs: np.ndarray, ys: np.ndarray, Xt: np.ndarray, xi: float):
    """``X~`` as rows (N_s + 1, d) and ``L~`` as rows (N_s + 1, c), with the sorted classes.

    Row ``N_s`` of ``X~`` is ``sqrt(xi) (mean(Xs) - mean(Xt))`` with a zero label row.
    """
    classes = np.unique(ys)
    A = np.vstack([Xs, np.sqrt(xi) * (Xs.mean(axis=0) - Xt.mean(axis=0))])
    return A, label_rows(ys, classes), classes


def label_rows(ys: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``L~`` (N_s + 1, c): one-hot rows of ``ys`` over ``classes`` and a zero last row (the
    row of the transfer term)."""
    L = np.zeros((len(ys) + 1, classes.size))
    L[np.arange(len(ys)), np.searchsorted(classes, ys)] = 1.0
    return L


class TGSR(ClassifierMixin, BaseEstimator):
    """Transfer Group Sparse Regression (Jiang et al., ICPR 2022).

    Parameters
    ----------
    kappa : int, 1..K
        Number of feature groups kept (the group sparsity level ``||C||_{2,0} <= kappa``).
    xi : float >= 0
        Weight of the mean-alignment transfer term (Eq. 5).
    groups : None, "authors", "blocks", "features" or an integer array
        How the feature columns form groups, see :func:`tgsr_lib.model.groups.resolve_groups`.
        ``None`` (= ``"authors"``) is the authors' 85 chunks of their 15,045-dimensional
        LBP-TOP vector and reproduces the released numbers; ``"blocks"`` the 85 facial blocks
        of the same vector; ``"features"`` one group per feature; an array gives one group id
        per feature for features of any dimension.
    classes : array-like, optional
        Every class the model must predict; fitting fails if one has no source sample.
    mu0, rho, mu_max, tol, max_iter
        IALM constants (the authors' values by default).

    Attributes
    ----------
    coef_ : (n_features, n_classes) the regression matrix ``C`` in the original feature order
        (rows = features, columns = ``classes_``; the paper's ``C`` is d x c too): scores are
        ``X @ coef_``.
    classes_ : sorted source labels (column order of ``coef_``).
    n_features_in_ : number of feature columns seen in ``fit``.
    groups_ : the :class:`~tgsr_lib.model.groups.GroupLayout` used.
    group_norms_ : Frobenius norm of each group of ``coef_`` (group order of ``groups_``).
    selected_groups_ : ids of the groups with non-zero coefficients.
    n_iter_ : IALM iterations run; converged_ : whether the stop rule was met.
    """

    def __init__(self, kappa: int = 12, xi: float = 1.0, groups=None, *, classes=None,
                 mu0: float = MU0, rho: float = RHO, mu_max: float = MU_MAX, tol: float = TOL,
                 max_iter: int = MAX_ITER):
        self.kappa = kappa
        self.xi = xi
        self.groups = groups
        self.classes = classes
        self.mu0 = mu0
        self.rho = rho
        self.mu_max = mu_max
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, X_target=None) -> TGSR:
        """Fit on the labelled source ``(X, y)`` and the unlabelled target ``X_target``.

        Rows are samples. ``X_target`` enters only the transfer term (the difference of the
        feature means); without it the target is the source itself, the transfer term
        vanishes and TGSR is plain group-sparse regression (as scikit-learn's ``fit(X, y)``).
        """
        Xt = X if X_target is None else X_target
        y = None if y is None else np.asarray(y)
        if y is not None and y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected: y is "
                          "read as one label per sample", DataConversionWarning, stacklevel=2)
        Xs, ys, Xt, _ = check_source_target(X, y, Xt, self.classes)
        layout = resolve_groups(self.groups, Xs.shape[1])
        kappa = check_kappa(self.kappa, layout.n_groups)
        xi = check_xi(self.xi)
        options = solver_options(self.mu0, self.rho, self.mu_max, self.tol, self.max_iter)
        cols = layout.order
        A, L, classes = augmented_data(Xs[:, cols], ys, Xt[:, cols], xi)
        C, n_iter, converged = solve_dense(A, L, kappa, layout.sizes, **options)
        if not np.all(np.isfinite(C)):
            raise ValueError(f"TGSR diverged: its iterates became non-finite at iteration "
                             f"{n_iter} (kappa={kappa}, xi={xi}); scale the features (e.g. "
                             "with StandardScaler) or lower xi")
        if not converged:
            warnings.warn(f"TGSR did not converge in {options['max_iter']} iterations "
                          f"(kappa={kappa}, xi={xi})", RuntimeWarning, stacklevel=2)
        coef = np.empty_like(C)
        coef[cols] = C
        self.coef_ = coef
        self.classes_ = classes
        self.n_features_in_ = Xs.shape[1]
        self.groups_ = layout
        sq = (C * C).sum(axis=1)
        self.group_norms_ = np.sqrt(np.add.reduceat(sq, layout.offsets[:-1]))
        self.selected_groups_ = layout.ids[self.group_norms_ > 0]
        self.n_iter_ = n_iter
        self.converged_ = converged
        return self

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise NotFittedError("this TGSR is not fitted yet: call fit(X, y, X_target) first")

    def _scores(self, X) -> np.ndarray:
        """``X C`` (n_samples, n_classes)."""
        self._check_fitted()
        if not hasattr(X, "tocsr"):  # sparse input gets check_features' message
            X = np.asarray(X)
        n = X.shape[1] if X.ndim == 2 else None
        if n is not None and n != self.n_features_in_:
            raise ValueError(f"X has {n} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return check_features(X, "X", self.n_features_in_) @ self.coef_

    def decision_function(self, X) -> np.ndarray:
        """Scores ``X C`` (n_samples, n_classes), columns in the order of ``classes_``; the
        prediction is their argmax. With two classes, scikit-learn's convention: the score of
        the second class minus the first's (n_samples,), positive for ``classes_[1]``."""
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X) -> np.ndarray:
        """Predicted labels ``classes_[argmax(X C)]`` (Eq. 9)."""
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n_samples, n_classes): the Euclidean projection of the scores
        ``X C`` onto the probability simplex (Eq. 8). The projection keeps the order of the
        scores, so its argmax is :meth:`predict`'s class; columns follow ``classes_``."""
        return simplex_projection(self._scores(X))


def simplex_projection(S: np.ndarray) -> np.ndarray:
    """Project each row of ``S`` onto the probability simplex ``{p >= 0, sum p = 1}``.

    The sort-based algorithm of Duchi et al., "Efficient projections onto the l1-ball for
    learning in high dimensions", ICML 2008: ``p = max(s - theta, 0)`` with the ``theta``
    that makes the row sum to 1.
    """
    S = np.asarray(S, dtype=np.float64)
    n, c = S.shape
    U = -np.sort(-S, axis=1)  # each row in decreasing order
    css = np.cumsum(U, axis=1) - 1.0
    positive = U - css / np.arange(1, c + 1) > 0  # True for the first rho entries
    rho = positive.sum(axis=1)
    theta = css[np.arange(n), rho - 1] / rho
    return np.maximum(S - theta[:, None], 0.0)
