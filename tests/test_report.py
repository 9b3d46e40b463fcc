from pathlib import Path

import nbformat
import pandas as pd
import pytest

from tgsr_lib import report, reproduce

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_paper_table():
    t = report.paper_table()
    assert len(t) == 120 and set(t.method) == set(report.METHODS)
    tgsr = t[(t.method == "TGSR") & (t.experiment == 5)].iloc[0]
    assert (tgsr.macro_f1, tgsr.accuracy_percent) == (0.6984, 70.42)


def test_paper_format_adds_our_row():
    table = report.paper_format("I", {5: (0.5, 60.0)}, ours_label="ours")
    assert list(table.index) == [*report.METHODS, "ours"]
    assert table.loc["ours", "Exp.5 V->N"] == "0.5000 / 60.00"
    assert table.loc["ours", "Exp.1 H->V"] == "n/a"


def test_first_best_takes_the_first_row():
    df = pd.DataFrame({"kappa": [1, 2, 3], "xi": [1.0, 1.0, 1.0], "accuracy": [0.5, 0.7, 0.7],
                       "macro_f1": [0.6, 0.6, 0.5]})
    assert report.first_best(df).kappa == 1
    assert report.first_best(df, "accuracy").kappa == 2
    assert report.reachable(df, 0.60004, 70.004)
    assert not report.reachable(df, 0.61, 70.0)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert reproduce.declared_parameters(path), "a cell tagged 'parameters' is required"
    assert "/work/" not in path.read_text() and "/tmp/" not in path.read_text()
