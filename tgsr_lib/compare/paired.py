"""Predictions at chosen points, and the paired statistics that compare methods on them.

Every table of the project reports, for a chosen setting of a method on one experiment, the
accuracy and macro-F1 on the target set. This module supplies what turns those numbers into
statements with their uncertainty:

* :func:`tgsr_predictions` and :func:`baseline_predictions`: the target predictions of TGSR at
  one ``(kappa, xi)`` and of a baseline at one parameter setting (one fit each, recomputed);
* :func:`summary`: accuracy with its exact Clopper-Pearson interval, macro-F1 and UAR with
  seeded stratified bootstrap intervals, and the per-class F1, from one prediction vector;
* :func:`paired_tests`: one reference method (TGSR) against every other method on the same
  target samples, exact McNemar p-values, Holm-adjusted over the family, and a verdict.

The tests themselves live in :mod:`tgsr_lib.compare.stats`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from tgsr_lib.compare import metrics, stats
from tgsr_lib.data import protocols

__all__ = ["experiment_data", "tgsr_predictions", "baseline_predictions", "summary",
           "paired_tests", "holm_family", "verdict", "ALPHA"]

#: Family-wise significance level of the paired comparisons.
ALPHA = 0.05


@lru_cache(maxsize=16)
def experiment_data(number: int):
    """``(Xs, ys, Xt, yt)`` of experiment ``number``
    (:func:`tgsr_lib.compare.baselines.load_experiment`, kept for the session)."""
    from tgsr_lib.compare.baselines import load_experiment

    return load_experiment(number)


@lru_cache(maxsize=256)
def _tgsr_point(number: int, grouping: str, kappa: int, xi: float) -> np.ndarray:
    from threadpoolctl import threadpool_limits

    from tgsr_lib.model import GridProblem, solve_many

    Xs, ys, Xt, _ = experiment_data(number)
    problem = GridProblem(Xs, ys, Xt, grouping)
    # one fit: the products are small, extra BLAS threads only wait on each other
    with threadpool_limits(1, user_api="blas"):
        pred, _, _ = solve_many(problem, [kappa], [xi], n_slots=1)
    pred = pred[0]
    pred.setflags(write=False)
    return pred


def tgsr_predictions(number: int, kappa: int, xi: float, grouping: str = "authors"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` of TGSR at ``(kappa, xi)`` on experiment ``number``.

    One fit with the grid's engine, so the predictions are those behind the grid's values
    at that point. ``grouping`` is a grouping name (``"authors"``, ``"blocks"``,
    ``"features"``). Raises :class:`~tgsr_lib.data.datasets.DataUnavailableError` for the
    experiments whose features are not public (SMIC-HS).
    """
    from tgsr_lib.checks import check_kappa, check_xi
    from tgsr_lib.experiments.runner import check_grouping
    from tgsr_lib.model.groups import resolve_groups

    grouping = check_grouping(grouping)
    if not isinstance(grouping, str):
        raise ValueError("tgsr_predictions takes a grouping name; for your own groups fit "
                         "tgsr_lib.TGSR(groups=...) directly")
    number = protocols.get_experiment(number).number
    n_groups = resolve_groups(grouping, experiment_data(number)[0].shape[1]).n_groups
    kappa, xi = check_kappa(kappa, n_groups), check_xi(xi)
    return experiment_data(number)[3], _tgsr_point(number, grouping, kappa, xi)


def baseline_predictions(method: str, number: int, params: Mapping | str | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` of a baseline (a name of
    :data:`tgsr_lib.compare.baselines.METHODS`) with ``params`` (a dict or its JSON, as in
    the baselines' grid tables; None for the defaults) on experiment ``number``."""
    from tgsr_lib.compare.baselines import make_method

    if isinstance(params, str):
        params = json.loads(params)
    number = protocols.get_experiment(number).number
    from threadpoolctl import threadpool_limits

    Xs, ys, Xt, yt = experiment_data(number)
    # one fit of moderate size: on a busy machine extra BLAS threads mostly wait
    with threadpool_limits(1, user_api="blas"):
        pred = make_method(method, **dict(params or {})).fit(Xs, ys, Xt).predict(Xt)
    return yt, np.asarray(pred)


def summary(y_true, y_pred, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> dict:
    """The scores of one prediction vector with their intervals.

    Returns a dict: ``n``, ``correct``, ``accuracy`` with ``accuracy_low``/``accuracy_high``
    (exact Clopper-Pearson), ``macro_f1`` and ``uar`` with ``*_low``/``*_high`` (seeded,
    class-stratified percentile bootstrap, :func:`~tgsr_lib.compare.stats.bootstrap_interval`),
    and ``f1_<class>`` for every true or predicted class. All scores are fractions.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = int(y_true.size)
    correct = int(np.sum(y_true == y_pred)) if n else 0
    low, high = stats.clopper_pearson(correct, n, level)
    out = {"n": n, "correct": correct, "accuracy": correct / n,
           "accuracy_low": low, "accuracy_high": high}
    for name in ("macro_f1", "uar"):
        est, lo, hi = stats.bootstrap_interval(y_true, y_pred, name, n_boot=n_boot,
                                               level=level, seed=seed)
        out.update({name: est, f"{name}_low": lo, f"{name}_high": hi})
    out.update({f"f1_{c}": v for c, v in metrics.f1_per_class(y_true, y_pred).items()})
    return out


def verdict(p_adjusted: float, acc_reference: float, acc_other: float, reference: str,
            other: str, alpha: float = ALPHA) -> str:
    """Words for one paired comparison: which method is better, or no significant difference."""
    if not p_adjusted <= alpha:  # Holm's rejection rule, as in stats.holm
        return "no significant difference"
    return f"{reference} better" if acc_reference > acc_other else f"{other} better"


def paired_tests(y_true, predictions: Mapping[str, np.ndarray], reference: str = "TGSR",
                 alpha: float = ALPHA) -> pd.DataFrame:
    """``reference`` against each other method of ``predictions`` on the same target samples.

    One row per other method: both accuracies, ``reference_only`` (samples only the reference
    classifies correctly) and ``other_only``, the exact McNemar ``p_value``, ``p_holm``
    (Holm-adjusted over the rows of this call: one family) and ``verdict``.
    """
    if reference not in predictions:
        raise ValueError(f"reference {reference!r} is not among the predictions "
                         f"({', '.join(predictions)}): give its predictions too")
    y_true = np.asarray(y_true)
    ref = np.asarray(predictions[reference])
    rows = []
    for name, pred in predictions.items():
        if name == reference:
            continue
        test = stats.mcnemar_exact(y_true, ref, pred)
        rows.append({"method": name, "reference": reference,
                     "acc_reference": metrics.accuracy(y_true, ref),
                     "acc_method": metrics.accuracy(y_true, pred),
                     "reference_only": test["b"], "other_only": test["c"],
                     "p_value": test["p_value"]})
    df = pd.DataFrame(rows, columns=["method", "reference", "acc_reference", "acc_method",
                                     "reference_only", "other_only", "p_value"])
    return holm_family(df, alpha)


def holm_family(tests: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """``p_holm`` and ``verdict`` recomputed with all rows of ``tests`` as one family.

    ``tests``: rows of :func:`paired_tests`, e.g. several experiments' calls concatenated
    (``pd.concat``), so that Holm's correction covers every comparison a table makes.
    """
    df = tests.copy()
    if df.empty:
        return df.assign(p_holm=[], verdict=[])
    df["p_holm"] = stats.holm(df.p_value.to_numpy(), alpha)[0]
    df["verdict"] = [verdict(p, a, b, ref, m, alpha)
                     for p, a, b, ref, m in zip(df.p_holm, df.acc_reference, df.acc_method,
                                                df.reference, df.method, strict=True)]
    return df
