"""Choosing kappa and xi without target labels (unsupervised model selection for TGSR).

The paper, like its baselines, reports the best grid point measured on the *target labels*
(the "oracle"), which a user of a cross-database recogniser never has. This module scores
every grid point with rules that read only the labelled source and the *unlabelled* target,
so that the accuracy at a rule's pick can be compared with the oracle's.

Rules (:data:`RULES`)
---------------------
All rules share one set of fits: k-fold cross-validation on the source, in which the model of
fold ``f`` is trained exactly as in deployment, on the labelled source samples outside the
fold and the unlabelled target (the real target feeds the transfer term), and predicts both
the held-out source fold and the target.

``source_cv``
    Macro-F1 of the held-out source predictions pooled over the folds (higher is better).
    Stratified k-fold, or leave-one-subject-out when subject ids are given (``groups``; the
    authors' released features carry no subject ids, so the experiments use stratified
    5-fold CV).
``iwcv``
    Importance-weighted cross-validation (Sugiyama, Krauledat and Mueller, JMLR 8, 2007):
    the held-out 0-1 losses weighted by the density ratio ``w(x) = p_t(x) / p_s(x)``
    (lower is better). ``w`` is estimated discriminatively with a source-vs-target logistic
    regression on PCA-reduced features (Bickel, Brueckner and Scheffer, ICML 2007), with
    cross-fitted probabilities (:func:`importance_weights`).
``dev``
    Deep embedded validation (You, Wang, Long and Wang, ICML 2019): the IWCV risk with the
    weights as a control variate, ``mean(w l) + eta mean(w) - eta`` with
    ``eta = -Cov(w l, w) / Var(w)``, which lowers the variance of IWCV (lower is better).
``reverse``
    Reverse validation (Zhong, Fan, Yang, Verscheure and Ren, ECML PKDD 2010; used for model
    selection by Ganin et al., JMLR 17, 2016): the fold model pseudo-labels the target; a
    reverse model with the same (kappa, xi) is trained on the pseudo-labelled target with
    the source training folds as its unlabelled domain and predicts the held-out source fold.
    Score: pooled macro-F1 of these reverse predictions (higher is better). A forward model
    that predicts a single class on the target gives a reverse model that predicts that
    class everywhere.
``mmd``
    A discrepancy rule bounded by source risk: among the points whose ``source_cv`` score is
    within one standard error of the best (the one-standard-error rule, Hastie, Tibshirani
    and Friedman, ESL 2009, section 7.10), the point whose projected features ``C^T x`` have
    the smallest maximum mean discrepancy (Gretton et al., JMLR 13, 2012) between the
    held-out source fold and the target (averaged over folds, Gaussian kernel with the
    median heuristic). Minimising the discrepancy alone is degenerate (a model that maps
    everything to one point has none); the constraint keeps the source error low, as in the
    domain adaptation bound ``err_t <= err_s + discrepancy`` (Ben-David et al., Machine
    Learning 79, 2010).

Ties are broken by grid order (the first point, kappa outer and xi inner), the same
convention as the oracle rule of the paper (:func:`tgsr_lib.report.tables.first_best`).

Any features and groups work: ``grouping`` takes what ``TGSR(groups=...)`` takes (the
authors' ``"authors"`` / ``"blocks"`` for their 15,045-dimensional features, ``"features"``,
or an integer array with one group id per feature, for features of any dimension), and kappa
runs over ``1..K`` for the ``K`` groups of that layout.

Why the real target in the transfer term: the model scored in cross-validation then differs
from the deployed one only by the missing source fold, as IWCV and DEV assume (they correct
the *evaluation* for the shift, not the training). Had the held-out source fold played the
target, the mean difference ``mean(Xs) - mean(X_fold)`` would be sampling noise and xi would
have almost no effect on the validated model, so no rule could learn anything about xi.

Compute
-------
A rule costs ``n_folds`` fits per grid point (``reverse`` another ``n_folds``), batched with
the fast engine (:mod:`tgsr_lib.model.engine`). The experiments use a sub-grid
(:func:`subgrid`, every 4th kappa x every 10th xi = 616 points by default).

The target labels are never read: a target given as a ``(X, y, names)`` tuple or database
name is reduced to its features on entry. Target labels enter only in
:func:`attach_target_scores`, which looks up the target accuracy and F1 of the points in an
already computed grid to *evaluate* the picks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tgsr_lib.checks import check_positive_int, check_source_target
from tgsr_lib.compare.metrics import score_predictions
from tgsr_lib.data import layout as authors_layout
from tgsr_lib.data.datasets import load_features
from tgsr_lib.experiments.axes import grid_axes, grid_points, paper_xis
from tgsr_lib.experiments.io import write_csv_atomic
from tgsr_lib.experiments.runner import Grouping, check_grouping, features_of
from tgsr_lib.model import GridProblem, solve_many
from tgsr_lib.model.groups import resolve_groups

#: The label-free rules, see the module docstring.
RULES = ("source_cv", "iwcv", "dev", "reverse", "mmd")

#: rule -> (score column, "max" or "min").
RULE_SCORES = {
    "source_cv": ("cv_f1", "max"),
    "iwcv": ("iwcv_risk", "min"),
    "dev": ("dev_risk", "min"),
    "reverse": ("reverse_f1", "max"),
    "mmd": ("mmd", "min"),
}

#: Columns of :func:`rule_scores` after kappa and xi (all computed without target labels).
SCORE_COLUMNS = ["cv_f1", "cv_f1_se", "cv_acc", "iwcv_risk", "dev_risk", "reverse_f1", "mmd",
                 "converged"]


# --------------------------------------------------------------------------- inputs


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"unknown selection rule {rule!r}: use one of {', '.join(RULES)}")
    return rule


def subgrid(kappa_step: int = 4, xi_step: int = 10, n_groups: int = authors_layout.N_GROUPS
            ) -> tuple[np.ndarray, np.ndarray]:
    """Every ``kappa_step``-th kappa of ``1..n_groups`` (from 1) and every ``xi_step``-th xi of
    the paper's grid.

    The default (the authors' 85 groups) gives 22 kappas (1, 5, ..., 85) x 28 xis
    (0.001 ... 900) = 616 points, a subset of the paper's 23,460 with exactly the same
    floating-point xi values. For your own groups give their number ``n_groups`` (``K`` of
    :func:`tgsr_lib.model.groups.resolve_groups`).
    """
    for name, step in (("kappa_step", kappa_step), ("xi_step", xi_step)):
        if isinstance(step, bool) or int(step) != step or step < 1:
            raise ValueError(f"{name}={step!r}: use a positive integer (1 = every value)")
    n_groups = check_positive_int(n_groups, "n_groups")
    return np.arange(1, n_groups + 1)[:: int(kappa_step)], paper_xis()[:: int(xi_step)]


def _source(spec) -> tuple[np.ndarray, np.ndarray]:
    return features_of(spec)


def _target_features(spec) -> np.ndarray:
    """The target's features only: its labels, when given, are dropped here."""
    if isinstance(spec, tuple):
        if len(spec) < 1:
            raise ValueError("a target tuple must start with the features X")
        return np.asarray(spec[0], dtype=np.float64)
    if isinstance(spec, (str, os.PathLike)):
        return load_features(str(spec)).X
    if isinstance(spec, np.ndarray):
        return np.asarray(spec, dtype=np.float64)
    raise ValueError(f"target must be a database name, a feature file, features X or "
                     f"(X, ...), not {type(spec).__name__}")


def source_folds(ys, n_folds: int = 5, groups=None, seed: int = 0
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs for cross-validation on the source.

    With ``groups`` (one subject id per sample) the folds are leave-one-subject-out;
    otherwise stratified ``n_folds``-fold with shuffling (``seed``). Every training part
    must contain every class, or a fold model could not predict it.
    """
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

    ys = np.asarray(ys).ravel()
    classes, counts = np.unique(ys, return_counts=True)
    if groups is not None:
        groups = np.asarray(groups).ravel()
        if groups.size != ys.size:
            raise ValueError(f"groups has {groups.size} subject ids for {ys.size} source "
                             "samples: give one per sample")
        if np.unique(groups).size < 2:
            raise ValueError("leave-one-subject-out needs at least two subjects in groups")
        folds = list(LeaveOneGroupOut().split(ys, ys, groups))
    else:
        if isinstance(n_folds, bool) or int(n_folds) != n_folds or n_folds < 2:
            raise ValueError(f"n_folds={n_folds!r}: use an integer >= 2")
        if counts.min() < n_folds:
            raise ValueError(
                f"class {classes[counts.argmin()]!r} has {counts.min()} source samples, fewer "
                f"than n_folds={n_folds}: lower n_folds so every fold can be stratified")
        cv = StratifiedKFold(int(n_folds), shuffle=True, random_state=seed)
        folds = list(cv.split(np.zeros(ys.size), ys))
    for tr, _ in folds:
        missing = np.setdiff1d(classes, ys[tr])
        if missing.size:
            raise ValueError(f"a training fold lacks class(es) {missing.tolist()}: every class "
                             "must occur outside each held-out fold (use more subjects/folds)")
    return [(np.asarray(tr), np.asarray(te)) for tr, te in folds]


def importance_weights(Xs, Xt, n_components: int = 5, C: float = 1.0, n_folds: int = 5,
                       seed: int = 0) -> np.ndarray:
    """Density ratio ``w(x) = p_t(x) / p_s(x)`` at the source samples (Bickel et al. 2007).

    A logistic regression separates source from target on the standardised first
    ``n_components`` principal components of the pooled features;
    ``w = (n_s / n_t) P(t | x) / P(s | x)``. PCA and classifier are cross-fitted
    (``n_folds``-fold, each sample scored by a model that did not see it), which keeps the
    weights from collapsing to 0 where the domains are separable. Equal to scikit-learn's
    ``PCA -> StandardScaler -> LogisticRegression`` pipeline under ``cross_val_predict``,
    computed through the Gram matrix because n << d.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xs = np.asarray(Xs, dtype=np.float64)
    Xt = np.asarray(Xt, dtype=np.float64)
    if Xs.ndim != 2 or Xt.ndim != 2 or Xs.shape[1] != Xt.shape[1]:
        raise ValueError(f"Xs and Xt must be 2-D with the same columns, got {Xs.shape} and "
                         f"{Xt.shape}")
    ns, nt = len(Xs), len(Xt)
    if min(ns, nt) < n_folds:
        raise ValueError(f"need at least n_folds={n_folds} samples in each domain")
    X = np.vstack([Xs, Xt])
    d = np.r_[np.zeros(ns, dtype=int), np.ones(nt, dtype=int)]
    n_components = int(min(n_components, X.shape[0] - X.shape[0] // n_folds - 1, X.shape[1]))
    p = np.empty(X.shape[0])
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for tr, te in cv.split(X, d):
        Ztr, Zte = _pca_scores(X[tr], X[te], n_components)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
        p[te] = model.fit(Ztr, d[tr]).predict_proba(Zte)[:, 1]
    p = np.clip(p[:ns], 1e-6, 1 - 1e-6)
    return ns / nt * p / (1 - p)


def _pca_scores(X_fit: np.ndarray, X_new: np.ndarray, n_components: int):
    """Principal component scores of ``X_fit`` and ``X_new`` (PCA fitted on ``X_fit``),
    through the small Gram matrix (samples << dimensions). Component signs are arbitrary:
    the standardised logistic regression above does not depend on them."""
    mean = X_fit.mean(axis=0)
    Xc = X_fit - mean
    lam, U = np.linalg.eigh(Xc @ Xc.T)
    top = np.argsort(lam)[::-1][:n_components]
    V = (Xc.T @ U[:, top]) / np.sqrt(np.maximum(lam[top], 1e-300))  # unit principal axes
    return Xc @ V, (X_new - mean) @ V


def effective_sample_size(w) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of importance weights."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / np.sum(w**2))


# --------------------------------------------------------------------------- scores


def mmd2(Zs: np.ndarray, Zt: np.ndarray) -> np.ndarray:
    """Biased squared MMD with a Gaussian kernel of median-heuristic width.

    ``Zs`` (..., n_s, c) and ``Zt`` (..., n_t, c): leading axes are batches (one MMD each).
    The kernel width is the median pairwise distance of the pooled samples (the mean where
    more than half the pairs coincide), so the value does not change when all features are
    scaled by one factor. Identical samples give 0.
    """
    Zs = np.asarray(Zs, dtype=float)
    Zt = np.asarray(Zt, dtype=float)
    Z = np.concatenate([Zs, Zt], axis=-2)
    n, ns = Z.shape[-2], Zs.shape[-2]
    sq = np.sum(Z**2, axis=-1)
    d2 = np.maximum(sq[..., :, None] + sq[..., None, :] - 2 * Z @ np.swapaxes(Z, -1, -2), 0.0)
    iu = np.triu_indices(n, 1)
    pairs = d2[..., iu[0], iu[1]]
    med = np.median(pairs, axis=-1)
    mean = pairs.mean(axis=-1)
    width = np.where(med > 0, med, np.where(mean > 0, mean, 1.0))  # all equal: K = 1, MMD 0
    K = np.exp(-d2 / (2 * width[..., None, None]))
    kss = K[..., :ns, :ns].mean(axis=(-2, -1))
    ktt = K[..., ns:, ns:].mean(axis=(-2, -1))
    kst = K[..., :ns, ns:].mean(axis=(-2, -1))
    return np.maximum(kss + ktt - 2 * kst, 0.0)


def dev_risk(losses: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The DEV risk (You et al. 2019, Eq. 9) of each row of ``losses`` (P, n) with the
    importance ``weights`` (n,): ``mean(w l) + eta mean(w) - eta``,
    ``eta = -Cov(w l, w) / Var(w)`` (``eta = 0`` when the weights are constant)."""
    losses = np.atleast_2d(np.asarray(losses, dtype=float))
    w = np.asarray(weights, dtype=float).ravel()
    wl = losses * w[None, :]
    var_w = np.var(w, ddof=1) if w.size > 1 else 0.0
    if var_w <= 0:
        return wl.mean(axis=1)
    cov = ((wl - wl.mean(axis=1, keepdims=True)) * (w - w.mean())[None, :]).sum(axis=1) / (
        w.size - 1)
    eta = -cov / var_w
    return wl.mean(axis=1) + eta * w.mean() - eta


def _score_table(ys, folds, weights, pred_cv, pred_rev, mmd, converged) -> dict:
    """Rule scores of P points from their pooled held-out (pred_cv) and reverse (pred_rev)
    predictions on the source, each (P, Ns)."""
    acc, f1 = score_predictions(ys, pred_cv)
    fold_f1 = np.stack([score_predictions(ys[te], pred_cv[:, te])[1] for _, te in folds],
                       axis=1)
    se = fold_f1.std(axis=1, ddof=1) / np.sqrt(len(folds))
    loss = (pred_cv != ys[None, :]).astype(float)
    out = {"cv_f1": f1, "cv_f1_se": se, "cv_acc": acc,
           "iwcv_risk": (loss * weights[None, :]).mean(axis=1),
           "dev_risk": dev_risk(loss, weights)}
    out["reverse_f1"] = (np.full(len(f1), np.nan) if pred_rev is None
                         else score_predictions(ys, pred_rev)[1])
    out["mmd"] = mmd
    out["converged"] = converged
    return out


# --------------------------------------------------------------------------- fast TGSR path


def _solve_scores(problem: GridProblem, kappas, xis, labels=None):
    """Scores (P, c, N_eval) on the problem's evaluation set and convergence flags of every
    fit (``labels``: per-fit source labels, see :func:`tgsr_lib.model.driver.solve_many`)."""
    _, _, converged, scores = solve_many(problem, kappas, xis, labels=labels,
                                         return_scores=True)
    return scores, converged


_REVERSE_CHUNK = 1024


def _reverse_predictions(Xt, pseudo, Xu, Xe, kk, xx, grouping) -> np.ndarray:
    """Reverse models (trained on the pseudo-labelled target, aligned to ``Xu``) predict
    ``Xe``, one per point; points with a single pseudo-class predict that class."""
    P = pseudo.shape[0]
    out = np.empty((P, Xe.shape[0]), dtype=pseudo.dtype)
    sets = [tuple(np.unique(row)) for row in pseudo]
    for cls in sorted(set(sets)):
        idx = np.array([p for p, s in enumerate(sets) if s == cls])
        if len(cls) == 1:
            out[idx] = cls[0]
            continue
        problem = GridProblem(Xt, pseudo[idx[0]], Xu, grouping, X_eval=Xe)
        for start in range(0, idx.size, _REVERSE_CHUNK):  # bounded scores and label tables
            part = idx[start:start + _REVERSE_CHUNK]
            scores, _ = _solve_scores(problem, kk[part], xx[part], pseudo[part])
            out[part] = problem.classes[np.argmax(scores, axis=1)]
    return out


def rule_scores(source, target, kappas=None, xis=None, grouping: Grouping = "authors", *,
                n_folds: int = 5, groups=None, seed: int = 0, reverse: bool = True,
                weights: np.ndarray | None = None,
                progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Label-free scores of every (kappa, xi) point of a grid, for all :data:`RULES`.

    Parameters
    ----------
    source : database name, feature file or ``(X, y[, class_names])``.
    target : database name, feature file, features ``X`` or ``(X, ...)``: only the features
        are used, target labels never are.
    kappas, xis : grid axes (default: every kappa 1..K and the paper's 276 xi values; see
        :func:`subgrid`).
    grouping : the feature groups, as ``TGSR(groups=...)``: ``"authors"`` or ``"blocks"``
        (the authors' 15,045-dimensional features), ``"features"`` or one integer group id
        per feature (any dimension).
    n_folds, groups, seed : source cross-validation (:func:`source_folds`).
    reverse : also run the reverse fits (``reverse_f1``; doubles the cost).
    weights : importance weights of the source samples (default :func:`importance_weights`).

    Returns
    -------
    DataFrame, one row per point (kappa outer, xi inner): ``kappa``, ``xi`` and
    :data:`SCORE_COLUMNS`.
    """
    grouping = check_grouping(grouping)
    Xs, ys = _source(source)
    Xt = _target_features(target)
    Xs, ys, Xt, classes = check_source_target(Xs, ys, Xt)
    n_groups = resolve_groups(grouping, Xs.shape[1]).n_groups  # (groups: subject ids)
    kappas, xis = grid_axes(kappas, xis, n_groups)
    kk, xx = grid_points(kappas, xis)
    folds = source_folds(ys, n_folds, groups, seed)
    if weights is None:
        weights = importance_weights(Xs, Xt, seed=seed)
    weights = np.asarray(weights, dtype=float).ravel()
    if weights.size != ys.size:
        raise ValueError(f"{weights.size} importance weights for {ys.size} source samples")
    P, Ns = kk.size, ys.size
    pred_cv = np.empty((P, Ns), dtype=ys.dtype)
    pred_rev = np.empty((P, Ns), dtype=ys.dtype) if reverse else None
    mmd = np.zeros(P)
    converged = np.ones(P, dtype=bool)
    for f, (tr, te) in enumerate(folds):
        if progress:
            progress(f"fold {f + 1}/{len(folds)}: {P} forward fits")
        problem = GridProblem(Xs[tr], ys[tr], Xt, grouping, X_eval=np.vstack([Xs[te], Xt]))
        scores, conv = _solve_scores(problem, kk, xx)
        converged &= conv
        n_te = te.size
        pred = problem.classes[np.argmax(scores, axis=1)]
        pred_cv[:, te] = pred[:, :n_te]
        Z = np.swapaxes(scores, 1, 2)
        for start in range(0, P, 64):  # bounded memory: (64, Ne, Ne) kernels at a time
            sl = slice(start, start + 64)
            mmd[sl] += mmd2(Z[sl, :n_te], Z[sl, n_te:]) / len(folds)
        if reverse:
            if progress:
                progress(f"fold {f + 1}/{len(folds)}: {P} reverse fits")
            pred_rev[:, te] = _reverse_predictions(Xt, pred[:, n_te:], Xs[tr], Xs[te], kk, xx,
                                                   grouping)
    table = _score_table(ys, folds, weights, pred_cv, pred_rev, mmd, converged)
    return pd.DataFrame({"kappa": kk, "xi": xx, **table})


# --------------------------------------------------------------------------- any estimator


def estimator_rule_scores(make_estimator: Callable[..., object], params: Sequence[dict],
                          source, target, *, n_folds: int = 5, groups=None, seed: int = 0,
                          reverse: bool = True, weights: np.ndarray | None = None
                          ) -> pd.DataFrame:
    """The same rule scores for any estimator with ``fit(Xs, ys, Xt)`` and ``predict(X)``
    (the baselines, or :class:`tgsr_lib.TGSR` one fit at a time).

    ``make_estimator(**p)`` builds an unfitted estimator for each ``p`` in ``params``. The
    ``mmd`` column is filled when the estimator has ``decision_function`` (its projected
    features), else NaN. Returns one row per point with ``params`` (JSON) and
    :data:`SCORE_COLUMNS`.
    """
    Xs, ys = _source(source)
    Xt = _target_features(target)
    Xs, ys, Xt, _ = check_source_target(Xs, ys, Xt)
    params = list(params)
    if not params:
        raise ValueError("params is empty: give at least one parameter dict")
    folds = source_folds(ys, n_folds, groups, seed)
    if weights is None:
        weights = importance_weights(Xs, Xt, seed=seed)
    weights = np.asarray(weights, dtype=float).ravel()
    P, Ns = len(params), ys.size
    pred_cv = np.empty((P, Ns), dtype=ys.dtype)
    pred_rev = np.empty((P, Ns), dtype=ys.dtype) if reverse else None
    mmd = np.zeros(P)
    for p, prm in enumerate(params):
        for tr, te in folds:
            est = make_estimator(**prm).fit(Xs[tr], ys[tr], Xt)
            pred_cv[p, te] = est.predict(Xs[te])
            pseudo = np.asarray(est.predict(Xt))
            if hasattr(est, "decision_function"):
                mmd[p] += mmd2(est.decision_function(Xs[te]),
                               est.decision_function(Xt)) / len(folds)
            else:
                mmd[p] = np.nan
            if reverse:
                if np.unique(pseudo).size == 1:
                    pred_rev[p, te] = pseudo[0]
                else:
                    back = make_estimator(**prm).fit(Xt, pseudo, Xs[tr])
                    pred_rev[p, te] = back.predict(Xs[te])
    table = _score_table(ys, folds, weights, pred_cv, pred_rev, mmd, np.ones(P, dtype=bool))
    return pd.DataFrame({"params": [json.dumps(p, sort_keys=True) for p in params], **table})


# --------------------------------------------------------------------------- picking


def choose(scores: pd.DataFrame, rule: str) -> pd.Series | None:
    """The point ``rule`` picks from a :func:`rule_scores` table (first in table order on
    ties), with its score in ``score``; None when the rule's score is missing (e.g. ``mmd``
    for an estimator without projected features)."""
    check_rule(rule)
    if len(scores) == 0:
        raise ValueError("the score table is empty")
    column, sense = RULE_SCORES[rule]
    values = scores[column].to_numpy(dtype=float)
    if np.all(np.isnan(values)):
        return None
    eligible = np.ones(len(values), dtype=bool)
    if rule == "mmd":  # one-standard-error band of the source CV score
        cv = scores["cv_f1"].to_numpy(dtype=float)
        best = int(np.argmax(cv))
        eligible = cv >= cv[best] - scores["cv_f1_se"].to_numpy(dtype=float)[best] - 1e-12
    masked = np.where(eligible & ~np.isnan(values),
                      values if sense == "max" else -values, -np.inf)
    row = scores.iloc[int(np.argmax(masked))].copy()
    row["score"] = values[int(np.argmax(masked))]
    return row


def select_point(rule: str, source, target, kappas=None, xis=None,
                 grouping: Grouping = "authors", **options) -> dict:
    """The (kappa, xi) that ``rule`` picks without target labels.

    ``source``/``target`` and ``grouping`` as in :func:`rule_scores` (the target's labels are
    ignored); ``kappas``/``xis`` are the grid axes (default: the full grid, for the authors'
    features about ``23,460 x n_folds`` fits, tens of minutes; see :func:`subgrid`).
    ``options`` go to :func:`rule_scores` (``n_folds``, ``groups`` (subject ids), ``seed``).

    Returns ``{"rule", "kappa", "xi", "score", "score_name"}``.
    """
    check_rule(rule)
    options.setdefault("reverse", rule == "reverse")
    scores = rule_scores(source, target, kappas, xis, grouping, **options)
    row = choose(scores, rule)
    return {"rule": rule, "kappa": int(row["kappa"]), "xi": float(row["xi"]),
            "score": float(row["score"]), "score_name": RULE_SCORES[rule][0]}


# --------------------------------------------------------------------------- experiments


def selection_cache_path(number: int, grouping: str, kappa_step: int, xi_step: int,
                         n_folds: int, seed: int, cache_dir: str | os.PathLike) -> Path:
    """Where :func:`experiment_rule_scores` keeps one experiment's scores."""
    return Path(cache_dir) / (f"tgsr_exp{number}_{grouping}_k{kappa_step}_x{xi_step}"
                              f"_f{n_folds}_s{seed}.csv")


def experiment_rule_scores(number: int, grouping: str = "authors", *, kappa_step: int = 4,
                           xi_step: int = 10, n_folds: int = 5, seed: int = 0,
                           cache_dir: str | os.PathLike = "cache/selection",
                           recompute: bool = False,
                           progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """:func:`rule_scores` of one paper experiment on :func:`subgrid`, cached as CSV.

    The cache holds label-free scores only (no target metric). ``grouping`` is a name (it is
    part of the cache file's name): ``"authors"``, ``"blocks"`` or ``"features"``; for other
    groups call :func:`rule_scores`.
    """
    from tgsr_lib.data.protocols import get_experiment
    from tgsr_lib.experiments.io import read_grid

    if not isinstance(grouping, str):
        raise ValueError("experiment_rule_scores caches by grouping name: give 'authors', "
                         "'blocks' or 'features' (for your own groups call rule_scores)")
    check_grouping(grouping)

    exp = get_experiment(number)
    path = selection_cache_path(number, grouping, kappa_step, xi_step, n_folds, seed,
                                cache_dir)
    if path.is_file() and not recompute:
        return read_grid(path)
    kappas, xis = subgrid(kappa_step, xi_step)
    df = rule_scores(exp.source, exp.target, kappas, xis, grouping, n_folds=n_folds,
                     seed=seed, progress=progress)
    write_csv_atomic(df, path)
    return read_grid(path)


def attach_target_scores(scores: pd.DataFrame, grid: pd.DataFrame,
                         on: Iterable[str] = ("kappa", "xi")) -> pd.DataFrame:
    """Add the target ``accuracy`` and ``macro_f1`` of each point, looked up in a computed
    grid (for *evaluating* picks; this is where target labels enter)."""
    on = list(on)
    lookup = grid.drop_duplicates(on)[[*on, "accuracy", "macro_f1"]]
    out = scores.merge(lookup, on=on, how="left", validate="one_to_one")
    if out["macro_f1"].isna().any():
        raise ValueError("some scored points are missing from the grid: score a subset of it")
    return out


def picks(scored: pd.DataFrame, rules: Iterable[str] = RULES,
          full_grid: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per selection: ``oracle`` (first best target macro-F1 on the full grid, when
    given), ``oracle_subgrid`` (on the scored points) and each rule's pick, with the target
    ``accuracy`` and ``macro_f1`` there. ``scored`` comes from :func:`attach_target_scores`."""
    key = [c for c in ("kappa", "xi", "params") if c in scored.columns]
    rows = []
    if full_grid is not None:
        best = full_grid.loc[full_grid["macro_f1"].idxmax()]
        rows.append({"selection": "oracle", **{k: best[k] for k in key},
                     "accuracy": best["accuracy"], "macro_f1": best["macro_f1"]})
    best = scored.loc[scored["macro_f1"].idxmax()]
    rows.append({"selection": "oracle_subgrid", **{k: best[k] for k in key},
                 "accuracy": best["accuracy"], "macro_f1": best["macro_f1"]})
    for rule in rules:
        row = choose(scored, rule)
        if row is None:
            rows.append({"selection": rule, **{k: None for k in key},
                         "accuracy": np.nan, "macro_f1": np.nan})
            continue
        rows.append({"selection": rule, **{k: row[k] for k in key},
                     "accuracy": row["accuracy"], "macro_f1": row["macro_f1"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- baselines

#: Baseline grids thinned for the rules (the oracle search keeps the full grid): DRLS's 37 mu
#: values -> every 4th (10), so 70 points instead of 259; TCA's n_components -> 10, 30, 50
#: (30 points instead of 60).
BASELINE_THINNING = {"DRLS": {"mu": 4}, "TCA": {"n_components": 2}}


def baseline_params(method: str) -> list[dict]:
    """The grid points of a baseline the rules are evaluated on (its ``param_grid``, thinned
    as in :data:`BASELINE_THINNING`), in grid order."""
    from tgsr_lib.compare.baselines import METHODS, grid_points

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    grid = dict(METHODS[method].param_grid)
    if not grid:
        raise ValueError(f"{method} has no hyperparameter grid: there is nothing to select")
    for name, step in BASELINE_THINNING.get(method, {}).items():
        grid[name] = list(grid[name])[::step]
    return grid_points(grid)


def baseline_rule_scores(method: str, number: int, *, n_folds: int = 5, seed: int = 0,
                         cache_dir: str | os.PathLike = "cache/selection",
                         recompute: bool = False) -> pd.DataFrame:
    """:func:`estimator_rule_scores` of a baseline on one experiment over
    :func:`baseline_params`, cached as CSV (label-free scores only)."""
    from tgsr_lib.compare.baselines import make_method
    from tgsr_lib.data.protocols import get_experiment

    exp = get_experiment(number)
    path = Path(cache_dir) / f"baseline_exp{number}_{method}_f{n_folds}_s{seed}.csv"
    if path.is_file() and not recompute:
        return pd.read_csv(path)
    df = estimator_rule_scores(lambda **p: make_method(method, **p), baseline_params(method),
                               exp.source, exp.target, n_folds=n_folds, seed=seed)
    df.insert(0, "method", method)
    df.insert(0, "experiment", number)
    write_csv_atomic(df, path)
    return pd.read_csv(path)
