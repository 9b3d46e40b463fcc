import subprocess
import sys

import pandas as pd
import pytest

from tgsr_lib.cli import main

from .conftest import requires_data


@requires_data
def test_acceptance_command(tmp_path, capsys):
    out = tmp_path / "x.csv"
    code = main(["grid", "--source", "SMIC_VIS", "--target", "SMIC_NIR", "--kappa", "12",
                 "--xi", "44", "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out)
    # the existing columns first, then UAR and the per-class F1 (the authors' labels 1..3)
    assert list(df.columns) == ["kappa", "xi", "accuracy", "macro_f1", "n_iter", "uar", "f1_1",
                                "f1_2", "f1_3"]
    assert round(df.accuracy[0], 8) == 0.70422535
    assert round(df.macro_f1[0], 8) == 0.69840610
    assert "accuracy=0.70422535 macro_f1=0.69840610 uar=" in capsys.readouterr().out
    # UAR and per-class F1 of the same point, from its predictions, with scikit-learn
    from sklearn.metrics import balanced_accuracy_score, f1_score

    from tgsr_lib.compare import paired

    y_true, y_pred = paired.tgsr_predictions(5, 12, 44.0)
    assert df.uar[0] == pytest.approx(balanced_accuracy_score(y_true, y_pred), abs=1e-15)
    per_class = f1_score(y_true, y_pred, labels=[1, 2, 3], average=None, zero_division=0)
    assert df[["f1_1", "f1_2", "f1_3"]].to_numpy()[0] == pytest.approx(per_class, abs=1e-15)


@requires_data
def test_grid_over_experiments(tmp_path):
    out = tmp_path / "g.csv"
    assert main(["grid", "--experiment", "5,12", "--kappa", "3:4", "--xi", "1,10", "--out",
                 str(out), "--no-progress"]) == 0
    df = pd.read_csv(out)
    assert list(df.columns[:3]) == ["experiment", "source", "target"]
    assert list(df.columns[3:]) == ["kappa", "xi", "accuracy", "macro_f1", "n_iter", "uar",
                                    "f1_1", "f1_2", "f1_3"]
    assert df.experiment.tolist() == [5] * 4 + [12] * 4
    assert df.kappa.tolist() == [3, 3, 4, 4] * 2


@pytest.mark.parametrize("args, message", [
    (["--kappa", "0"], "kappa=0 is out of range"),
    (["--xi", "-1"], "xi=-1.0 is out of range"),
    (["--kappa", "x"], "bad kappa spec"),
    (["--source", "SMIC_HS"], "never published"),
    (["--source", "FOO"], "unknown database 'FOO'"),
    (["--out", "/nonexistent/dir/x.csv"], "does not exist"),
])
@requires_data
def test_errors_are_one_line(args, message, capsys, tmp_path):
    base = {"--source": "SMIC_VIS", "--target": "SMIC_NIR", "--kappa": "1", "--xi": "1",
            "--out": str(tmp_path / "x.csv")}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["grid"] + [x for kv in base.items() for x in kv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tgsr: error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_help_texts():
    for args in (["--help"], ["grid", "--help"]):
        res = subprocess.run([sys.executable, "-m", "tgsr_lib.cli", *args], capture_output=True,
                             text=True, check=True)
        assert "usage: tgsr" in res.stdout
    res = subprocess.run([sys.executable, "-m", "tgsr_lib.cli", "grid", "--help"],
                         capture_output=True, text=True, check=True)
    for word in ("--kappa", "'a:b'", "paper", "--grouping", "--engine", "--scheduler",
                 "TGSR_DATA_DIR", "resume", "--yes", "--scheduler-timeout", "--progress-every",
                 "TGSR_DEBUG", "a file name (a folder is refused)", "strings"):
        assert word in res.stdout


@requires_data
def test_select_prints_rule_pick_beside_oracle(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["grid", "--source", "SMIC_VIS", "--target", "SMIC_NIR", "--kappa", "4,12",
                 "--xi", "1,44", "--out", str(out), "--select", "source_cv"]) == 0
    text = capsys.readouterr().out
    assert "rule source_cv (no target labels): kappa=" in text
    assert "oracle (target labels):        kappa=12 xi=44" in text
    assert main(["grid", "--source", "SMIC_VIS", "--target", "SMIC_NIR", "--kappa", "4",
                 "--xi", "1", "--out", str(out), "--select", "guess"]) == 2
