"""A reader's papermill rerun of notebook 02 with other parameters: the findings follow the data.

``papermill 02_type1_experiments.ipynb out.ipynb -p grouping blocks`` must state the blocks
grids' best values (those of the notebook's own table) and nothing of the authors' grouping
(whose best rows are read here from the authors' records, independently of the notebook).
``live_check_points 0`` skips the notebook's live CPU recomputation to keep the test short; the
committed blocks grids are cached, so the run fits only the two best points again.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tgsr_lib.data import datasets, protocols
from tgsr_lib.report import tables

from .conftest import requires_data

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAIR = re.compile(r"(\d\.\d{4}) / (\d{1,3}\.\d{2})")


def _cell(nb, start: str):
    """The one code cell whose source starts with ``start``."""
    hits = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
    assert len(hits) == 1, start
    return hits[0]


def _output(cell, kind: str) -> str:
    texts = [o["data"][kind] for o in cell.outputs if kind in o.get("data", {})]
    assert texts, f"no {kind} output in the cell {cell.source[:40]!r}"
    return "\n".join(texts)


@pytest.fixture(scope="module")
def blocks_run(tmp_path_factory):
    pytest.importorskip("papermill")
    tmp = tmp_path_factory.mktemp("rerun")
    out = tmp / "out.ipynb"
    env = dict(os.environ, TGSR_FIGURES_DIR=str(tmp / "figures"))
    cmd = [sys.executable, "-m", "papermill", "--cwd", str(NOTEBOOKS),
           str(NOTEBOOKS / "02_type1_experiments.ipynb"), str(out), "--kernel", "python3",
           "-p", "grouping", "blocks", "-p", "live_check_points", "0"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(out, as_version=4), tmp / "figures"


@requires_data
def test_blocks_rerun_findings_follow_the_notebooks_own_table(blocks_run):
    nb, figures = blocks_run
    # the TGSR row of the notebook's Table I: the blocks grids' first max-F1 rows
    table = _output(_cell(nb, "ours = {}"), "text/plain").splitlines()
    ours = table[-1]
    assert ours.startswith("TGSR (this repo, blocks)")
    best = PAIR.findall(ours)
    assert len(best) == 2  # Exp.5 and Exp.6; the SMIC-HS experiments have no blocks grid
    findings = _output(_cell(nb, "display(Markdown(findings.type_table_findings("),
                       "text/markdown")
    precision = _output(_cell(nb, "display(Markdown(findings.precision_findings("),
                        "text/markdown")
    for f1, acc in best:
        assert f"{f1} / {acc}%" in findings
    assert findings.count("grouping `blocks`") == 2 and "Exp.1" not in findings
    # the interval table's k/N agrees with the best accuracies of Table I
    scores = _output(_cell(nb, "scores = tables.best_point_scores("), "text/plain")
    counts = re.findall(r"(\d+)/(\d+)", scores)
    assert [f"{100 * int(k) / int(n):.2f}" for k, n in counts] == [acc for _, acc in best]
    assert "**N = 71** (Exp.5 and Exp.6)" in precision
    # nothing of the authors' grouping: no best row of the authors' records
    text = findings + precision
    for n in (1, 2, 3, 4, 5, 6):
        exp = protocols.get_experiment(n)
        rec = tables.first_best(datasets.load_record(exp.source, exp.target))
        assert f"{rec.macro_f1:.4f}" not in text, n
        assert f"{100 * rec.accuracy:.2f}" not in text, n
    # the figure carries the parameter in its name, the committed one stays as it is
    assert sorted(p.name for p in figures.iterdir()) == [
        "typeI_f1_distribution__grouping-blocks.pdf",
        "typeI_f1_distribution__grouping-blocks.png"]
