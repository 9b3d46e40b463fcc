"""Ablations of TGSR: which part of the model makes its results?

TGSR (Eq. 5 of the paper) has three ingredients on top of a least-squares regression from the
features to one-hot labels: the MMD term weighted by ``xi``, the group-sparsity penalty that
keeps ``kappa`` of the 85 groups, and the grouping itself (the authors' 85 consecutive chunks of
the feature vector). Each ablation removes one, on the same experiment and with the same
selection rule as the full model (the paper's oracle: the first grid point with the highest
target macro-F1):

* ``full``: nothing changes, TGSR on the paper's grid (85 kappas x 276 xis);
* ``xi0``: ``xi = 0``, no MMD term (the paper's xi grid has no 0), over the 85 kappas;
* ``kappa85``: ``kappa = 85``, the row kappa = 85 of the grid (276 xis): lambda = 0, so the
  solver stops after one iteration: one ridge step (mu0) from the all-ones start, no group
  selection;
* ``ridge``: ridge regression on all 15,045 features (one-hot targets, no intercept, class =
  argmax) over the penalties :data:`RIDGE_ALPHAS`;
* ``blocks``: TGSR with the ``blocks`` grouping (each group one facial block's XY, XT and YT
  histograms) on the paper's grid.

The oracle searches grids of very different sizes (23,460 points for ``full`` and ``blocks``,
85 for ``xi0``, 276 for ``kappa85``): the bigger search has the bigger optimistic bias, so a
"win" of the full model over an ablation is an upper bound of what the ingredient is worth.

:func:`ablation_grids` computes (and caches) the small grids of ``xi0`` and ``ridge`` and reads
the full and blocks grids from the grid cache; :func:`selected_points` applies the oracle;
:func:`ablation_predictions` recomputes the target predictions at those points (cached);
:func:`mcnemar_table` tests the full model against each ablation per experiment (exact
McNemar, Holm over the ablations of one experiment) and :func:`across_experiments` across the
experiments (exact sign test and paired permutation test on macro-F1): the tests that decide
"the MMD term helps" (``xi0``) and "group selection helps" (``kappa85``, ``ridge``).

The same comparison without target labels: :func:`label_free_scores` scores every variant
with the ``source_cv`` rule of :mod:`tgsr_lib.compare.selection` (source cross-validation) on
notebook 08's subgrid, :func:`label_free_points` takes each variant's pick.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from tgsr_lib.compare import metrics, paired, stats
from tgsr_lib.data import layout, protocols

__all__ = ["VARIANTS", "ABLATIONS", "LABELS", "RIDGE_ALPHAS", "ridge_predictions",
           "ridge_grid", "ablation_grids", "selected_points", "ablation_predictions",
           "mcnemar_table", "across_experiments", "QUESTIONS", "findings",
           "label_free_scores", "label_free_points", "small_grids", "label_free_small"]

#: The full model first, then the ablations.
VARIANTS = ("full", "xi0", "kappa85", "ridge", "blocks")
ABLATIONS = VARIANTS[1:]

#: Display names.
LABELS = {"full": "TGSR (full)", "xi0": "xi = 0 (no MMD term)",
          "kappa85": "kappa = 85 (no selection)", "ridge": "ridge, all features",
          "blocks": "blocks grouping"}

#: Penalties of the ridge ablation: 10^-3 .. 10^5, four per decade.
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 33))

_GRID_COLUMNS = ["variant", "kappa", "xi", "alpha", "accuracy", "macro_f1"]


# --------------------------------------------------------------------------- ridge


def _check_xy(Xs, ys, Xt) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from tgsr_lib.checks import check_source_target

    return check_source_target(Xs, ys, Xt)


def _check_alphas(alphas) -> np.ndarray:
    a = np.atleast_1d(np.asarray(alphas, dtype=float)).ravel()
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"alphas must be a non-empty list of finite penalties > 0, got {alphas!r}")
    return a


def ridge_predictions(Xs, ys, Xt, alphas=RIDGE_ALPHAS) -> np.ndarray:
    """Target predictions of ridge regression on one-hot source labels, one row per penalty.

    For each ``alpha``: ``W = argmin ||Y - Xs W||^2 + alpha ||W||^2`` (scikit-learn
    :class:`~sklearn.linear_model.Ridge`, no intercept, as TGSR's regression has none), then the
    class of a target sample ``x`` is the argmax of ``x W`` (first class on ties).

    Parameters
    ----------
    Xs : (n_s, d) source features; ys : (n_s,) source labels; Xt : (n_t, d) target features.
    alphas : penalties > 0.

    Returns
    -------
    (len(alphas), n_t) array of predicted labels (values of ``ys``).
    """
    from sklearn.linear_model import Ridge

    Xs, ys, Xt, classes = _check_xy(Xs, ys, Xt)
    alphas = _check_alphas(alphas)
    onehot = (ys[:, None] == classes[None, :]).astype(float)
    out = np.empty((alphas.size, Xt.shape[0]), dtype=classes.dtype)
    for i, alpha in enumerate(alphas):
        model = Ridge(alpha=alpha, fit_intercept=False, solver="cholesky").fit(Xs, onehot)
        out[i] = classes[np.argmax(model.predict(Xt), axis=1)]
    return out


def ridge_grid(Xs, ys, Xt, yt, alphas=RIDGE_ALPHAS) -> pd.DataFrame:
    """Accuracy and macro-F1 of :func:`ridge_predictions` at every penalty: columns
    ``alpha, accuracy, macro_f1`` (fractions)."""
    pred = ridge_predictions(Xs, ys, Xt, alphas)
    yt = np.asarray(yt)
    if yt.shape != (pred.shape[1],):
        raise ValueError(f"yt has shape {yt.shape}; give one label per target sample "
                         f"({pred.shape[1]})")
    return pd.DataFrame({"alpha": _check_alphas(alphas),
                         "accuracy": [metrics.accuracy(yt, p) for p in pred],
                         "macro_f1": [metrics.macro_f1(yt, p) for p in pred]})


# --------------------------------------------------------------------------- grids


def _check_numbers(numbers) -> list[int]:
    numbers = [protocols.get_experiment(n).number for n in np.atleast_1d(numbers).tolist()]
    bad = [n for n in numbers if n not in protocols.COMPUTABLE]
    if bad:
        raise ValueError(f"experiments {bad} need the SMIC_HS features, which are not public: "
                         f"ablations run on {list(protocols.COMPUTABLE)}")
    return numbers


def _small_grids(number: int) -> pd.DataFrame:
    """The grids of ``xi0`` (kappa = 1..85 at xi = 0) and ``ridge`` (the penalties)."""
    from tgsr_lib.experiments.runner import compute_grid

    Xs, ys, Xt, yt = paired.experiment_data(number)
    xi0 = compute_grid((Xs, ys), (Xt, yt), kappas=np.arange(1, layout.N_GROUPS + 1),
                       xis=[0.0], progress=False)
    ridge = ridge_grid(Xs, ys, Xt, yt)
    return pd.concat([xi0.assign(variant="xi0", alpha=np.nan),
                      ridge.assign(variant="ridge", kappa=np.nan, xi=np.nan)],
                     ignore_index=True)[_GRID_COLUMNS]


def small_grids(number: int, *, cache_dir: str | os.PathLike = "cache/ablations",
                recompute: bool = False) -> pd.DataFrame:
    """The computed variants' grids of experiment ``number`` (``xi0``: kappa = 1..85 at
    xi = 0; ``ridge``: every penalty), cached as ``cache_dir/grids_exp<N>.csv`` (see
    :func:`tgsr_lib.experiments.cache.cached_table` for ``recompute``)."""
    from tgsr_lib.experiments.cache import cached_table

    number = _check_numbers(number)[0]
    return cached_table(Path(cache_dir) / f"grids_exp{number}.csv",
                        lambda: _small_grids(number), recompute)


def ablation_grids(number: int, *, grid_cache: str | os.PathLike = "cache/grids",
                   cache_dir: str | os.PathLike = "cache/ablations",
                   recompute: bool = False) -> pd.DataFrame:
    """Every variant's grid on experiment ``number``, stacked: columns ``variant, kappa, xi,
    alpha, accuracy, macro_f1``, each variant's rows in grid order (kappa outer).

    ``full``, ``kappa85`` and ``blocks`` come from the grid cache ``grid_cache`` (see
    :func:`~tgsr_lib.report.tables.experiment_grid`); ``xi0`` and ``ridge`` are computed (a
    few seconds) and cached by :func:`small_grids`.
    """
    from tgsr_lib.report.tables import experiment_grid

    number = _check_numbers(number)[0]
    small = small_grids(number, cache_dir=cache_dir, recompute=recompute)
    parts = []
    for grouping, variant in (("authors", "full"), ("blocks", "blocks")):
        grid, kind = experiment_grid(number, grouping, cache_dir=grid_cache)
        if kind != "computed":
            raise ValueError(f"no computed {grouping} grid of Exp.{number} in {grid_cache}")
        parts.append(grid.assign(variant=variant, alpha=np.nan))
        if variant == "full":
            parts.append(grid[grid.kappa == layout.N_GROUPS].assign(variant="kappa85",
                                                                    alpha=np.nan))
    parts.extend(small[small.variant == v] for v in ("xi0", "ridge"))
    out = pd.concat(parts, ignore_index=True)[_GRID_COLUMNS]
    order = {v: i for i, v in enumerate(VARIANTS)}
    return out.sort_values("variant", key=lambda s: s.map(order), kind="stable"
                           ).reset_index(drop=True)


def selected_points(grids: pd.DataFrame, by: str = "macro_f1") -> pd.DataFrame:
    """The oracle's pick of every variant: its first row with the highest ``by``.

    ``grids``: a table of :func:`ablation_grids` (one experiment), or several stacked with an
    ``experiment`` column. Returns one row per (experiment,) variant with the grid columns and
    ``n_points`` (the size of the searched grid).
    """
    missing = {"variant", by} - set(grids.columns)
    if missing:
        raise ValueError(f"grids lacks the column(s) {sorted(missing)}: give the table of "
                         "ablation_grids")
    keys = ["experiment", "variant"] if "experiment" in grids.columns else ["variant"]
    rows = []
    for _, df in grids.groupby(keys, sort=False):
        best = df.loc[df[by].idxmax()].copy()
        best["n_points"] = len(df)
        rows.append(best)
    return pd.DataFrame(rows).reset_index(drop=True)


# --------------------------------------------------------------------------- predictions


def _predict(number: int, row: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    variant = row["variant"]
    if variant == "ridge":
        Xs, ys, Xt, yt = paired.experiment_data(number)
        return yt, ridge_predictions(Xs, ys, Xt, [float(row["alpha"])])[0]
    grouping = "blocks" if variant == "blocks" else "authors"
    return paired.tgsr_predictions(number, int(row["kappa"]), float(row["xi"]), grouping)


def ablation_predictions(points: pd.DataFrame, *, cache_dir: str | os.PathLike = "cache/ablations",
                         recompute: bool = False, name: str = "predictions") -> pd.DataFrame:
    """Target predictions of every selected point (one fit each), cached.

    ``points``: :func:`selected_points` with an ``experiment`` column. Returns a long table
    ``experiment, variant, sample, y_true, y_pred`` (``sample``: index in the target set).
    The cache ``cache_dir/<name>.csv`` is used when it holds the same points (kappa, xi,
    alpha of each variant); otherwise it is recomputed and rewritten.
    """
    if "experiment" not in points.columns:
        raise ValueError("points needs an experiment column: stack the selected_points of "
                         "each experiment with experiment=N")
    path = Path(cache_dir) / f"{name}.csv"
    key = points[["experiment", "variant", "kappa", "xi", "alpha"]].reset_index(drop=True)
    if path.is_file() and not recompute:
        cached = pd.read_csv(path)
        stored = (cached.drop_duplicates(["experiment", "variant"])
                  [["experiment", "variant", "kappa", "xi", "alpha"]])
        merged = key.merge(stored, on=["experiment", "variant"], how="left",
                           suffixes=("", "_cached"))
        same = all(np.allclose(merged[c].to_numpy(float), merged[f"{c}_cached"].to_numpy(float),
                               rtol=0, atol=0, equal_nan=True) for c in ("kappa", "xi", "alpha"))
        if same:
            wanted = set(zip(key.experiment, key.variant, strict=True))
            mask = [(e, v) in wanted for e, v in zip(cached.experiment, cached.variant,
                                                      strict=True)]
            return cached[mask][["experiment", "variant", "sample", "y_true", "y_pred"]
                                ].reset_index(drop=True)
    frames = []
    for _, row in points.iterrows():
        y_true, y_pred = _predict(int(row["experiment"]), row)
        frames.append(pd.DataFrame({"experiment": int(row["experiment"]),
                                    "variant": row["variant"], "kappa": row["kappa"],
                                    "xi": row["xi"], "alpha": row["alpha"],
                                    "sample": np.arange(len(y_true)), "y_true": y_true,
                                    "y_pred": y_pred}))
    out = pd.concat(frames, ignore_index=True)
    from tgsr_lib.experiments.io import write_csv_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(out, path)
    return out[["experiment", "variant", "sample", "y_true", "y_pred"]]


def _by_variant(predictions: pd.DataFrame, number: int) -> tuple[np.ndarray, dict]:
    sub = predictions[predictions.experiment == number]
    if sub.empty:
        raise ValueError(f"no predictions of Exp.{number}")
    preds = {v: g.sort_values("sample").y_pred.to_numpy() for v, g in sub.groupby("variant",
                                                                                  sort=False)}
    y_true = sub[sub.variant == sub.variant.iloc[0]].sort_values("sample").y_true.to_numpy()
    return y_true, preds


# --------------------------------------------------------------------------- label-free


class _RidgeDA:
    """Ridge on one-hot labels with the ``fit(Xs, ys, Xt)`` / ``predict(X)`` interface of the
    baselines, for :func:`~tgsr_lib.compare.selection.estimator_rule_scores`."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, Xs, ys, Xt):
        self.Xs_, self.ys_ = np.asarray(Xs), np.asarray(ys)
        return self

    def predict(self, X):
        return ridge_predictions(self.Xs_, self.ys_, X, [self.alpha])[0]


def _label_free_small(number: int) -> pd.DataFrame:
    from tgsr_lib.compare import selection

    Xs, ys, Xt, _ = paired.experiment_data(number)
    kappas, _ = selection.subgrid()
    xi0 = selection.rule_scores((Xs, ys), Xt, kappas, [0.0], "authors", n_folds=5,
                                seed=0, reverse=False)
    ridge = selection.estimator_rule_scores(_RidgeDA, [{"alpha": a} for a in RIDGE_ALPHAS],
                                            (Xs, ys), Xt, n_folds=5, seed=0, reverse=False)
    return pd.concat([xi0.assign(variant="xi0", alpha=np.nan),
                      ridge.assign(variant="ridge", kappa=np.nan, xi=np.nan,
                                   alpha=list(RIDGE_ALPHAS))], ignore_index=True
                     )[["variant", "kappa", "xi", "alpha", "cv_f1"]]


def label_free_small(number: int, *, cache_dir: str | os.PathLike = "cache/ablations",
                     recompute: bool = False) -> pd.DataFrame:
    """The source cross-validation scores of the computed variants of experiment ``number``
    (``xi0`` on the kappas of notebook 08's subgrid, ``ridge`` on every penalty; 5 folds,
    seed 0), cached as ``cache_dir/label_free_exp<N>.csv`` (see
    :func:`tgsr_lib.experiments.cache.cached_table` for ``recompute``). Columns ``variant,
    kappa, xi, alpha, cv_f1``."""
    from tgsr_lib.experiments.cache import cached_table

    number = _check_numbers(number)[0]
    return cached_table(Path(cache_dir) / f"label_free_exp{number}.csv",
                        lambda: _label_free_small(number), recompute)


def label_free_scores(number: int, *, selection_cache: str | os.PathLike = "cache/selection",
                      cache_dir: str | os.PathLike = "cache/ablations",
                      recompute: bool = False) -> pd.DataFrame:
    """Source cross-validation macro-F1 (``cv_f1``, the ``source_cv`` rule of
    :mod:`tgsr_lib.compare.selection`; no target label is read) of every variant, on the
    subgrid of notebook 08 (every 4th kappa, every 10th xi).

    ``full``, ``kappa85`` (its rows at kappa = 85) and ``blocks`` come from notebook 08's
    cache ``selection_cache`` (:func:`~tgsr_lib.compare.selection.experiment_rule_scores`);
    ``xi0`` and ``ridge`` from :func:`label_free_small` (computed with the same 5 folds, seed
    0, and cached). Columns ``variant, kappa, xi, alpha, cv_f1``.
    """
    from tgsr_lib.compare import selection

    number = _check_numbers(number)[0]
    small = label_free_small(number, cache_dir=cache_dir, recompute=recompute)
    parts = []
    for grouping, variant in (("authors", "full"), ("blocks", "blocks")):
        scores = selection.experiment_rule_scores(number, grouping, cache_dir=selection_cache)
        parts.append(scores.assign(variant=variant, alpha=np.nan))
        if variant == "full":
            parts.append(scores[scores.kappa == layout.N_GROUPS].assign(variant="kappa85",
                                                                        alpha=np.nan))
    parts.extend(small[small.variant == v] for v in ("xi0", "ridge"))
    out = pd.concat(parts, ignore_index=True)[["variant", "kappa", "xi", "alpha", "cv_f1"]]
    order = {v: i for i, v in enumerate(VARIANTS)}
    return out.sort_values("variant", key=lambda s: s.map(order), kind="stable"
                           ).reset_index(drop=True)


def label_free_points(grids: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The ``source_cv`` pick of every variant (its first point with the highest ``cv_f1``)
    with the target ``accuracy`` and ``macro_f1`` of that point looked up in ``grids``
    (:func:`ablation_grids`; this is where target labels enter, for evaluation only).
    Columns as :func:`selected_points`, plus ``cv_f1``."""
    rows = []
    for variant, sc in scores.groupby("variant", sort=False):
        pick = sc.loc[sc.cv_f1.idxmax()]
        g = grids[grids.variant == variant]
        key = ["alpha"] if variant == "ridge" else ["kappa", "xi"]
        hit = g[np.all([np.isclose(g[k].to_numpy(float), float(pick[k]), rtol=1e-12, atol=0)
                        for k in key], axis=0)]
        if hit.empty:
            raise ValueError(f"{variant}: the label-free pick {pick[key].to_dict()} is not a "
                             "point of the grid")
        row = hit.iloc[0].copy()
        row["n_points"], row["cv_f1"] = len(sc), float(pick.cv_f1)
        rows.append(row)
    return pd.DataFrame(rows).reset_index(drop=True)


# --------------------------------------------------------------------------- tests


def mcnemar_table(predictions: pd.DataFrame, alpha: float = paired.ALPHA) -> pd.DataFrame:
    """The full model against each ablation on each experiment: exact McNemar p-value, Holm
    over the ablations of one experiment, and the verdict of
    :func:`tgsr_lib.compare.paired.paired_tests`.

    ``predictions``: the long table of :func:`ablation_predictions` (must hold ``full``).
    Returns one row per (experiment, ablation) with ``acc_full``, ``acc_ablation``,
    ``f1_full``, ``f1_ablation``, ``full_only``, ``ablation_only``, ``p_value``, ``p_holm`` and
    ``verdict``.
    """
    rows = []
    for number in sorted(predictions.experiment.unique()):
        y_true, preds = _by_variant(predictions, int(number))
        if "full" not in preds:
            raise ValueError(f"Exp.{number} has no predictions of the full model")
        tests = paired.paired_tests(y_true, preds, reference="full", alpha=alpha)
        for _, t in tests.iterrows():
            rows.append({"experiment": int(number), "ablation": t.method,
                         "acc_full": t.acc_reference, "acc_ablation": t.acc_method,
                         "f1_full": metrics.macro_f1(y_true, preds["full"]),
                         "f1_ablation": metrics.macro_f1(y_true, preds[t.method]),
                         "full_only": int(t.reference_only), "ablation_only": int(t.other_only),
                         "p_value": t.p_value, "p_holm": t.p_holm, "verdict": t.verdict})
    return pd.DataFrame(rows)


def across_experiments(points: pd.DataFrame, metric: str = "macro_f1",
                       alternative: str = "greater") -> pd.DataFrame:
    """Does the full model beat each ablation across the experiments?

    ``points``: :func:`selected_points` of several experiments (``experiment`` column). For
    each ablation, the per-experiment differences ``full - ablation`` of ``metric`` go to the
    exact sign test (:func:`~tgsr_lib.compare.stats.sign_test`; ties dropped) and the exact
    paired permutation test (:func:`~tgsr_lib.compare.stats.paired_permutation_test`), both
    with ``alternative`` (``"greater"``: the full model is better).

    Returns one row per ablation: ``n_experiments``, ``full_better``, ``ablation_better``,
    ``ties``, ``mean_diff``, ``p_sign``, ``p_permutation`` and ``p_sign_reverse`` (the sign
    test in the opposite direction: the ablation better).
    """
    if "experiment" not in points.columns or metric not in points.columns:
        raise ValueError(f"points needs the columns experiment, variant and {metric!r}")
    wide = points.pivot(index="experiment", columns="variant", values=metric)
    if "full" not in wide.columns:
        raise ValueError("points has no row of the full model")
    rows = []
    for ablation in [v for v in ABLATIONS if v in wide.columns]:
        pair = wide[["full", ablation]].dropna()
        d = (pair["full"] - pair[ablation]).to_numpy()
        sign = stats.sign_test(d, alternative)
        reverse = {"greater": "less", "less": "greater"}.get(alternative, alternative)
        perm = stats.paired_permutation_test(pair["full"].to_numpy(), pair[ablation].to_numpy(),
                                             alternative=alternative)
        rows.append({"ablation": ablation, "n_experiments": int(d.size),
                     "full_better": sign["n_positive"], "ablation_better": sign["n_negative"],
                     "ties": sign["n_ties"], "mean_diff": float(d.mean()),
                     "p_sign": sign["p_value"], "p_permutation": perm["p_value"],
                     "p_sign_reverse": stats.sign_test(d, reverse)["p_value"]})
    return pd.DataFrame(rows)


#: What each ablation's test decides.
QUESTIONS = {"xi0": "does the MMD term help?", "kappa85": "does group selection help?",
             "ridge": "does TGSR beat plain ridge regression on all features?",
             "blocks": "is the authors' grouping better than the blocks grouping?"}


def findings(across: pd.DataFrame, alpha: float = paired.ALPHA) -> str:
    """Markdown bullets, one per ablation, from :func:`across_experiments` (one-sided
    "greater": the full model better): the counts, the mean difference, both p-values and
    the answer to the ablation's question (:data:`QUESTIONS`) at level ``alpha``."""
    need = {"ablation", "full_better", "ablation_better", "ties", "mean_diff", "p_sign",
            "p_permutation", "p_sign_reverse"} - set(across.columns)
    if need:
        raise ValueError(f"across lacks the column(s) {sorted(need)}: give the table of "
                         "across_experiments")
    bullets = []
    for _, r in across.iterrows():
        n = int(r.full_better + r.ablation_better + r.ties)
        if r.p_sign <= alpha and r.p_permutation <= alpha:
            answer = "yes, significantly"
        elif r.full_better > r.ablation_better:
            answer = "not shown: the full model is ahead more often, but not significantly"
        elif r.full_better < r.ablation_better:
            answer = "no: the ablation is ahead more often"
        else:
            answer = "no difference shown"
        bullets.append(
            f"* **{LABELS.get(r.ablation, r.ablation)}**: {QUESTIONS.get(r.ablation, '')} "
            f"The full model's macro-F1 is higher on {int(r.full_better)} of {n} experiments, "
            f"lower on {int(r.ablation_better)}, tied on {int(r.ties)} (mean difference "
            f"{r.mean_diff:+.4f}); one-sided sign test p = {r.p_sign:.3g}, paired permutation "
            f"test p = {r.p_permutation:.3g} (the ablation better: sign test p = "
            f"{r.p_sign_reverse:.3g}). Answer: {answer}.")
    return "\n".join(bullets)
