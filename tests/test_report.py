from pathlib import Path

import nbformat
import pandas as pd
import pytest

from tgsr_lib import reproduce
from tgsr_lib.report import tables

from .conftest import requires_data

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_paper_table():
    t = tables.paper_table()
    assert len(t) == 120 and set(t.method) == set(tables.METHODS)
    tgsr = t[(t.method == "TGSR") & (t.experiment == 5)].iloc[0]
    assert (tgsr.macro_f1, tgsr.accuracy_percent) == (0.6984, 70.42)


def test_paper_format_adds_our_row():
    table = tables.paper_format("I", {5: (0.5, 60.0)}, ours_label="ours")
    assert list(table.index) == [*tables.METHODS, "ours"]
    assert table.loc["ours", "Exp.5 V->N"] == "0.5000 / 60.00"
    assert table.loc["ours", "Exp.1 H->V"] == "n/a"


def test_first_best_takes_the_first_row():
    df = pd.DataFrame({"kappa": [1, 2, 3], "xi": [1.0, 1.0, 1.0], "accuracy": [0.5, 0.7, 0.7],
                       "macro_f1": [0.6, 0.6, 0.5]})
    assert tables.first_best(df).kappa == 1
    assert tables.first_best(df, "accuracy").kappa == 2
    assert tables.reachable(df, 0.60004, 70.004)
    assert not tables.reachable(df, 0.61, 70.0)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert reproduce.declared_parameters(path), "a cell tagged 'parameters' is required"
    assert "/work/" not in path.read_text() and "/tmp/" not in path.read_text()
    # no volatile metadata: execution timestamps (nbclient, papermill) change on every run
    assert "papermill" not in nb.metadata
    for cell in nb.cells:
        assert not {"execution", "papermill"} & set(cell.metadata), cell.get("id")


@requires_data
@pytest.mark.parametrize("grouping", ["authors", "blocks"])
def test_explorer_render_matches_the_cached_grid(grouping):
    """The explorer's fit (TGSR with ``groups=grouping``) gives the committed grid's values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tgsr_lib.experiments.cache import grid_cache_path
    from tgsr_lib.report import explorer

    cache_dir = NOTEBOOKS / "cache" / "grids"
    path = grid_cache_path("SMIC_VIS", "SMIC_NIR", grouping=grouping, cache_dir=cache_dir)
    if not path.is_file():
        pytest.skip("no committed grid for Exp.5 with this grouping")
    fig, summary = explorer.render(5, 12, 44.0, grouping, str(cache_dir))
    plt.close(fig)
    assert summary["grid"] == "computed" and len(summary["kept_groups"]) <= 12
    assert summary["accuracy"] == pytest.approx(summary["grid_accuracy"], abs=1e-9)
    assert summary["macro_f1"] == pytest.approx(summary["grid_macro_f1"], abs=1e-9)
    if grouping == "authors":  # the paper's entry for Exp.5
        paper_entry = (round(summary["macro_f1"], 4), round(100 * summary["accuracy"], 2))
        assert paper_entry == (0.6984, 70.42)


@requires_data
def test_best_point_scores_of_exp5():
    """The recorded best point of Exp.5 (50 of 71 correct): the exact interval from scipy's
    beta quantiles, UAR and per-class F1 from scikit-learn on the refit's predictions; a
    comparison row that the refit does not reproduce is refused."""
    from scipy.stats import beta
    from sklearn.metrics import balanced_accuracy_score, f1_score

    from tgsr_lib.compare import paired

    comp = pd.DataFrame([{"experiment": 5, "computed_kappa": 12, "computed_xi": 44.0,
                          "computed_f1": 0.6984060984060984, "computed_acc": 100 * 50 / 71}])
    scores = tables.best_point_scores(comp)
    r = scores.iloc[0]
    assert (r.correct, r.n, r.task) == (50, 71, "V->N")
    assert r.accuracy_low == pytest.approx(beta.ppf(0.025, 50, 22), abs=1e-12)
    assert r.accuracy_high == pytest.approx(beta.ppf(0.975, 51, 21), abs=1e-12)
    y_true, y_pred = paired.tgsr_predictions(5, 12, 44.0)
    assert r.uar == pytest.approx(balanced_accuracy_score(y_true, y_pred), abs=1e-15)
    per_class = f1_score(y_true, y_pred, labels=[1, 2, 3], average=None)
    assert r[["f1_negative", "f1_positive", "f1_surprise"]].tolist() == pytest.approx(per_class)
    shown = tables.format_scores(scores).loc["Exp.5 V->N"]
    assert shown["k/N"] == "50/71" and shown["accuracy 95% CI"] == "[0.5841, 0.8067]"
    comp.loc[0, "computed_acc"] = 100 * 49 / 71
    with pytest.raises(RuntimeError, match="does not give the grid's accuracy"):
        tables.best_point_scores(comp)
