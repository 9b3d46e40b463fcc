"""The grid runner: checkpoints, resume, Dask, validation, specs and the committed grids."""

import numpy as np
import pandas as pd
import pytest

from tgsr_lib.data import datasets
from tgsr_lib.experiments import axes, cache, io, runner
from tgsr_lib.experiments.axes import paper_xis
from tgsr_lib.experiments.runner import compute_grid

from .conftest import requires_data

pytestmark = requires_data


def test_resume_after_interruption(tmp_path, monkeypatch):
    kappas = [2, 9, 20, 85]
    xis = paper_xis()[::40]
    whole = tmp_path / "whole.csv"
    compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, out=whole, progress=False)

    out = tmp_path / "part.csv"
    real = runner.score_predictions
    calls = {"n": 0}

    def interrupt_after_a_few(yt, pred):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(yt, pred)

    monkeypatch.setattr(runner, "score_predictions", interrupt_after_a_few)
    monkeypatch.setattr(runner, "SCORE_BATCH", 1)  # score the fits as they finish
    with pytest.raises(KeyboardInterrupt):
        compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, out=out, progress=False,
                     checkpoint_every=0.0)
    assert not out.exists()  # nothing that looks complete
    partial = out.with_name(out.name + ".partial.npz")
    saved = int(np.load(partial)["done"].sum())
    assert 0 < saved < len(kappas) * len(xis)

    monkeypatch.setattr(runner, "score_predictions", real)
    solved = []
    real_solve = runner.solve_points

    def counting(Xs, ys, Xt, kk, xx, *a, **k):
        solved.append(len(kk))
        return real_solve(Xs, ys, Xt, kk, xx, *a, **k)

    monkeypatch.setattr(runner, "solve_points", counting)
    compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, out=out, progress=False)
    assert solved == [len(kappas) * len(xis) - saved]  # nothing saved is recomputed
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists()


def test_fits_scored_in_batches_equal_one_by_one_and_survive_an_error(tmp_path,
                                                                     monkeypatch):
    """Finished fits are scored and recorded in batches: the grid equals the one recorded fit
    by fit, and an engine error after some fits have finished keeps them in the checkpoint
    (they were held, not yet recorded)."""
    kappas, xis = [2, 9, 20, 85], paper_xis()[::40]
    monkeypatch.setattr(runner, "SCORE_BATCH", 1)
    one_by_one = compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, progress=False)
    monkeypatch.setattr(runner, "SCORE_BATCH", 10**9)
    monkeypatch.setattr(runner, "SCORE_EVERY", 1e9)
    pd.testing.assert_frame_equal(
        compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, progress=False), one_by_one)

    from tgsr_lib.model import engine

    real_step, calls = engine.NumbaBackend.step, {"n": 0}

    def failing_step(self, *args):
        calls["n"] += 1
        if calls["n"] > 60:
            raise RuntimeError("engine lost")
        return real_step(self, *args)

    monkeypatch.setattr(engine.NumbaBackend, "step", failing_step)
    out = tmp_path / "g.csv"
    with pytest.raises(RuntimeError, match="engine lost"):
        compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, out=out, progress=False,
                     checkpoint_every=1e9)
    saved = np.load(out.with_name(out.name + ".partial.npz"))
    assert 0 < saved["done"].sum() < len(kappas) * len(xis)
    done = saved["done"]
    assert np.array_equal(saved["f1"][done], one_by_one.macro_f1.values[done])
    assert np.array_equal(saved["n_iter"][done], one_by_one.n_iter.values[done])


def test_stale_checkpoint_is_ignored(tmp_path):
    out = tmp_path / "g.csv"
    compute_grid("SMIC_VIS", "SMIC_NIR", [3], [1.0], out=out, progress=False)
    np.savez(out.with_name("g.csv.partial.npz"), key=np.array("other"), done=np.ones(1, bool),
             acc=np.zeros(1), f1=np.zeros(1), n_iter=np.zeros(1, int), converged=np.ones(1, bool))
    df = compute_grid("SMIC_VIS", "SMIC_NIR", [3], [1.0], out=out, progress=False)
    assert df.accuracy.iloc[0] > 0


def test_dask_local_cluster_equals_local_run():
    from dask.distributed import Client, LocalCluster

    kappas = [1, 12, 60]
    xis = paper_xis()[::30]
    local = compute_grid("SMIC_NIR", "SMIC_VIS", kappas, xis, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dist = compute_grid("SMIC_NIR", "SMIC_VIS", kappas, xis, progress=False, client=client,
                            chunk_size=7)
    pd.testing.assert_frame_equal(local, dist)


def test_grid_validation(tmp_path):
    with pytest.raises(ValueError, match="kappa=86"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [86], [1.0])
    with pytest.raises(ValueError, match="xi=-2.0"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [1], [-2.0])
    with pytest.raises(ValueError, match="kappa=3.5"):  # never truncated to 3
        compute_grid("SMIC_VIS", "SMIC_NIR", [3.5], [1.0])
    with pytest.raises(ValueError, match="empty kappa list"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [], [1.0])
    with pytest.raises(ValueError, match="unknown engine"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [1], [1.0], engine="tpu")
    with pytest.raises(ValueError, match="does not exist"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [1], [1.0], out=tmp_path / "no" / "x.csv")


def test_specs():
    assert axes.parse_kappa("3:5").tolist() == [3, 4, 5]
    assert axes.parse_kappa("1,12").tolist() == [1, 12]
    assert axes.parse_kappa("paper").size == 85
    assert axes.parse_xi("paper").size == 276
    assert axes.parse_xi("0.5,44").tolist() == [0.5, 44.0]
    for bad in ("5:3", "a", "0:2"):
        with pytest.raises(ValueError):
            axes.parse_kappa(bad)
    with pytest.raises(ValueError, match="bad xi spec"):
        axes.parse_xi("x")


@pytest.mark.parametrize("source, target", [("SMIC_VIS", "SMIC_NIR"), ("SMIC_NIR", "SMIC_VIS")])
def test_committed_cache_equals_records_everywhere(source, target):
    """The notebooks' committed grids of Exp.5 and Exp.6 (23,460 points each, computed with the
    GPU engine) equal the authors' records at every point."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "notebooks" / "cache" / "grids"
    df = io.read_grid(cache.grid_cache_path(source, target, cache_dir=folder))
    rec = datasets.load_record(source, target)
    assert np.array_equal(df.kappa.values, rec.kappa.values)
    assert np.array_equal(df.xi.values, rec.xi.values)
    assert np.abs(df.accuracy.values - rec.accuracy.values).max() < 1e-6
    assert np.abs(df.macro_f1.values - rec.macro_f1.values).max() < 1e-6
