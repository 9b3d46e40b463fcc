"""`tgsr grid` as a new user meets it: one-line errors, progress in logs, resumable failures.

Most tests use tiny synthetic feature files (no authors' files needed).
"""

import errno

import h5py
import numpy as np
import pandas as pd
import pytest

from tgsr_lib.checks import MAX_GRID_POINTS
from tgsr_lib.cli import main
from tgsr_lib.experiments import checkpoint, runner

from .conftest import requires_data


def _save(path, labels=(1, 2, 3), n=12, shift=0.0, X=None):
    rng = np.random.default_rng(n)
    y = np.array([labels[i % 3] for i in range(n)])
    np.savez(path, X=rng.random((n, 15045)) + shift if X is None else X, y=y)
    return str(path)


@pytest.fixture
def files(tmp_path):
    return _save(tmp_path / "src.npz"), _save(tmp_path / "tgt.npz", n=6, shift=0.05)


def _grid(src, tgt, out, *extra):
    return main(["grid", "--source", src, "--target", tgt, "--kappa", "1,2", "--xi", "0.1,1",
                 "--out", str(out), "--engine", "reference", *extra])


def _one_line_error(capsys, code, expected=2) -> str:
    err = capsys.readouterr().err
    assert code == expected, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("tgsr: error:") and "Traceback" not in err, err
    return lines[-1]


def test_own_files_with_string_labels_work(tmp_path, capsys):
    src = _save(tmp_path / "s.npz", ("neg", "pos", "sur"))
    tgt = _save(tmp_path / "t.npz", ("neg", "pos", "sur"), n=6, shift=0.05)
    out = tmp_path / "g.csv"
    assert _grid(src, tgt, out, "--no-progress") == 0
    assert len(pd.read_csv(out)) == 4
    assert capsys.readouterr().err == ""  # --no-progress: nothing on stderr


def test_numeric_string_labels_are_labels_too(tmp_path):
    src = _save(tmp_path / "s.npz", ("1", "2", "3"))
    tgt = _save(tmp_path / "t.npz", ("1", "2", "3"), n=6, shift=0.05)
    assert _grid(src, tgt, tmp_path / "g.csv", "--no-progress") == 0


def test_string_labels_against_numbers_are_one_line(tmp_path, files, capsys):
    tgt = _save(tmp_path / "t.npz", ("1", "2", "3"), n=6, shift=0.05)
    line = _one_line_error(capsys, _grid(files[0], tgt, tmp_path / "g.csv"))
    assert line == ("tgsr: error: source labels are numbers (e.g. 1) but target labels are "
                    "strings (e.g. '1'): label both databases the same way (convert one with "
                    "y.astype(int) or y.astype(str))")


def test_string_features_name_the_file(tmp_path, files, capsys):
    bad = _save(tmp_path / "bad.npz", X=np.full((12, 15045), "x"))
    line = _one_line_error(capsys, _grid(bad, files[1], tmp_path / "g.csv"))
    assert line.startswith(f"tgsr: error: {bad}: the features are not numbers")


@pytest.mark.parametrize("name, content, message", [
    ("empty.npz", b"", "the file is empty (0 bytes): write the features again"),
    ("corrupt.npz", b"PK\x03\x04 truncated", "not a readable .npz feature file (BadZipFile"),
    ("text.npz", b"not numpy at all", "not a readable .npz feature file"),
    ("corrupt.mat", b"MATLAB 5.0 MAT-file" + bytes(200), "not a readable .mat feature file"),
    ("corrupt.h5", b"\x89HDF\r\n\x1a\n" + bytes(100), "not a readable .h5 feature file"),
    ("empty.mat", b"", "the file is empty (0 bytes)"),
])
def test_unreadable_files_are_one_line(tmp_path, files, capsys, name, content, message):
    bad = tmp_path / name
    bad.write_bytes(content)
    line = _one_line_error(capsys, _grid(files[0], str(bad), tmp_path / "g.csv"))
    assert line.startswith(f"tgsr: error: {bad}: ") and message in line


def test_missing_file(tmp_path, files, capsys):
    line = _one_line_error(capsys, _grid(str(tmp_path / "nope.npz"), files[1],
                                         tmp_path / "g.csv"))
    assert line.startswith(f"tgsr: error: feature file {tmp_path / 'nope.npz'} does not exist: "
                           "give an existing .mat, .npz or .h5 file, or a database name")


def test_h5_string_labels(tmp_path, files):
    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["X"] = rng.random((6, 15045))
        f["y"] = np.array([b"neg", b"pos", b"sur"] * 2)
    src = _save(tmp_path / "s.npz", ("neg", "pos", "sur"))
    assert _grid(src, str(tmp_path / "t.h5"), tmp_path / "g.csv", "--no-progress") == 0


def test_huge_kappa_range_is_out_of_range(files, tmp_path, capsys):
    code = main(["grid", "--source", files[0], "--target", files[1], "--kappa", "1:100000000000",
                 "--xi", "1", "--out", str(tmp_path / "g.csv")])
    assert _one_line_error(capsys, code) == (
        "tgsr: error: kappa=100000000000 is out of range: it counts kept groups, an integer in "
        "1..85")


def test_huge_grid_needs_yes(files, tmp_path, capsys, monkeypatch):
    xis = ",".join(str(x) for x in np.round(np.linspace(0.001, 1000, MAX_GRID_POINTS // 85 + 1),
                                             6))
    argv = ["grid", "--source", files[0], "--target", files[1], "--kappa", "paper", "--xi", xis,
            "--out", str(tmp_path / "g.csv")]
    line = _one_line_error(capsys, main(argv))
    assert line.startswith(f"tgsr: error: the grid has {85 * (MAX_GRID_POINTS // 85 + 1):,} "
                           "points, more than")
    assert "confirm with --yes" in line and "; estimated time " in line

    ran = []
    monkeypatch.setattr(runner, "run_grid", lambda job, **kw: ran.append(job.n_points) or
                        pd.DataFrame({"kappa": [1], "xi": [1.0], "accuracy": [0.5],
                                      "macro_f1": [0.5], "n_iter": [1], "uar": [0.5]}))
    assert main([*argv, "--yes"]) == 0
    assert ran == [85 * (MAX_GRID_POINTS // 85 + 1)]


@pytest.mark.parametrize("out", ["newdir/", "existing"])
def test_out_must_name_a_file(files, tmp_path, capsys, out):
    (tmp_path / "existing").mkdir()
    target = str(tmp_path / out) + ("/" if out.endswith("/") else "")
    line = _one_line_error(capsys, _grid(*files, target))
    assert line == (f"tgsr: error: cannot write {target}: it is a folder, give a file name like "
                    f"{tmp_path / out.rstrip('/') / 'grid.csv'}")
    assert not (tmp_path / "newdir").exists()


def test_full_disk_is_one_line_and_resumable(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "g.csv"

    def full(df, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "write_csv_atomic", full)
    line = _one_line_error(capsys, _grid(*files, out, "--no-progress"))
    part = checkpoint.checkpoint_path(out)
    assert line == (f"tgsr: error: cannot write {out}: No space left on device (free some space, "
                    f"then rerun the same command); 4 of 4 finished points are checkpointed in "
                    f"{part}: rerun the same command to resume")
    monkeypatch.undo()
    assert _grid(*files, out) == 0
    assert "resuming from 4 of 4 points" in capsys.readouterr().err
    assert len(pd.read_csv(out)) == 4 and not part.exists()


def test_other_os_errors_are_one_line(files, tmp_path, capsys, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/g.csv")

    monkeypatch.setattr(runner, "run_grid", denied)
    line = _one_line_error(capsys, _grid(*files, tmp_path / "g.csv"))
    assert line == "tgsr: error: /somewhere/g.csv: Permission denied"


def test_unreachable_scheduler(files, tmp_path, capsys):
    code = _grid(*files, tmp_path / "g.csv", "--scheduler", "tcp://127.0.0.1:1",
                 "--scheduler-timeout", "0.5")
    line = _one_line_error(capsys, code)
    assert line.startswith("tgsr: error: cannot reach the Dask scheduler at tcp://127.0.0.1:1 "
                           "within 0.5 s")
    assert line.endswith("start it (dask scheduler) or fix the address")


def test_unexpected_errors_are_one_line_unless_debugging(files, tmp_path, capsys, monkeypatch):
    def boom(*a, **k):
        raise TypeError("boom")

    monkeypatch.setattr(runner, "run_grid", boom)
    monkeypatch.delenv("TGSR_DEBUG", raising=False)
    line = _one_line_error(capsys, _grid(*files, tmp_path / "g.csv"), expected=1)
    assert line == ("tgsr: error: unexpected TypeError: boom; rerun with TGSR_DEBUG=1 for the "
                    "traceback")
    monkeypatch.setenv("TGSR_DEBUG", "1")
    assert _grid(*files, tmp_path / "g.csv") == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1] == "tgsr: error: unexpected TypeError: boom"


def test_interrupt_says_where_the_points_are(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "g.csv"
    real = runner.score_predictions
    calls = []

    def score(yt, pred):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(yt, pred)

    monkeypatch.setattr(runner, "score_predictions", score)
    assert _grid(*files, out, "--no-progress") == 130
    assert capsys.readouterr().err.strip() == (
        f"tgsr: interrupted; 1 of 4 finished points are checkpointed in "
        f"{checkpoint.checkpoint_path(out)}: rerun the same command to resume")


def test_progress_lines_in_a_log(files, tmp_path, capsys):
    assert _grid(*files, tmp_path / "g.csv", "--progress-every", "0") == 0
    err = capsys.readouterr().err.splitlines()
    name = f"grid {files[0]} -> {files[1]} (authors)"
    assert err[0].startswith(f"{name}: 4 points, estimated time ")
    assert f"{name}: 1/4 points (25.0%)" in err[1] and "ETA" in err[1]
    assert err[-1].startswith(f"{name}: 4/4 points, 4 computed in ")


def test_warnings_are_one_line(files, tmp_path, capsys, monkeypatch):
    import warnings

    real = runner.run_grid

    def warn(job, **kw):
        warnings.warn("3 grid points stopped at the iteration limit\nwithout converging",
                      RuntimeWarning, stacklevel=2)
        return real(job, **kw)

    monkeypatch.setattr(runner, "run_grid", warn)
    assert _grid(*files, tmp_path / "g.csv", "--no-progress") == 0
    assert capsys.readouterr().err == ("tgsr: warning: 3 grid points stopped at the iteration "
                                       "limit without converging\n")


@requires_data
def test_experiments_resume_per_experiment(tmp_path, capsys, monkeypatch):
    """With --experiment each finished experiment is kept until the combined CSV is written."""
    out = tmp_path / "g.csv"
    argv = ["grid", "--experiment", "5,6", "--kappa", "3", "--xi", "1,10", "--out", str(out)]
    real = runner.run_grid
    calls = []

    def second_fails(job, **kw):
        calls.append(job.desc)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job, **kw)

    monkeypatch.setattr(runner, "run_grid", second_fails)
    assert main(argv) == 130
    parts = sorted(tmp_path.glob("g.csv.exp5.*.part.csv"))
    assert len(parts) == 1 and not out.exists()
    monkeypatch.undo()
    capsys.readouterr()
    assert main(argv) == 0
    assert f"Exp.5 grid SMIC_VIS -> SMIC_NIR (authors): reusing the finished grid {parts[0]}" \
        in capsys.readouterr().err
    df = pd.read_csv(out)
    assert df.experiment.tolist() == [5, 5, 6, 6]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.csv"]


@requires_data
def test_part_file_without_uar_is_computed_again(tmp_path, capsys):
    """A finished part file of an older version (no uar / f1_<class> columns) is not reused:
    the combined CSV has the new columns for every experiment."""
    out = tmp_path / "g.csv"
    argv = ["grid", "--experiment", "5,6", "--kappa", "3", "--xi", "1,10", "--out", str(out)]
    assert main(argv) == 0
    whole = pd.read_csv(out)
    job = runner.prepare_grid("SMIC_VIS", "SMIC_NIR", [3], [1.0, 10.0])
    part = out.with_name(f"g.csv.exp5.{job.key[:12]}.part.csv")
    whole[whole.experiment == 5][runner.COLUMNS].to_csv(part, index=False)
    capsys.readouterr()
    assert main(argv) == 0
    assert "reusing" not in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(out), whole)
