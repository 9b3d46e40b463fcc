"""The grid runner at its entrances and when things go wrong (no authors' files needed).

Engine options, labels, the grid's size, output paths, progress without a terminal,
checkpoints on any error and file permissions, on tiny synthetic grids.
"""

import errno
import os
import stat

import numpy as np
import pandas as pd
import pytest

from tgsr_lib.checks import MAX_GRID_POINTS
from tgsr_lib.experiments import checkpoint, io, runner
from tgsr_lib.experiments.runner import compute_grid

KAPPAS = [1, 2]
XIS = [0.1, 1.0]


def _data(labels=(1, 2, 3)):
    """A tiny source (12 samples) and target (6 samples) with the authors' 15,045 columns."""
    rng = np.random.default_rng(0)
    ys = np.array([labels[i % 3] for i in range(12)])
    yt = np.array([labels[i % 3] for i in range(6)])
    return (rng.random((12, 15045)), ys), (rng.random((6, 15045)) + 0.05, yt)


def _grid(**kw):
    src, tgt = _data()
    kw.setdefault("progress", False)
    return compute_grid(src, tgt, KAPPAS, XIS, engine=kw.pop("engine", "reference"), **kw)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("options, message", [
    ({"tool": 1e-3}, "unknown engine option 'tool' (did you mean 'tol'?): the options are "
                     "mu0, rho, mu_max, tol, max_iter, n_slots"),
    ({"foo": 1}, "unknown engine option 'foo': the options are mu0, rho, mu_max, tol"),
    ({"tol": -1}, "tol=-1.0 is out of range: give a finite value > 0"),
    ({"max_iter": 0}, "max_iter=0 is out of range: give an integer >= 1"),
    ({"rho": 0.5}, "rho=0.5 is out of range"),
    ({"n_slots": 0}, "n_slots=0 is out of range: give an integer >= 1"),
])
def test_engine_options_are_checked(options, message):
    src, tgt = _data()
    with pytest.raises(ValueError) as err:
        compute_grid(src, tgt, KAPPAS, XIS, progress=False, **options)
    assert message in str(err.value)


def test_reference_engine_has_no_slots():
    with pytest.raises(ValueError, match="n_slots is an option of the grid engines"):
        _grid(n_slots=4)
    with pytest.raises(ValueError, match="unknown engine 'tpu': use one of fast, reference"):
        _grid(engine="tpu")


def test_string_labels_work_and_match_numbers():
    """String class names are labels like any other; the grid equals the numeric one."""
    (Xs, ys), (Xt, yt) = _data(("neg", "pos", "sur"))
    named = compute_grid((Xs, ys), (Xt, yt), KAPPAS, XIS, progress=False)
    (Xs, ys), (Xt, yt) = _data()
    numeric = compute_grid((Xs, ys), (Xt, yt), KAPPAS, XIS, progress=False)
    assert list(named.columns[-3:]) == ["f1_neg", "f1_pos", "f1_sur"]  # one per class name
    names = {"f1_neg": "f1_1", "f1_pos": "f1_2", "f1_sur": "f1_3"}
    pd.testing.assert_frame_equal(named.rename(columns=names), numeric)


@pytest.mark.parametrize("labels", [(1, 2, 3), ("neg", "pos", "sur")])
def test_uar_and_per_class_f1_columns_equal_sklearn(labels):
    """The grid's ``uar`` and ``f1_<class>`` columns (after the existing ones) are
    scikit-learn's balanced accuracy and per-class F1 of each point's predictions; a class
    that only the source has gets its column too (F1 0: never true, never predicted or
    predicted wrongly)."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    (Xs, ys), (Xt, yt) = _data(labels)
    ys = ys.copy()
    ys[-1] = "x" if isinstance(labels[0], str) else 4  # a class only in the source
    classes = np.union1d(ys, yt)
    df = compute_grid((Xs, ys), (Xt, yt), KAPPAS, XIS, engine="reference", progress=False)
    f1_columns = [runner.f1_column(c) for c in classes]
    assert list(df.columns) == [*runner.COLUMNS, "uar", *f1_columns]
    pred, _, _ = runner.solve_points(Xs, ys, Xt, df.kappa.to_numpy(), df.xi.to_numpy(),
                                     engine="reference")
    for p, row in zip(pred, df.itertuples(index=False), strict=True):
        assert row.uar == pytest.approx(balanced_accuracy_score(yt, p), abs=1e-15)
        ref = f1_score(yt, p, labels=classes, average=None, zero_division=0)
        got = df.loc[(df.kappa == row.kappa) & (df.xi == row.xi), f1_columns].to_numpy()[0]
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-15)


def test_checkpoint_without_the_new_columns_is_computed_again(tmp_path):
    """A checkpoint written before the uar / per-class F1 columns is not resumed from (its
    points would lack them): the run computes every point and equals a fresh run."""
    out = tmp_path / "g.csv"
    job = runner.prepare_grid(*_data(), KAPPAS, XIS, engine="reference")
    n = job.n_points
    np.savez(checkpoint.checkpoint_path(out), key=np.array(job.key), done=np.ones(n, bool),
             acc=np.zeros(n), f1=np.zeros(n), n_iter=np.zeros(n, int),
             converged=np.ones(n, bool))
    df = _grid(out=out)
    pd.testing.assert_frame_equal(df, _grid())
    assert df.accuracy.gt(0).any() and not checkpoint.checkpoint_path(out).exists()


def test_mixed_label_kinds_are_refused():
    (Xs, ys), (Xt, yt) = _data()
    with pytest.raises(ValueError) as err:
        compute_grid((Xs, ys), (Xt, yt.astype(str)), KAPPAS, XIS, progress=False)
    assert str(err.value).startswith("source labels are numbers (e.g. 1) but target labels are "
                                     "strings (e.g. '1'): label both databases the same way")


def test_non_numeric_features_are_named():
    (Xs, ys), tgt = _data()
    with pytest.raises(ValueError, match="source features are not numbers"):
        compute_grid((Xs.astype(str), ys), tgt, KAPPAS, XIS, progress=False)


def test_huge_grid_is_refused_with_its_size_and_duration():
    src, tgt = _data()
    xis = np.linspace(0.001, 1000, MAX_GRID_POINTS // 85 + 1)
    with pytest.raises(ValueError) as err:
        compute_grid(src, tgt, None, xis, progress=False)
    text = str(err.value)
    assert f"the grid has {85 * xis.size:,} points, more than {MAX_GRID_POINTS:,}" in text
    assert "--yes (confirm_large=True)" in text and "; estimated time " in text


@pytest.mark.parametrize("name", ["newdir/", "folder"])
def test_out_must_be_a_file(tmp_path, name):
    (tmp_path / "folder").mkdir()
    out = str(tmp_path / name) + ("/" if name.endswith("/") else "")
    with pytest.raises(ValueError, match="it is a folder, give a file name like"):
        _grid(out=out)
    assert not (tmp_path / "newdir").exists()


def test_progress_lines_without_a_terminal(capsys):
    _grid(progress=None, progress_every=0)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("grid features -> features (authors): 4 points, estimated time ")
    assert "fits/s (reference engine)" in err[0]
    assert any("1/4 points (25.0%)" in line and "fits/s, ETA" in line for line in err)
    assert err[-1].startswith("grid features -> features (authors): 4/4 points, 4 computed in")


def test_progress_false_is_silent(capsys):
    _grid(progress=False, progress_every=0)
    assert capsys.readouterr().err == ""


def _interrupting(monkeypatch, after, exc):
    """``score_predictions`` raises ``exc`` at its call ``after + 1``; the fits are scored as
    they finish, each batch at once (``SCORE_BATCH = 1``)."""
    monkeypatch.setattr(runner, "SCORE_BATCH", 1)
    real = runner.score_predictions
    calls = {"n": 0}

    def score(yt, pred):
        calls["n"] += 1
        if calls["n"] > after:
            raise exc
        return real(yt, pred)

    monkeypatch.setattr(runner, "score_predictions", score)
    return real


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("worker lost")])
def test_any_error_checkpoints_and_resume_says_so(tmp_path, monkeypatch, capsys, exc):
    out = tmp_path / "g.csv"
    real = _interrupting(monkeypatch, 2, exc)
    with pytest.raises(type(exc)) as err:
        _grid(out=out, checkpoint_every=1e9)  # only the save on error writes the checkpoint
    part = checkpoint.checkpoint_path(out)
    assert err.value.__notes__ == [f"2 of 4 finished points are checkpointed in {part}: rerun "
                                   "the same command to resume"]
    assert not out.exists() and int(np.load(part)["done"].sum()) == 2

    monkeypatch.setattr(runner, "score_predictions", real)
    capsys.readouterr()
    df = _grid(out=out, progress=None)
    assert f"resuming from 2 of 4 points ({part}); 2 left" in capsys.readouterr().err
    pd.testing.assert_frame_equal(df, _grid())
    assert not part.exists()


def test_full_disk_while_writing_keeps_every_point(tmp_path, monkeypatch):
    out = tmp_path / "g.csv"

    def full(df, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "write_csv_atomic", full)
    with pytest.raises(OSError) as err:
        _grid(out=out)
    assert err.value.errno == errno.ENOSPC
    assert err.value.strerror == f"cannot write {out}: No space left on device"
    assert "4 of 4 finished points are checkpointed" in err.value.__notes__[0]

    monkeypatch.undo()
    solved = []
    real = runner.solve_points
    monkeypatch.setattr(runner, "solve_points", lambda *a, **k: solved.append(1) or real(*a, **k))
    df = _grid(out=out)
    assert solved == []  # every point came from the checkpoint
    pd.testing.assert_frame_equal(io.read_grid(out), df)


def test_checkpoint_that_cannot_be_saved_says_why(tmp_path, monkeypatch):
    out = tmp_path / "g.csv"
    _interrupting(monkeypatch, 1, KeyboardInterrupt())

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(checkpoint, "atomic_write", full)
    with pytest.raises(KeyboardInterrupt) as err:
        _grid(out=out, checkpoint_every=1e9)
    assert err.value.__notes__ == [
        f"the 1 finished points could not be checkpointed to {checkpoint.checkpoint_path(out)} "
        "(No space left on device)"]


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_honour_the_umask(tmp_path, monkeypatch, umask, mask, mode):
    umask(mask)
    out = tmp_path / "g.csv"
    _interrupting(monkeypatch, 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        _grid(out=out)
    assert stat.S_IMODE(checkpoint.checkpoint_path(out).stat().st_mode) == mode
    monkeypatch.undo()
    _grid(out=out)
    assert stat.S_IMODE(out.stat().st_mode) == mode
    gz = tmp_path / "g.csv.gz"
    io.write_csv_atomic(pd.DataFrame({"a": [1]}), gz)
    assert stat.S_IMODE(gz.stat().st_mode) == mode


def test_overwrite_keeps_the_mode(tmp_path, umask):
    out = tmp_path / "g.csv"
    out.write_text("old")
    out.chmod(0o640)
    io.write_csv_atomic(pd.DataFrame({"a": [1]}), out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"]  # no temporary file left


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "g.csv"

    def fail(tmp):
        with open(tmp, "w") as fh:
            fh.write("partial")
        raise OSError(errno.ENOSPC, "No space left on device", tmp)

    with pytest.raises(OSError):
        io.atomic_write(out, fail)
    assert list(tmp_path.iterdir()) == []


def test_best_row_checks_its_input():
    with pytest.raises(ValueError, match="non-empty grid DataFrame with a 'macro_f1' column"):
        runner.best_row(pd.DataFrame({"kappa": [1]}))


def test_write_errors_name_the_target_not_the_temporary_file(tmp_path):
    out = tmp_path / "g.csv"

    def fail(tmp):
        raise OSError(errno.ENOSPC, "No space left on device", tmp)

    with pytest.raises(OSError) as err:
        io.atomic_write(out, fail)
    assert err.value.filename == str(out) and err.value.errno == errno.ENOSPC


def test_equal_grids_give_equal_gzip_files(tmp_path):
    df = pd.DataFrame({"kappa": [1, 2], "xi": [0.1, 1e-3]})
    io.write_csv_atomic(df, tmp_path / "a.csv.gz")
    io.write_csv_atomic(df, tmp_path / "b.csv.gz")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()
    pd.testing.assert_frame_equal(io.read_grid(tmp_path / "a.csv.gz"), df)


@pytest.mark.parametrize("call, message", [
    (lambda t, src, tgt, df: t.group_selection(src, tgt, 3.5, [1.0]), "kappa=3.5 is out of range"),
    (lambda t, src, tgt, df: t.group_selection(src, tgt, 3, [-1]), "xi=-1.0 is out of range"),
    (lambda t, src, tgt, df: t.group_selection(src, tgt, 3, [1], "faces"),
     "unknown grouping 'faces'"),
    (lambda t, src, tgt, df: t.live_check(5, df, 0), "n_points=0 is out of range"),
    (lambda t, src, tgt, df: t.live_check(5, df, 9), "n_points=9 is more than the grid's 4 rows"),
    (lambda t, src, tgt, df: t.live_check(5, "grid.csv"), "expected a grid DataFrame"),
    (lambda t, src, tgt, df: t.reachable(df[["kappa"]], 0.6, 70), "lacks the column(s)"),
    (lambda t, src, tgt, df: t.experiment_grid(5, prefer="mine"), "prefer='mine'"),
    (lambda t, src, tgt, df: t.paper_format("III"), "protocol='III'"),
])
def test_report_helpers_check_their_input(call, message):
    from tgsr_lib.report import tables

    src, tgt = _data()
    df = pd.DataFrame({"kappa": [1, 1, 2, 2], "xi": [0.1, 1.0] * 2, "accuracy": [0.5] * 4,
                       "macro_f1": [0.5] * 4})
    with pytest.raises(ValueError) as err:
        call(tables, src, tgt, df)
    assert message in str(err.value)


def test_group_selection_on_own_features():
    from tgsr_lib.report import tables

    src, tgt = _data()
    kept = tables.group_selection(src, tgt, 2, [0.1, 1.0])
    assert kept.shape == (2, 85) and (kept.sum(axis=1) <= 2).all()
