"""Slow, obvious reference implementations for the tests (as stumpy's ``tests/naive.py``).

Nothing here is fast or clever: Algorithm 1 is written literally with the d x d inverse and
explicit per-group loops, for any group layout, so that every engine and kernel can be checked
against it on small synthetic problems that need no authors' files.
"""

from __future__ import annotations

import numpy as np


def augmented(Xs, ys, Xt, xi, classes=None):
    """``X~`` (d, n + 1) and ``L~`` (c, n + 1) of Eq. 5, written out."""
    classes = np.unique(ys) if classes is None else np.asarray(classes)
    n, d = Xs.shape
    X = np.zeros((d, n + 1))
    X[:, :n] = Xs.T
    X[:, n] = np.sqrt(xi) * (Xs.mean(axis=0) - Xt.mean(axis=0))
    L = np.zeros((classes.size, n + 1))
    for j, y in enumerate(ys):
        L[list(classes).index(y), j] = 1.0
    return X, L, classes


def group_norms(W, group_ids):
    """Frobenius norm of each group, groups in sorted id order."""
    return np.array([np.sqrt(np.sum(W[group_ids == g] ** 2)) for g in np.unique(group_ids)])


def threshold(norms, kappa):
    """The (kappa + 1)-th largest norm, or 0 when every group may stay."""
    if kappa >= len(norms):
        return 0.0
    return sorted(norms, reverse=True)[kappa]


def d_step(X, L, C, T, mu):
    d = X.shape[0]
    return np.linalg.inv(mu * np.eye(d) + 2 * X @ X.T) @ (2 * X @ L.T + mu * C - T)


def ialm(Xs, ys, Xt, kappa, xi, group_ids, *, mu0=1e-3, rho=1.1, mu_max=1e15, tol=1e-8,
         max_iter=1000, trace=None):
    """Algorithm 1, literally. Returns a dict with ``C`` (d, c), ``classes``, ``n_iter``,
    ``converged`` and ``kept`` (one bool per group, sorted id order).

    ``trace`` (a list) receives the state ``(C, T, mu)`` at the start of each iteration."""
    group_ids = np.asarray(group_ids)
    X, L, classes = augmented(Xs, ys, Xt, xi)
    d, c = X.shape[0], L.shape[0]
    ids = np.unique(group_ids)
    C = np.ones((d, c))
    T = np.zeros((d, c))
    mu = mu0
    converged = False
    kept = np.ones(ids.size, dtype=bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        if trace is not None:
            trace.append((C.copy(), T.copy(), mu))
        D = d_step(X, L, C, T, mu)
        W = D + T / mu
        g = group_norms(W, group_ids)
        t = threshold(g, kappa)
        C = np.zeros_like(W)
        for k, gid in enumerate(ids):
            rows = group_ids == gid
            kept[k] = g[k] > t
            if kept[k]:
                C[rows] = W[rows] * (g[k] - t) / g[k]
        if np.max(np.abs(D - C)) < tol:
            converged = True
            break
        T = T + mu * (D - C)
        mu = min(rho * mu, mu_max)
    return dict(C=C, classes=classes, n_iter=it, converged=converged, kept=kept.copy())


def predict(C, classes, X):
    """Scores (n, c) and labels of ``X``."""
    scores = X @ C
    return scores, classes[np.argmax(scores, axis=1)]


def make_problem(seed, n_groups=6, sizes=None, n_source=(5, 4, 3), n_target=7, shift=0.3,
                 duplicate_samples=0, zero_groups=0, scale=1.0):
    """A small synthetic cross-domain problem with a random, non-contiguous group layout.

    Returns ``Xs, ys, Xt, group_ids`` (one id per feature; ids are shuffled and not 0..K-1).
    ``zero_groups`` makes the groups of the largest ids all-zero features (they come last in
    the engines' group order); ``duplicate_samples`` repeats
    source rows; ``n_source`` is the count of each class (unbalanced by default).
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, n_groups) if sizes is None else np.asarray(sizes)
    n_groups = sizes.size
    d = int(sizes.sum())
    labels = rng.permutation(np.arange(10, 10 + 7 * n_groups, 7))[:n_groups]
    group_ids = rng.permutation(np.repeat(labels, sizes))
    ys = np.repeat(np.arange(1, len(n_source) + 1), n_source)
    means = rng.normal(size=(len(n_source), d))
    Xs = scale * (means[ys - 1] + 0.8 * rng.normal(size=(ys.size, d)))
    Xt = scale * (means[rng.integers(0, len(n_source), n_target)] + shift
                  + 0.8 * rng.normal(size=(n_target, d)))
    if duplicate_samples:
        pick = rng.integers(0, ys.size, duplicate_samples)
        Xs = np.vstack([Xs, Xs[pick]])
        ys = np.concatenate([ys, ys[pick]])
    for g in np.sort(labels)[len(labels) - zero_groups:] if zero_groups else []:
        Xs[:, group_ids == g] = 0.0
        Xt[:, group_ids == g] = 0.0
    return Xs, ys, Xt, group_ids


def grouped_domains(seed, group_ids, counts, signal_ids, *, n_source, n_target, noise, signal,
                    shift):
    """Source and target features in custom groups (``counts[i]`` scattered columns with id
    ``group_ids[i]``) for three classes; class c raises group ``signal_ids[c-1]`` by
    ``signal``, the target is shifted by ``shift`` times a random vector.
    Returns ``Xs, ys, Xt, groups``."""
    rng = np.random.default_rng(seed)
    groups = rng.permutation(np.repeat(group_ids, counts))

    def domain(n_per_class, offset):
        y = np.repeat([1, 2, 3], n_per_class)
        X = rng.normal(scale=noise, size=(y.size, groups.size)) + offset
        for c, gid in zip((1, 2, 3), signal_ids, strict=True):
            X[y == c] += signal * (groups == gid)
        return X, y

    Xs, ys = domain(n_source, 0.0)
    Xt, _ = domain(n_target, shift * rng.normal(size=groups.size))
    return Xs, ys, Xt, groups
