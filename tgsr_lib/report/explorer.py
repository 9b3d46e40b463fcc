"""An interactive explorer of TGSR's grid (ipywidgets): pick an experiment, kappa, xi and the
grouping; see the metrics (from the cached grid), the selected regions on a face and the
confusion matrix (from a fit, cached).

:func:`render` draws one state without widgets (used headless: notebook 09 and
``tests/test_report.py``); :class:`Explorer` wires widgets to it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tgsr_lib.compare import metrics
from tgsr_lib.data import datasets, protocols
from tgsr_lib.experiments import axes
from tgsr_lib.model.estimator import TGSR
from tgsr_lib.report import plotting, tables


@lru_cache(maxsize=64)
def _fit(number: int, grouping: str, kappa: int, xi: float):
    exp = protocols.get_experiment(number)
    src, tgt = datasets.load_features(exp.source), datasets.load_features(exp.target)
    model = TGSR(kappa, xi, groups=grouping).fit(src.X, src.y, tgt.X)
    return model, tgt.y, model.predict(tgt.X)


@lru_cache(maxsize=16)
def _grid(number: int, grouping: str, cache_dir: str):
    return tables.experiment_grid(number, grouping, cache_dir=cache_dir, progress=False)


def render(number: int, kappa: int, xi: float, grouping: str = "authors",
           cache_dir: str = "cache/grids"):
    """Figure and summary of one (experiment, kappa, xi, grouping) state.

    Returns ``(fig, summary)`` where summary holds the fitted accuracy and macro-F1, the grid's
    values at that point (computed or recorded), and the kept groups.
    """
    import matplotlib.pyplot as plt

    from tgsr_lib.features.synthetic import base_face

    exp = protocols.get_experiment(number)
    model, y_true, pred = _fit(int(number), grouping, int(kappa), float(xi))
    df, kind = _grid(int(number), grouping, str(cache_dir))
    summary = dict(experiment=exp.label, grouping=grouping, kappa=int(kappa), xi=float(xi),
                   accuracy=metrics.accuracy(y_true, pred),
                   macro_f1=metrics.macro_f1(y_true, pred), grid=kind,
                   kept_groups=model.selected_groups_.tolist())
    if df is not None:
        row = df[(df.kappa == int(kappa)) & np.isclose(df.xi, float(xi))]
        if len(row):
            summary["grid_accuracy"] = float(row.accuracy.iloc[0])
            summary["grid_macro_f1"] = float(row.macro_f1.iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.9))
    plotting.draw_groups(axes[0], base_face(), grouping, model.selected_groups_,
                         title=f"{exp.label}, {grouping}: kappa={kappa}, xi={xi:g}")
    cm = metrics.confusion_matrix(y_true, pred, labels=model.classes_)
    plotting.confusion_matrix(cm, datasets.CLASS_NAMES, ax=axes[1],
                              title=f"acc {100 * summary['accuracy']:.2f}%, "
                                    f"F1 {summary['macro_f1']:.4f}")
    fig.tight_layout()
    return fig, summary


class Explorer:
    """Widgets over :func:`render`. ``Explorer().widget`` is the UI to display."""

    def __init__(self, experiments=protocols.COMPUTABLE, cache_dir: str = "cache/grids",
                 number: int | None = None, kappa: int = 12, xi: float = 44.0,
                 grouping: str = "authors"):
        import ipywidgets as w

        self.cache_dir = cache_dir
        xis = np.unique(axes.paper_xis())
        self.experiment = w.Dropdown(
            options=[(protocols.get_experiment(n).label, n) for n in experiments],
            value=number if number is not None else list(experiments)[0], description="task")
        self.grouping = w.ToggleButtons(options=["authors", "blocks"], value=grouping,
                                        description="grouping")
        self.kappa = w.IntSlider(value=kappa, min=1, max=85, description="kappa",
                                 continuous_update=False)
        self.xi = w.SelectionSlider(options=[(f"{x:g}", float(x)) for x in xis],
                                    value=float(xis[np.argmin(np.abs(xis - xi))]),
                                    description="xi", continuous_update=False)
        self.best = w.Button(description="go to best F1")
        self.out = w.Output()
        for control in (self.experiment, self.grouping, self.kappa, self.xi):
            control.observe(lambda _change: self.update(), names="value")
        self.best.on_click(lambda _b: self.go_to_best())
        self.widget = w.VBox([w.HBox([self.experiment, self.grouping]),
                              w.HBox([self.kappa, self.xi, self.best]), self.out])
        self.update()

    def go_to_best(self) -> None:
        df, _ = _grid(self.experiment.value, self.grouping.value, str(self.cache_dir))
        if df is not None:
            best = tables.first_best(df)
            self.kappa.value = int(best.kappa)
            self.xi.value = float(best.xi)

    def update(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig, summary = render(self.experiment.value, self.kappa.value, self.xi.value,
                              self.grouping.value, self.cache_dir)
        self.summary = summary
        self.out.clear_output(wait=True)
        with self.out:
            text = (f"fit: accuracy {100 * summary['accuracy']:.2f}%, "
                    f"macro-F1 {summary['macro_f1']:.4f}")
            if "grid_accuracy" in summary:
                text += (f" | {summary['grid']} grid: {100 * summary['grid_accuracy']:.2f}%, "
                         f"{summary['grid_macro_f1']:.4f}")
            print(text)
            display(fig)
        plt.close(fig)
