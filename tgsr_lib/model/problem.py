"""What all fits of one experiment share: the small basis in which the grid engines work.

Every grid point solves Algorithm 1 (:mod:`tgsr_lib.model.ialm`) on the augmented data
``X~(xi) = [Xs, sqrt(xi) (mean(Xs) - mean(Xt))]``. The engines rest on these exact facts:

1. **A shared small basis.** The span of ``X~`` does not depend on ``xi``: with the thin QR
   ``[Xs, delta] = Q R0`` (``Q`` is d x m, ``m = N_s + 1``) every ``X~(xi) = Q B(xi)``. The
   D-step ``(mu I + 2 X~ X~^T)^{-1}`` acts on the span of ``Q`` through the m x m matrix
   ``M = B B^T`` (diagonalised once per xi, :meth:`GridProblem.xi_tables`) and as ``1 / mu``
   on its complement.
2. **Per-group coefficients.** Started from ``C = 1`` and ``T = 0``, the iterates stay of the
   form ``C_i = alpha_i 1 + Q_i beta_i`` and ``T_i = a_i 1 + Q_i b_i`` group by group
   (``Q_i`` = the rows of ``Q`` in group ``i``), so a fit's state is a few numbers per group.
   Group norms need only the m x m Gram matrices ``G_i = Q_i^T Q_i``.

Groups of unequal size are stored padded with zero rows to the largest group (zero rows add
exact zeros to every sum, and the engines skip them where a row is looked at).
"""

from __future__ import annotations

import numpy as np

from tgsr_lib.checks import check_features, check_source_target
from tgsr_lib.model.estimator import augmented_data, label_rows
from tgsr_lib.model.groups import resolve_groups


class GridProblem:
    """Everything about one (source, target, groups) that all grid points share.

    Parameters
    ----------
    Xs, ys, Xt : source features, labels and target features (rows = samples), validated
        here. ``Xt`` enters the transfer term (the mean difference).
    groups : ``"authors"`` (default), ``"blocks"`` or one group id per feature (see
        :func:`tgsr_lib.model.groups.resolve_groups`).
    X_eval : the samples the fits predict (default ``Xt``), e.g. held-out source samples and
        the target together for model selection.
    """

    def __init__(self, Xs, ys, Xt, groups="authors", X_eval=None):
        Xs, ys, Xt, _ = check_source_target(Xs, ys, Xt)
        self.layout = resolve_groups(groups, Xs.shape[1])
        cols = self.layout.order
        self.cols = cols
        self.n_groups = K = self.layout.n_groups
        self.gsize = self.layout.sizes.astype(np.int64)
        self.gmax = self.layout.max_size
        A0, L, self.classes = augmented_data(Xs[:, cols], ys, Xt[:, cols], 1.0)
        Q, R0 = np.linalg.qr(A0.T)  # A0^T = Q R0; X~(xi) = Q R0 diag(1, .., 1, sqrt(xi))
        self.m = Q.shape[1]
        self.c = L.shape[1]
        self.n_source = Xs.shape[0]
        self.R0 = R0
        self.BL = R0 @ L  # B L~^T: the zero label row makes it independent of xi
        self.Qg = self._padded(Q)  # (K, gmax, m)
        G = np.einsum("kim,kin->kmn", self.Qg, self.Qg)
        self.Gall = np.ascontiguousarray(G.reshape(K * self.m, self.m))
        iu = np.triu_indices(self.m)  # row by row, as the engine packs v v^T
        self.Gpack = np.ascontiguousarray(  # (m (m + 1) / 2, K), off-diagonals doubled
            (G[:, iu[0], iu[1]] * np.where(iu[0] == iu[1], 1.0, 2.0)).T)
        self.q = self.Qg.sum(axis=1)  # Q_i^T 1
        self.rho_row = np.sqrt((self.Qg**2).sum(axis=2)).max(axis=1)
        Xe = Xt if X_eval is None else check_features(X_eval, "X_eval", Xt.shape[1])
        Xtp = np.ascontiguousarray(  # (N_eval, K, gmax)
            self._padded(Xe[:, cols].T).transpose(2, 0, 1))
        self.Pt = np.einsum("kim,nki->kmn", self.Qg, Xtp)  # Q_i^T x_{e,i}: (K, m, N_eval)
        self.rowsum_t = Xtp.sum(axis=2).T  # (K, N_eval)
        self.n_eval = Xe.shape[0]
        self._xi_cache: dict[float, int] = {}
        self._U: list[np.ndarray] = []
        self._lam: list[np.ndarray] = []
        self._UtBL: list[np.ndarray] = []

    def _padded(self, rows: np.ndarray) -> np.ndarray:
        """Rows in group order (d, n) -> (K, gmax, n), each group padded with zero rows."""
        K, gmax = self.n_groups, self.gmax
        if np.all(self.gsize == gmax):
            return np.ascontiguousarray(rows.reshape(K, gmax, rows.shape[1]))
        out = np.zeros((K, gmax, rows.shape[1]))
        o = self.layout.offsets
        for i in range(K):
            out[i, : self.gsize[i]] = rows[o[i]:o[i + 1]]
        return out

    def _unpadded(self, groups: np.ndarray) -> np.ndarray:
        """(K, gmax, n) -> rows in group order (d, n)."""
        if np.all(self.gsize == self.gmax):
            return groups.reshape(-1, groups.shape[2])
        return np.concatenate([groups[i, : self.gsize[i]] for i in range(self.n_groups)])

    def xi_index(self, xi: float) -> int:
        """Diagonalise ``M(xi) = B B^T`` once per distinct xi."""
        xi = float(xi)
        if xi not in self._xi_cache:
            B = self.R0.copy()
            B[:, -1] *= np.sqrt(xi)
            lam, U = np.linalg.eigh(B @ B.T)
            self._xi_cache[xi] = len(self._U)
            self._U.append(U)
            self._lam.append(lam)
            self._UtBL.append((U.T @ self.BL).T.copy())
        return self._xi_cache[xi]

    def xi_tables(self, xis, labels=None):
        """The per-fit tables of the D-step.

        ``labels`` (optional, ``(P, N_s)``) gives every fit its own source labels (e.g. the
        pseudo-labels of reverse validation); they must use the problem's classes.

        Returns ``xi_ids`` (P,) and ``entry_ids`` (P,), the stacked ``U`` (X, m, m) and ``lam``
        (X, m) of the distinct xi values, and ``U^T B L`` (E, c, m) of the distinct entries
        (xi and labels; the xi's own table when ``labels`` is None).
        """
        xi_ids = np.array([self.xi_index(x) for x in xis], dtype=np.int64)
        U = np.ascontiguousarray(np.stack(self._U))
        lam = np.ascontiguousarray(np.stack(self._lam))
        if labels is None:
            return xi_ids, xi_ids, U, lam, np.ascontiguousarray(np.stack(self._UtBL))
        labels = np.asarray(labels)
        n = self.n_source
        if labels.shape != (xi_ids.size, n):
            raise ValueError(f"labels have shape {labels.shape}; expected {(xi_ids.size, n)} "
                             "(one source labelling per fit)")
        if not np.isin(labels, self.classes).all():
            raise ValueError(f"labels outside the problem's classes {self.classes.tolist()}")
        entries: dict[tuple[int, bytes], int] = {}
        entry_ids = np.empty(xi_ids.size, dtype=np.int64)
        tables = []
        for p, (x, lab) in enumerate(zip(xi_ids, labels, strict=True)):
            key = (int(x), lab.tobytes())
            if key not in entries:
                entries[key] = len(tables)
                tables.append((U[x].T @ (self.R0 @ label_rows(lab, self.classes))).T)
            entry_ids[p] = entries[key]
        return xi_ids, entry_ids, U, lam, np.ascontiguousarray(np.stack(tables))

    def predict_scores(self, alpha: np.ndarray, beta: np.ndarray, active: np.ndarray):
        """Scores ``C^T x`` (c, N_eval) of one fit on the evaluation set, from its coefficients."""
        idx = np.flatnonzero(active)
        scores = np.einsum("kjm,kmn->jn", beta[idx], self.Pt[idx])
        scores += (alpha[idx, None] * self.rowsum_t[idx]).sum(axis=0)[None, :]
        return scores

    def coef(self, alpha: np.ndarray, beta: np.ndarray, active: np.ndarray) -> np.ndarray:
        """The regression matrix C (d, c) in the original feature order."""
        Cg = self.Qg @ beta.transpose(0, 2, 1)  # (K, gmax, c)
        Cg += alpha[:, None, None]
        Cg[~active] = 0.0
        out = np.empty((self.cols.size, self.c))
        out[self.cols] = self._unpadded(Cg)
        return out
