"""The notebooks' parameter checks, the figure names of reruns and relative TGSR_DATA_DIR."""

import os
import re
from pathlib import Path

import pytest

from tgsr_lib import reproduce
from tgsr_lib.report import params, plotting


@pytest.mark.parametrize("call, message", [
    (lambda: params.check_grouping("grouping", "nonsense"),
     "parameter grouping='nonsense' is not allowed: use one of 'authors', 'blocks'"),
    (lambda: params.check_groupings("heatmap_groupings", "blocks"),
     "parameter heatmap_groupings='blocks'"),
    (lambda: params.check_groupings("heatmap_groupings", ["authors", "x"]),
     "'x' is not a grouping"),
    (lambda: params.check_experiments("kappa_experiments", [8, 13]),
     "parameter kappa_experiments=[8, 13] is not allowed: 13 is not an experiment number in "
     "1..12"),
    (lambda: params.check_experiments("tasks", [], allowed=(5, 6)),
     "give a non-empty list of experiment numbers in 5, 6"),
    (lambda: params.check_experiments("experiments", [1], allowed=(5, 6)),
     "1 is not an experiment number in 5, 6"),
    (lambda: params.check_experiment("experiment", True), "parameter experiment=True"),
    (lambda: params.check_kappa_value("fixed_kappa", 0, optional=True),
     "parameter fixed_kappa: kappa=0 is out of range: it counts kept groups, an integer in "
     "1..85 (or None)"),
    (lambda: params.check_kappa_value("kappa", 2.5), "parameter kappa: kappa=2.5"),
    (lambda: params.check_xi_value("fixed_xi", -1, optional=True),
     "parameter fixed_xi: xi=-1.0 is out of range"),
    (lambda: params.check_xi_value("xi", "big"), "parameter xi: xi='big' is not a number"),
    (lambda: params.check_xi_values("xis", []), "parameter xis=[]"),
    (lambda: params.check_int("max_clips", 0), "parameter max_clips=0 is not allowed: give an "
     "integer >= 1"),
    (lambda: params.check_int("n_informative", 5, 1, 3), "integer 1..3"),
    (lambda: params.check_number("shift", float("nan")), "give a finite number >= 0"),
    (lambda: params.check_bool("recompute", "yes"), "give True or False"),
    (lambda: params.check_path("data_dir", 3), "give a path (a string) or None"),
    (lambda: params.check_choice("database", "X", ("CASME2", "SMIC_HS")),
     "use one of 'CASME2', 'SMIC_HS'"),
])
def test_bad_parameters_name_the_parameter(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)


def test_good_parameters_pass():
    assert params.check_grouping("grouping", "blocks") == "blocks"
    assert params.check_experiments("e", [8, 5]) == [8, 5]
    assert params.check_kappa_value("fixed_kappa", None, optional=True) is None
    assert params.check_kappa_value("kappa", 12) == 12
    assert params.check_xi_value("fixed_xi", 1) == 1.0
    assert params.check_xi_values("xis", [0.0, 10]) == [0.0, 10.0]
    assert params.check_int("seed", 0, minimum=0) == 0
    assert params.check_path("data_dir", None) is None


def test_uncomputable_experiments_are_dropped_with_a_note(capsys, monkeypatch):
    monkeypatch.delenv("TGSR_SMIC_HS_FEATURES", raising=False)
    monkeypatch.setenv("TGSR_DATA_DIR", "/nonexistent/tgsr")
    assert params.drop_uncomputable("kappa_experiments", [8, 5], "authors") == [8, 5]
    assert capsys.readouterr().out == ""
    assert params.drop_uncomputable("kappa_experiments", [8, 5], "blocks") == [5]
    out = capsys.readouterr().out
    assert "kappa_experiments" in out and "Exp.8" in out and "SMIC_HS" in out


def test_changed_lists_non_default_parameters():
    defaults = {"grouping": "authors", "fixed_xi": None, "experiments": [5, 6]}
    assert params.changed(defaults, dict(defaults)) == {}
    assert params.changed(defaults, {**defaults, "grouping": "blocks", "other": 1}) == {
        "grouping": "blocks"}


def test_figure_names():
    assert plotting.figure_name("fig3") == "fig3"
    assert plotting.figure_name("fig3", {}) == "fig3"
    assert plotting.figure_name("fig3", {"grouping": "blocks"}) == "fig3__grouping-blocks"
    assert plotting.figure_name("fig3", {"experiments": [8, 5], "fixed_xi": 0.5}) == \
        "fig3__experiments-8-5__fixed_xi-0.5"
    long = plotting.figure_name("f", {"data_dir": "/a/" + "b" * 200})
    assert len(long) < 100 and long.startswith("f__data_dir-a-bbb")
    assert long != plotting.figure_name("f", {"data_dir": "/a/" + "b" * 201})


def test_savefig_keeps_committed_names_for_other_parameters(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    plotting.savefig(fig, "curve", tmp_path)
    plotting.savefig(fig, "curve", tmp_path, params={"grouping": "blocks"})
    plotting.savefig(fig, "curve", tmp_path, params={})
    plt.close(fig)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "curve.pdf", "curve.png", "curve__grouping-blocks.pdf", "curve__grouping-blocks.png"]


def test_reproduce_makes_a_relative_data_dir_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TGSR_DATA_DIR", "../shared/data")
    reproduce.absolute_data_dir()
    assert os.environ["TGSR_DATA_DIR"] == str(tmp_path.parent / "shared" / "data")
    assert Path(os.environ["TGSR_DATA_DIR"]).is_absolute()


def test_grid_xi():
    assert params.check_grid_xi("fixed_xi", None, optional=True) is None
    assert params.check_grid_xi("fixed_xi", 44) == 44.0
    with pytest.raises(ValueError, match=r"parameter fixed_xi=0.0005 is not allowed: give one of "
                       r"the grid's 271 xi values \(0.001 .. 1000; nearest"):
        params.check_grid_xi("fixed_xi", 0.0005, optional=True)


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _cells(path):
    import json

    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("name", ["00_quickstart", "01_features", "02_type1_experiments",
                                  "03_type2_experiments", "04_hyperparameters",
                                  "05_salient_regions", "06_data_preparation", "07_baselines",
                                  "08_model_selection", "09_explorer", "10_claims",
                                  "11_own_features"])
def test_notebooks_check_parameters_first_and_know_their_defaults(name):
    import ast

    cells = _cells(NOTEBOOKS / f"{name}.ipynb")
    i = next(k for k, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))
    source = "".join(cells[i]["source"])
    declared = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            for t in node.targets:  # `a = 1` or `a, b = 1, 2`
                names = t.elts if isinstance(t, ast.Tuple) else [t]
                values = node.value.elts if isinstance(t, ast.Tuple) else [node.value]
                declared.update({n.id: ast.literal_eval(v)
                                 for n, v in zip(names, values, strict=True)})
    check = "".join(cells[i + 1]["source"])
    assert "params.check" in check
    # every parameter is named in the checks' messages: "kappa", "live_check method",
    # "skada_check['n_splits']" or a (name, value) pair looped over
    named = {re.split(r"[\s\[]", node.value)[0] for node in ast.walk(ast.parse(check))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert set(declared) <= named, "every parameter is checked, by its name"
    tree = ast.parse(check)
    assigned = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(tree):  # the defaults that name figures match the cell
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "changed":
            given = node.args[0]  # dict(...) here, or a name assigned dict(...) in the cell
            given = assigned[given.id] if isinstance(given, ast.Name) else given
            defaults = {k.arg: ast.literal_eval(k.value) for k in given.keywords}
            assert defaults == {k: declared[k] for k in defaults}
