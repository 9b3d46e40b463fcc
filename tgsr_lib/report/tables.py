"""Tables that put the paper, the authors' released records and our recomputation side by side.

The paper's numbers (``data/paper_table.csv``, copied from Tables I and II of the paper) are
used only for display and comparison, never in a computation.
"""

from __future__ import annotations

import os
from importlib import resources

import numpy as np
import pandas as pd

from tgsr_lib.data import datasets, layout, protocols
from tgsr_lib.experiments.cache import cached_grid
from tgsr_lib.experiments.runner import Grouping, best_row, check_grouping
from tgsr_lib.model.groups import resolve_groups

#: Methods in the paper's table order.
METHODS = ("SVM", "IW-SVM", "TCA", "GFK", "SA", "STM", "TKL", "TSRG", "DRLS", "TGSR")

#: The paper prints 4 decimals (F1) and 2 decimals (accuracy in %): values within half a unit
#: of the last digit are "the same number".
F1_TOL = 0.5e-4
ACC_TOL = 0.5e-2


def paper_table() -> pd.DataFrame:
    """The paper's results: experiment, protocol, source, target, method, macro_f1,
    accuracy_percent."""
    with resources.files("tgsr_lib").joinpath("data/paper_table.csv").open() as fh:
        return pd.read_csv(fh)


first_best = best_row  # the first max-``by`` row: the authors' rule for the paper's table


def experiment_grid(number: int, grouping: Grouping = "authors", *, prefer: str = "computed",
                    cache_dir: str | os.PathLike = "cache/grids", recompute: bool = False,
                    progress: bool | None = None) -> tuple[pd.DataFrame | None, str]:
    """The full grid of one experiment and where it comes from.

    Returns ``(grid, kind)`` with kind ``"computed"`` (recomputed from features, cached),
    ``"recorded"`` (the authors' released grid; only for the ``authors`` grouping) or
    ``"unavailable"`` (grid None). ``prefer="recorded"`` returns the record when one exists.
    ``grouping``: any groups of the authors' 15,045 columns (a name or one group id per
    feature, see :func:`~tgsr_lib.experiments.runner.compute_grid`).
    """
    exp = protocols.get_experiment(number)
    authors = _check_authors_grouping(grouping)
    if prefer not in ("computed", "recorded"):
        raise ValueError(f"prefer={prefer!r}: use 'computed' or 'recorded'")
    has_record = (exp.source, exp.target) in datasets.available_records()
    if prefer == "recorded" and has_record and authors:
        return datasets.load_record(exp.source, exp.target), "recorded"
    try:
        df = cached_grid(exp.source, exp.target, grouping=grouping, cache_dir=cache_dir,
                         recompute=recompute, progress=progress)
        return df, "computed"
    except datasets.DataUnavailableError:
        if has_record and authors:
            return datasets.load_record(exp.source, exp.target), "recorded"
        return None, "unavailable"


def reachable(df: pd.DataFrame, f1: float, acc_percent: float) -> bool:
    """Does any grid row print as the paper's (macro-F1, accuracy) pair?"""
    _check_grid_frame(df)
    return bool(np.any((np.abs(df.macro_f1 - f1) <= F1_TOL)
                       & (np.abs(100 * df.accuracy - acc_percent) <= ACC_TOL)))


def tgsr_comparison(numbers, grouping: Grouping = "authors", *, cache_dir="cache/grids",
                    recompute: bool = False, progress: bool | None = None) -> pd.DataFrame:
    """One row per experiment: the paper's TGSR entry, the released record's and our
    recomputed grid's first max-F1 row (with its accuracy and, where the grid has the column,
    its ``n_iter``: solver iterations) and first max-accuracy row, and whether the paper's pair
    occurs anywhere in each grid."""
    authors = _check_authors_grouping(grouping)
    numbers = [protocols.get_experiment(n).number for n in np.atleast_1d(numbers).tolist()]
    paper = paper_table()
    rows = []
    for n in numbers:
        exp = protocols.get_experiment(n)
        p = paper[(paper.experiment == n) & (paper.method == "TGSR")].iloc[0]
        row = dict(experiment=n, task=exp.name, paper_f1=p.macro_f1, paper_acc=p.accuracy_percent)
        grids = {}
        if authors and (exp.source, exp.target) in datasets.available_records():
            grids["recorded"] = datasets.load_record(exp.source, exp.target)
        computed, kind = experiment_grid(n, grouping, cache_dir=cache_dir, recompute=recompute,
                                         progress=progress)
        if kind == "computed":
            grids["computed"] = computed
        for name in ("recorded", "computed"):
            df = grids.get(name)
            if df is None:
                continue
            bf = first_best(df, "macro_f1")
            ba = first_best(df, "accuracy")
            row.update({
                f"{name}_kappa": int(bf.kappa), f"{name}_xi": float(bf.xi),
                f"{name}_f1": float(bf.macro_f1), f"{name}_acc": 100 * float(bf.accuracy),
                f"{name}_maxacc": 100 * float(ba.accuracy),
                f"{name}_maxacc_f1": float(ba.macro_f1),
                f"{name}_has_paper_pair": reachable(df, p.macro_f1, p.accuracy_percent),
            })
            if "n_iter" in df.columns:
                row[f"{name}_n_iter"] = int(bf.n_iter)
        rows.append(row)
    return pd.DataFrame(rows)


def best_point_scores(comparison: pd.DataFrame, grouping: str = "authors", *,
                      level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The recomputed best points of a comparison table with their intervals and per-class F1.

    For every experiment of ``comparison`` (:func:`tgsr_comparison`) with a recomputed grid,
    TGSR is fitted again at that grid's first max-F1 row (``computed_kappa``,
    ``computed_xi``) with :func:`tgsr_lib.compare.paired.tgsr_predictions`, and its predictions
    are scored by :func:`tgsr_lib.compare.paired.summary`: accuracy with its exact
    Clopper-Pearson interval and the correct count k of N, macro-F1 and UAR with seeded
    stratified bootstrap intervals, and the F1 of each class.

    Parameters
    ----------
    comparison : pandas.DataFrame
        The table of :func:`tgsr_comparison` (computed with the same ``grouping``).
    grouping : str
        The grouping name of the recomputed grids.
    level, n_boot, seed : as in :func:`tgsr_lib.compare.paired.summary`.

    Returns
    -------
    pandas.DataFrame
        One row per recomputed experiment: ``experiment, task, kappa, xi, correct, n,
        accuracy, accuracy_low, accuracy_high, macro_f1, macro_f1_low, macro_f1_high, uar,
        uar_low, uar_high`` (fractions), then ``f1_<class name>`` for each class (e.g.
        ``f1_negative``).

    Raises
    ------
    RuntimeError
        When a refit does not give the grid row's accuracy and macro-F1 (the refit must be
        the fit behind the grid).
    """
    from tgsr_lib.compare import paired

    rows = []
    for _, r in comparison.iterrows():
        if pd.isna(r.get("computed_f1", np.nan)):
            continue
        n = int(r["experiment"])
        exp = protocols.get_experiment(n)
        kappa, xi = int(r["computed_kappa"]), float(r["computed_xi"])
        y_true, y_pred = paired.tgsr_predictions(n, kappa, xi, grouping)
        scores = paired.summary(y_true, y_pred, level=level, n_boot=n_boot, seed=seed)
        if (abs(100 * scores["accuracy"] - r["computed_acc"]) > 1e-9
                or abs(scores["macro_f1"] - r["computed_f1"]) > 1e-12):
            raise RuntimeError(f"the refit of Exp.{n} at kappa {kappa}, xi {xi:g} does not give "
                               "the grid's accuracy and macro-F1: recompute the cached grid "
                               "(recompute=True)")
        names = dict(enumerate(datasets.load_features(exp.target).class_names, start=1))
        row = {"experiment": n, "task": exp.name, "kappa": kappa, "xi": xi}
        row.update({k: v for k, v in scores.items() if not k.startswith("f1_")})
        for key, value in scores.items():
            if key.startswith("f1_"):
                label = key[3:]
                row[f"f1_{names.get(int(label), label) if label.isdigit() else label}"] = value
        rows.append(row)
    columns = ["experiment", "task", "kappa", "xi", "correct", "n", "accuracy", "accuracy_low",
               "accuracy_high", "macro_f1", "macro_f1_low", "macro_f1_high", "uar", "uar_low",
               "uar_high"]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=columns)
    return df[columns + [c for c in df.columns if c not in columns]]


def format_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """:func:`best_point_scores` for reading: one row per experiment (``Exp.N task``), the
    point, ``k/N`` correct, each score with its 95% interval as ``[low, high]`` and the
    per-class F1, every score a fraction to 4 decimals."""
    def interval(r, name):
        return f"[{r[name + '_low']:.4f}, {r[name + '_high']:.4f}]"

    rows = {}
    for _, r in scores.iterrows():
        row = {"kappa": int(r.kappa), "xi": f"{r.xi:g}", "k/N": f"{int(r.correct)}/{int(r.n)}",
               "accuracy": f"{r.accuracy:.4f}", "accuracy 95% CI": interval(r, "accuracy"),
               "macro-F1": f"{r.macro_f1:.4f}", "macro-F1 95% CI": interval(r, "macro_f1"),
               "UAR": f"{r.uar:.4f}", "UAR 95% CI": interval(r, "uar")}
        row.update({f"F1 {c[3:]}": f"{r[c]:.4f}" for c in scores.columns
                    if c.startswith("f1_") and not pd.isna(r[c])})
        rows[f"Exp.{int(r.experiment)} {r.task}"] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def paper_format(protocol: str, ours: dict[int, tuple[float, float]] | None = None,
                 ours_label: str = "TGSR (ours)") -> pd.DataFrame:
    """The paper's Table I (``"I"``) or II (``"II"``): methods as rows, experiments as
    columns, each cell ``"F1 / Acc"``; ``ours`` maps experiment -> (macro-F1, accuracy %) and
    is added as the last row (cells without a value show "n/a")."""
    if protocol not in ("I", "II"):
        raise ValueError(f"protocol={protocol!r}: use 'I' (Table I) or 'II' (Table II)")
    paper = paper_table()
    paper = paper[paper.protocol == protocol]
    exps = sorted(paper.experiment.unique())
    names = {n: f"Exp.{n} {protocols.get_experiment(n).name}" for n in exps}
    table = {}
    for method in METHODS:
        sub = paper[paper.method == method].set_index("experiment")
        table[method] = {names[n]: f"{sub.macro_f1[n]:.4f} / {sub.accuracy_percent[n]:.2f}"
                         for n in exps}
    if ours is not None:
        table[ours_label] = {
            names[n]: (f"{ours[n][0]:.4f} / {ours[n][1]:.2f}" if n in ours else "n/a")
            for n in exps}
    df = pd.DataFrame(table).T
    df.index.name = "method (macro-F1 / accuracy %)"
    return df


def group_selection(source, target, kappa: int, xis, grouping: Grouping = "authors"
                    ) -> pd.DataFrame:
    """Which groups TGSR keeps at ``kappa`` for each xi: a boolean DataFrame (rows = xi,
    columns = the groups: 0..84 for the authors' groupings, else the group ids in the order
    of :func:`~tgsr_lib.model.groups.resolve_groups`), computed with the fast engine.
    ``source``, ``target`` and ``grouping`` as in
    :func:`~tgsr_lib.experiments.runner.compute_grid` (features of any dimension)."""
    from tgsr_lib.checks import check_kappa, check_source_target, check_xis
    from tgsr_lib.experiments.runner import features_of
    from tgsr_lib.model import GridProblem, solve_many

    grouping = check_grouping(grouping)
    xis = check_xis(xis)
    Xs, ys = features_of(source)
    Xt, _ = features_of(target)
    Xs, ys, Xt, _ = check_source_target(Xs, ys, Xt)
    problem = GridProblem(Xs, ys, Xt, grouping)
    kappa = check_kappa(kappa, problem.n_groups)
    _, _, _, kept = solve_many(problem, np.full(xis.size, kappa), xis, return_groups=True)
    columns = None if problem.layout.name in layout.GROUPINGS else problem.layout.ids
    return pd.DataFrame(kept, index=pd.Index(xis, name="xi"), columns=columns)


def live_check(number: int, grid_df: pd.DataFrame, n_points: int = 12,
               grouping: Grouping = "authors", seed: int = 0) -> pd.DataFrame:
    """Recompute ``n_points`` random rows of a cached grid with the CPU engine.

    Returns the sampled rows with the recomputed ``live_accuracy`` and ``live_macro_f1`` and a
    boolean column ``equal`` (exact equality with the cached values).
    """
    from tgsr_lib.checks import check_positive_int, check_source_target
    from tgsr_lib.compare.metrics import score_predictions
    from tgsr_lib.experiments.runner import solve_points

    exp = protocols.get_experiment(number)
    _check_grid_frame(grid_df)
    n_points = check_positive_int(n_points, "n_points")
    if n_points > len(grid_df):
        raise ValueError(f"n_points={n_points} is more than the grid's {len(grid_df)} rows: "
                         f"give at most {len(grid_df)}")
    _check_authors_grouping(grouping)
    src, tgt = datasets.load_features(exp.source), datasets.load_features(exp.target)
    Xs, ys, Xt, _ = check_source_target(src.X, src.y, tgt.X)
    rng = np.random.default_rng(seed)
    rows = grid_df.iloc[np.sort(rng.choice(len(grid_df), n_points, replace=False))].copy()
    pred, _, _ = solve_points(Xs, ys, Xt, rows.kappa.values, rows.xi.values, grouping)
    rows["live_accuracy"], rows["live_macro_f1"] = score_predictions(tgt.y, pred)
    rows["equal"] = ((rows.live_accuracy == rows.accuracy)
                     & (rows.live_macro_f1 == rows.macro_f1))
    return rows


def _check_authors_grouping(grouping) -> bool:
    """Check groups of the authors' 15,045 columns; True for the ``authors`` grouping (the
    one of the released records)."""
    grouping = check_grouping(grouping)
    resolve_groups(grouping, layout.FEATURE_DIM)
    return isinstance(grouping, str) and grouping == "authors"


def _check_grid_frame(df) -> None:
    """A grid DataFrame with the columns kappa, xi, accuracy and macro_f1."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a grid DataFrame (from cached_grid or compute_grid), not "
                         f"{type(df).__name__}")
    missing = [c for c in ("kappa", "xi", "accuracy", "macro_f1") if c not in df.columns]
    if missing:
        raise ValueError(f"the grid DataFrame lacks the column(s) {missing}: give a grid from "
                         "cached_grid or compute_grid")
    if df.empty:
        raise ValueError("the grid DataFrame is empty")
