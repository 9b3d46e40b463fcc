"""How much of an oracle's "best" is search: the best score of a grid on shuffled target labels.

The tables of cross-database papers report each method at the grid point with the highest
target score (the *oracle*). A grid of many points reaches a high best score even when its
predictions carry no information about the target labels, because the maximum of many noisy
scores is large. This module measures that effect with a permutation null:

* the **null best**: the target labels are permuted at random (seeded) and the best score
  over the *same* prediction vectors is recorded; repeated ``n_permutations`` times, this is
  the distribution of the oracle's best when the labels have nothing to do with the
  predictions (every permutation scores all points against the same shuffled labels, so the
  dependence between the points of a grid is kept);
* the **point null**: the mean score of one point under the same permutations (chance level
  of a single fixed model), so that ``null best - point null`` is what the search alone adds.

The oracle best is then read against the null best: its excess over the null's mean and
95th percentile, and the permutation p-value ``(1 + #{null best >= oracle}) / (1 + B)``.

The predictions of every point of a grid are needed; :func:`tgsr_subgrid_predictions` and
:func:`baseline_grid_predictions` compute them (recomputed fits, no target label read) and
cache them as small gzip CSV files, one label string per point.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tgsr_lib.compare import stats

__all__ = ["null_best", "search_null", "tgsr_subgrid_predictions",
           "baseline_grid_predictions", "METRICS"]

#: Scores the null can be computed for (batched forms of :mod:`tgsr_lib.compare.stats`).
METRICS = {"accuracy": stats.accuracy_batch, "macro_f1": stats.macro_f1_batch,
           "uar": stats.uar_batch}


def _check_inputs(y_true, predictions, metric: str, n_permutations: int):
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: use one of {', '.join(METRICS)}")
    if isinstance(n_permutations, bool) or int(n_permutations) != n_permutations \
            or n_permutations < 1:
        raise ValueError(f"n_permutations={n_permutations!r}: use a positive integer "
                         "(e.g. 200)")
    y_true = np.asarray(y_true).ravel()
    pred = np.asarray(predictions)
    if pred.ndim == 1:
        pred = pred[None, :]
    if pred.ndim != 2 or pred.shape[1] != y_true.size or pred.shape[0] == 0 \
            or y_true.size == 0:
        raise ValueError(f"predictions must be (P, {y_true.size}): one row of target "
                         f"predictions per grid point, got shape {np.shape(predictions)}")
    return y_true, pred, int(n_permutations)


def _permuted_scores(y_true, pred, metric, n_permutations, seed):
    """Scores (B, U) of the U distinct prediction rows under B permutations, and the number
    of grid points behind each distinct row."""
    rows, counts = np.unique(pred, axis=0, return_counts=True)  # max/mean over distinct rows
    rng = np.random.default_rng(seed)
    score = METRICS[metric]
    out = np.empty((n_permutations, rows.shape[0]))
    for b in range(n_permutations):
        out[b] = score(rng.permutation(y_true), rows)
    return out, counts


def null_best(y_true, predictions, *, metric: str = "macro_f1", n_permutations: int = 200,
              seed: int = 0) -> np.ndarray:
    """The best score over a grid's predictions under randomly permuted target labels.

    Parameters
    ----------
    y_true : (N,) target labels.
    predictions : (P, N) predicted labels, one row per grid point (a single (N,) vector is
        one point).
    metric : ``"macro_f1"``, ``"accuracy"`` or ``"uar"``.
    n_permutations : number of random permutations B.
    seed : seed of the permutations (the same seed gives the same permutations, so the null
        best over a superset of points is never below that over a subset).

    Returns
    -------
    (B,) array: ``max_p metric(permuted y_true, predictions[p])`` for each permutation.
    """
    y_true, pred, n_permutations = _check_inputs(y_true, predictions, metric, n_permutations)
    scores, _ = _permuted_scores(y_true, pred, metric, n_permutations, seed)
    return scores.max(axis=1)


def search_null(y_true, predictions, *, metric: str = "macro_f1", n_permutations: int = 200,
                seed: int = 0, level: float = 0.95) -> dict:
    """The oracle best of a grid beside its shuffled-label null.

    Returns a dict: ``n_points`` (P), ``n_distinct`` (distinct prediction rows), ``oracle``
    (best score on the true labels), ``null_mean`` and ``null_q`` (mean and ``level``
    quantile of :func:`null_best`), ``point_null`` (mean score of one point under the
    permutations, averaged over the points: chance level without search), ``search_gain``
    (``null_mean - point_null``: what the search adds on labels that carry no information),
    ``excess`` (``oracle - null_mean``) and ``p_value`` (``(1 + #{null >= oracle}) / (1 + B)``).
    Scores are fractions.
    """
    y_true, pred, n_permutations = _check_inputs(y_true, predictions, metric, n_permutations)
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: use a number strictly between 0 and 1")
    scores, counts = _permuted_scores(y_true, pred, metric, n_permutations, seed)
    best = scores.max(axis=1)
    oracle = float(METRICS[metric](y_true, pred).max())
    point = float((scores @ counts).mean() / counts.sum())
    return {"n_points": int(pred.shape[0]), "n_distinct": int(counts.size), "oracle": oracle,
            "null_mean": float(best.mean()), "null_q": float(np.quantile(best, level)),
            "point_null": point, "search_gain": float(best.mean()) - point,
            "excess": oracle - float(best.mean()),
            "p_value": float((1 + np.sum(best >= oracle - 1e-12)) / (1 + n_permutations))}


# --------------------------------------------------------------------------- predictions


def _encode_rows(pred: np.ndarray) -> list[str]:
    return [" ".join(str(int(v)) for v in row) for row in pred]


def _decode_rows(column: pd.Series) -> np.ndarray:
    return np.array([np.array(s.split(), dtype=int) for s in column])


def _cached(path: Path, recompute: bool, compute: Callable[[], pd.DataFrame]):
    from tgsr_lib.experiments.io import read_grid, write_csv_atomic

    if recompute or not path.is_file():
        write_csv_atomic(compute(), path)
    table = read_grid(path)
    return table.drop(columns="pred"), _decode_rows(table["pred"])


def tgsr_subgrid_predictions(number: int, grouping: str = "authors", *, kappa_step: int = 4,
                             xi_step: int = 10, cache_dir: str | os.PathLike = "cache/selection",
                             recompute: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """TGSR's target predictions at every point of :func:`~tgsr_lib.compare.selection.subgrid`.

    Computed with the grid engine (:func:`tgsr_lib.model.solve_many`, the engine of the
    committed grids and of :func:`tgsr_lib.compare.paired.tgsr_predictions`) and cached in
    ``cache_dir`` as ``pred_tgsr_exp{N}_{grouping}_k{kappa_step}_x{xi_step}.csv.gz``
    (predictions only, no target label). Returns ``(points, pred)``: a table with ``kappa``
    and ``xi`` (kappa outer, xi inner) and the (P, N_target) predictions.
    """
    from tgsr_lib.compare.selection import subgrid
    from tgsr_lib.experiments.axes import grid_points
    from tgsr_lib.experiments.runner import check_grouping

    if not isinstance(check_grouping(grouping), str):
        raise ValueError("give a grouping name ('authors', 'blocks' or 'features')")
    path = Path(cache_dir) / f"pred_tgsr_exp{number}_{grouping}_k{kappa_step}_x{xi_step}.csv.gz"

    def compute() -> pd.DataFrame:
        from tgsr_lib.compare.paired import _experiment_data
        from tgsr_lib.model import GridProblem, solve_many

        Xs, ys, Xt, _ = _experiment_data(number)
        kk, xx = grid_points(*subgrid(kappa_step, xi_step))
        pred, _, _ = solve_many(GridProblem(Xs, ys, Xt, grouping), kk, xx)
        return pd.DataFrame({"kappa": kk, "xi": xx, "pred": _encode_rows(pred)})

    return _cached(path, recompute, compute)


def baseline_grid_predictions(method: str, number: int, params: Sequence[dict], *,
                              cache_dir: str | os.PathLike = "cache/selection",
                              recompute: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """A baseline's target predictions at every parameter setting of ``params``.

    One fit per setting with :func:`tgsr_lib.compare.paired.baseline_predictions`; cached in
    ``cache_dir`` as ``pred_{method}_exp{N}_p{len(params)}.csv.gz``. Returns ``(points,
    pred)``: a table with ``params`` (JSON, sorted keys, as the baselines' grid tables) and
    the (P, N_target) predictions. A cache whose settings differ from ``params`` is refused.
    """
    import json

    from tgsr_lib.compare.paired import baseline_predictions

    params = [dict(p) for p in params]
    if not params:
        raise ValueError("params is empty: give the parameter settings of the grid")
    keys = [json.dumps(p, sort_keys=True) for p in params]
    path = Path(cache_dir) / f"pred_{method}_exp{number}_p{len(params)}.csv.gz"

    def compute() -> pd.DataFrame:
        pred = np.stack([baseline_predictions(method, number, p)[1] for p in params])
        return pd.DataFrame({"params": keys, "pred": _encode_rows(pred)})

    points, pred = _cached(path, recompute, compute)
    if points["params"].tolist() != keys:
        raise ValueError(f"{path} holds other parameter settings than those given: delete it "
                         "or pass recompute=True")
    return points, pred
