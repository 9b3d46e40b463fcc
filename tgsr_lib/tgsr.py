"""Transfer Group Sparse Regression (TGSR), the estimator.

Jiang et al., "Seeking Salient Facial Regions for Cross-Database Micro-Expression
Recognition", ICPR 2022. TGSR learns a sparse linear regression ``C`` (d x c) from source
features to one-hot labels, with two terms (Eq. 3-5 of the paper):

* a group sparsity term that keeps only ``kappa`` of the 85 feature groups ("facial
  regions"): the authors enforce ``||C||_{2,0} <= kappa`` by keeping the ``kappa`` groups of
  largest Frobenius norm in each iteration;
* a transfer term ``xi * ||C^T (mean(Xs) - mean(Xt))||^2`` that aligns the source and target
  feature means after projection, implemented by appending one augmented sample
  ``sqrt(xi) (mean(Xs) - mean(Xt))`` with a zero label.

The problem is solved with the inexact augmented Lagrangian method of Algorithm 1 with the
authors' constants (``mu0 = 1e-3``, ``rho = 1.1``, ``mu_max = 1e15``, tolerance ``1e-8`` on
``max |D - C|``, ``C`` initialised to ones). Prediction is ``argmax C^T x`` (Eq. 8-9: the
simplex projection keeps the argmax).

The D-step ``(mu I + 2 X~ X~^T)^{-1} (...)`` is solved with the Woodbury identity: ``X~`` has
only ``N_s + 1`` columns, so one iteration costs ``O(d N_s c)`` rather than ``O(d^3)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import layout

MU0 = 1e-3
RHO = 1.1
MU_MAX = 1e15
TOL = 1e-8


def check_kappa(kappa, n_groups: int = layout.N_GROUPS) -> int:
    if isinstance(kappa, bool) or int(kappa) != kappa or not 1 <= int(kappa) <= n_groups:
        raise ValueError(f"kappa={kappa} is out of range: it counts kept groups, 1..{n_groups}")
    return int(kappa)


def check_xi(xi) -> float:
    xi = float(xi)
    if not np.isfinite(xi) or xi < 0:
        raise ValueError(f"xi={xi!r} is out of range: the transfer weight must be finite and >= 0")
    return xi


def check_source_target(Xs, ys, Xt, classes=None, dim: int | None = layout.FEATURE_DIM):
    """Validate a source/target pair; return float arrays, integer labels and classes."""
    Xs = np.asarray(Xs, dtype=np.float64)
    Xt = np.asarray(Xt, dtype=np.float64)
    ys = np.asarray(ys).ravel()
    for name, X in (("source", Xs), ("target", Xt)):
        if X.ndim != 2:
            raise ValueError(f"{name} features must be 2-D (samples x dims), got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError(f"the {name} set is empty")
        if dim is not None and X.shape[1] != dim:
            raise ValueError(
                f"{name} features have {X.shape[1]} dimensions, expected {dim} "
                "(the authors' LBP-TOP layout)"
            )
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} features contain NaN or inf")
    if Xs.shape[1] != Xt.shape[1]:
        raise ValueError(f"source has {Xs.shape[1]} dims but target {Xt.shape[1]}")
    if ys.size != Xs.shape[0]:
        raise ValueError(f"{Xs.shape[0]} source samples but {ys.size} labels")
    found = np.unique(ys)
    if classes is not None:
        classes = np.unique(np.asarray(classes).ravel())
        missing = np.setdiff1d(classes, found)
        if missing.size:
            raise ValueError(
                f"class(es) {missing.tolist()} have no source sample: TGSR cannot learn to predict "
                "them. Use a source database that contains every class."
            )
        extra = np.setdiff1d(found, classes)
        if extra.size:
            raise ValueError(
                f"source labels {extra.tolist()} are not in classes {classes.tolist()}"
            )
    if found.size < 2:
        raise ValueError(f"the source holds a single class {found.tolist()}: need at least two")
    return Xs, ys, Xt, found


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


def shrink_groups(W: np.ndarray, kappa: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the ``kappa`` groups of largest norm, shrunk by the (kappa+1)-th norm.

    ``W`` is (K, group_dim, c). Returns the new ``C`` (same shape) and the group norms.
    """
    g = np.sqrt(np.einsum("kij,kij->k", W, W))
    K = g.size
    t = 0.0 if kappa >= K else np.partition(g, K - kappa - 1)[K - kappa - 1]
    scale = np.zeros(K)
    keep = g > t
    scale[keep] = (g[keep] - t) / g[keep]
    return W * scale[:, None, None], g


def ialm(A: np.ndarray, L: np.ndarray, kappa: int, n_groups: int, *, mu0: float = MU0,
         rho: float = RHO, mu_max: float = MU_MAX, tol: float = TOL, max_iter: int = 1000):
    """Algorithm 1 of the paper on the augmented data (reference implementation).

    Parameters
    ----------
    A : (n, d) augmented samples as rows (``X~^T``), columns ordered so that the groups are
        ``n_groups`` consecutive equal chunks.
    L : (n, c) augmented one-hot labels (``L~^T``).

    Returns
    -------
    C : (d, c) coefficients; n_iter : iterations run; converged : bool.
    """
    n, d = A.shape
    c = L.shape[1]
    gdim = d // n_groups
    # Woodbury: (mu I + 2 A^T A)^-1 Y = (Y - A^T (mu/2 I + A A^T)^-1 A Y) / mu
    lam, V = np.linalg.eigh(A @ A.T)
    B = 2.0 * (A.T @ L)  # 2 X~ L~^T
    C = np.ones((d, c))
    T = np.zeros((d, c))
    mu = mu0
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        Y = B + mu * C - T
        AY = V.T @ (A @ Y)
        D = (Y - A.T @ (V @ (AY / (0.5 * mu + lam)[:, None]))) / mu
        W = D + T / mu
        Cg, _ = shrink_groups(W.reshape(n_groups, gdim, c), kappa)
        C = Cg.reshape(d, c)
        E = D - C
        if np.max(np.abs(E)) < tol:
            converged = True
            break
        T = T + mu * E
        mu = min(rho * mu, mu_max)
    return C, n_iter, converged


class TGSR:
    """Transfer Group Sparse Regression (Jiang et al., ICPR 2022).

    Parameters
    ----------
    kappa : int, 1..85
        Number of feature groups kept (the group sparsity level ``||C||_{2,0} <= kappa``).
    xi : float >= 0
        Weight of the mean-alignment transfer term (Eq. 5).
    grouping : {"authors", "blocks"}
        How the 15045 dimensions form 85 groups, see :mod:`tgsr_lib.layout`. ``"authors"``
        reproduces the released numbers.
    classes : array-like, optional
        Every class the model must predict; fitting fails if one has no source sample.
    mu0, rho, mu_max, tol, max_iter
        IALM constants (the authors' values by default).

    Attributes
    ----------
    coef_ : (15045, n_classes) the regression matrix ``C`` in the original feature order.
    classes_ : sorted source labels (column order of ``coef_``).
    selected_groups_ : indices of the groups with non-zero coefficients.
    group_norms_ : Frobenius norm of each group of ``coef_``.
    n_iter_ : IALM iterations run.
    """

    def __init__(self, kappa: int = 12, xi: float = 1.0, grouping: str = "authors", *,
                 classes=None, mu0: float = MU0, rho: float = RHO, mu_max: float = MU_MAX,
                 tol: float = TOL, max_iter: int = 1000):
        self.kappa = kappa
        self.xi = xi
        self.grouping = grouping
        self.classes = classes
        self.mu0 = mu0
        self.rho = rho
        self.mu_max = mu_max
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, Xs, ys, Xt) -> TGSR:
        """Fit on labelled source ``(Xs, ys)`` and unlabelled target ``Xt`` (rows = samples)."""
        kappa = check_kappa(self.kappa)
        xi = check_xi(self.xi)
        layout.check_grouping(self.grouping)
        Xs, ys, Xt, _ = check_source_target(Xs, ys, Xt, self.classes)
        cols = layout.groups(self.grouping).ravel()
        A, L, classes = augmented_data(Xs[:, cols], ys, Xt[:, cols], xi)
        C, n_iter, converged = ialm(A, L, kappa, layout.N_GROUPS, mu0=self.mu0, rho=self.rho,
                                    mu_max=self.mu_max, tol=self.tol, max_iter=self.max_iter)
        if not converged:
            warnings.warn(f"TGSR did not converge in {self.max_iter} iterations "
                          f"(kappa={kappa}, xi={xi})", RuntimeWarning, stacklevel=2)
        coef = np.empty_like(C)
        coef[cols] = C
        self.coef_ = coef
        self.classes_ = classes
        norms = np.sqrt((C.reshape(layout.N_GROUPS, -1) ** 2).sum(axis=1))
        self.group_norms_ = norms
        self.selected_groups_ = np.flatnonzero(norms > 0)
        self.n_iter_ = n_iter
        self.converged_ = converged
        return self

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError("this TGSR is not fitted yet: call fit(Xs, ys, Xt) first")

    def decision_function(self, X) -> np.ndarray:
        """Scores ``X C`` (n_samples, n_classes); the prediction is their argmax."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.coef_.shape[0]:
            raise ValueError(f"X must be (n_samples, {self.coef_.shape[0]}), got {X.shape}")
        return X @ self.coef_

    def predict(self, X) -> np.ndarray:
        """Predicted labels ``classes_[argmax(X C)]`` (Eq. 8-9)."""
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]
