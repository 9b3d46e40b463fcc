"""The fast grid engine against the reference solver, the records, and its run modes."""

import numpy as np
import pandas as pd
import pytest

from tgsr_lib import datasets, grid
from tgsr_lib.grid import compute_grid, paper_xis

from .conftest import requires_data

pytestmark = requires_data

def _reference(source, target, kappas, xis, grouping="authors"):
    return compute_grid(source, target, kappas, xis, grouping=grouping, engine="reference",
                        progress=False)


@pytest.mark.parametrize("source, target, grouping", [
    ("SMIC_VIS", "SMIC_NIR", "authors"),
    ("CASME2", "SMIC_VIS", "blocks"),
])
def test_engine_equals_reference_solver(source, target, grouping):
    """A strided sub-grid (5 kappas x 6 xi over the whole range) of two experiments."""
    kappas = [1, 4, 13, 40, 85]
    xis = paper_xis()[::50]
    fast = compute_grid(source, target, kappas, xis, grouping=grouping, progress=False)
    ref = _reference(source, target, kappas, xis, grouping)
    pd.testing.assert_frame_equal(fast[["kappa", "xi", "accuracy", "macro_f1"]],
                                  ref[["kappa", "xi", "accuracy", "macro_f1"]], atol=1e-12)
    assert (fast.n_iter - ref.n_iter).abs().max() <= 1


@pytest.mark.parametrize("source, target", [("SMIC_VIS", "SMIC_NIR"), ("SMIC_NIR", "SMIC_VIS")])
def test_engine_equals_records_on_strided_grid(source, target):
    kappas = np.arange(1, 86, 6)
    xis = paper_xis()[::5]
    fast = compute_grid(source, target, kappas, xis, progress=False)
    rec = datasets.load_record(source, target)
    rec = rec.iloc[((kappas[:, None] - 1) * 276 + np.arange(0, 276, 5)[None, :]).ravel()]
    assert np.array_equal(fast.xi.values, rec.xi.values)
    np.testing.assert_allclose(fast.accuracy.values, rec.accuracy.values, atol=1e-6)
    np.testing.assert_allclose(fast.macro_f1.values, rec.macro_f1.values, atol=1e-6)


def test_resume_after_interruption(tmp_path, monkeypatch):
    kappas = [2, 9, 20, 85]
    xis = paper_xis()[::40]
    whole = tmp_path / "whole.csv"
    compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, out=whole, progress=False)

    out = tmp_path / "part.csv"
    real = grid.score_predictions
    calls = {"n": 0}

    def interrupt_after_a_few(yt, pred):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(yt, pred)

    monkeypatch.setattr(grid, "score_predictions", interrupt_after_a_few)
    with pytest.raises(KeyboardInterrupt):
        compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, out=out, progress=False,
                     checkpoint_every=0.0)
    assert not out.exists()  # nothing that looks complete
    partial = out.with_name(out.name + ".partial.npz")
    saved = int(np.load(partial)["done"].sum())
    assert 0 < saved < len(kappas) * len(xis)

    monkeypatch.setattr(grid, "score_predictions", real)
    solved = []
    real_solve = grid.solve_points

    def counting(Xs, ys, Xt, kk, xx, *a, **k):
        solved.append(len(kk))
        return real_solve(Xs, ys, Xt, kk, xx, *a, **k)

    monkeypatch.setattr(grid, "solve_points", counting)
    compute_grid("SMIC_VIS", "SMIC_NIR", kappas, xis, out=out, progress=False)
    assert solved == [len(kappas) * len(xis) - saved]  # nothing saved is recomputed
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists()


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
    with pytest.raises(ValueError, match="empty kappa or xi list"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [], [1.0])
    with pytest.raises(ValueError, match="unknown engine"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [1], [1.0], engine="tpu")
    with pytest.raises(ValueError, match="does not exist"):
        compute_grid("SMIC_VIS", "SMIC_NIR", [1], [1.0], out=tmp_path / "no" / "x.csv")


def test_specs():
    assert grid.parse_kappa("3:5").tolist() == [3, 4, 5]
    assert grid.parse_kappa("1,12").tolist() == [1, 12]
    assert grid.parse_kappa("paper").size == 85
    assert grid.parse_xi("paper").size == 276
    assert grid.parse_xi("0.5,44").tolist() == [0.5, 44.0]
    for bad in ("5:3", "a", "0:2"):
        with pytest.raises(ValueError):
            grid.parse_kappa(bad)
    with pytest.raises(ValueError, match="bad xi spec"):
        grid.parse_xi("x")


@pytest.mark.parametrize("source, target", [("SMIC_VIS", "SMIC_NIR"), ("SMIC_NIR", "SMIC_VIS")])
def test_committed_cache_equals_records_everywhere(source, target):
    """The notebooks' committed grids of Exp.5 and Exp.6 (23,460 points each, computed with the
    GPU engine) equal the authors' records at every point."""
    from pathlib import Path

    cache = Path(__file__).resolve().parents[1] / "notebooks" / "cache" / "grids"
    df = grid.read_grid(grid.grid_cache_path(source, target, cache_dir=cache))
    rec = datasets.load_record(source, target)
    assert np.array_equal(df.kappa.values, rec.kappa.values)
    assert np.array_equal(df.xi.values, rec.xi.values)
    assert np.abs(df.accuracy.values - rec.accuracy.values).max() < 1e-6
    assert np.abs(df.macro_f1.values - rec.macro_f1.values).max() < 1e-6


def test_array_engine_equals_cpu_engine():
    """The whole-array engine (CuPy on a GPU) run with NumPy gives the CPU engine's results."""
    from tgsr_lib import engine, gpu

    src, tgt = datasets.load_features("CASME2"), datasets.load_features("SMIC_NIR")
    problem = engine.GridProblem(src.X, src.y, tgt.X, "blocks")
    kk, xx = grid.grid_points([1, 9, 40, 85], paper_xis()[::55])
    a = engine.solve_many(problem, kk, xx)
    b = gpu.solve_many_array(problem, kk, xx, xp=np, n_slots=8)
    assert np.array_equal(a[0], b[0])
    assert np.abs(a[1] - b[1]).max() <= 1


def test_evaluation_set_and_per_fit_labels():
    """``X_eval`` only changes what is predicted; per-fit ``labels`` equal to the source
    labels change nothing, and other labellings equal a problem built with them."""
    from tgsr_lib import engine

    src, tgt = datasets.load_features("SMIC_NIR"), datasets.load_features("SMIC_VIS")
    kk, xx = grid.grid_points([2, 30], paper_xis()[::90])
    base = engine.GridProblem(src.X, src.y, tgt.X)
    pred, n_iter, conv, scores = engine.solve_many(base, kk, xx, return_scores=True)
    assert np.array_equal(base.classes[scores.argmax(axis=1)], pred)

    Xe = np.vstack([src.X[:5], tgt.X])
    ev = engine.GridProblem(src.X, src.y, tgt.X, X_eval=Xe)
    pe, ne, _, se = engine.solve_many(ev, kk, xx, return_scores=True)
    assert np.array_equal(ne, n_iter) and np.array_equal(pe[:, 5:], pred)
    np.testing.assert_allclose(se[:, :, 5:], scores, rtol=0, atol=1e-12)

    same = engine.solve_many(base, kk, xx, labels=np.tile(src.y, (kk.size, 1)))
    assert np.array_equal(same[0], pred) and np.array_equal(same[1], n_iter)

    rng = np.random.default_rng(0)
    other = src.y.copy()
    other[rng.choice(other.size, 20, replace=False)] = rng.integers(1, 4, 20)
    labels = np.tile(src.y, (kk.size, 1))
    labels[1::2] = other
    mixed = engine.solve_many(base, kk, xx, labels=labels)
    alone = engine.solve_many(engine.GridProblem(src.X, other, tgt.X), kk[1::2], xx[1::2])
    assert np.array_equal(mixed[0][1::2], alone[0]) and np.array_equal(mixed[0][::2], pred[::2])

    with pytest.raises(ValueError, match="one source labelling per fit"):
        engine.solve_many(base, kk, xx, labels=src.y)
    with pytest.raises(ValueError, match="outside the problem's classes"):
        engine.solve_many(base, kk, xx, labels=np.full((kk.size, src.y.size), 7))
    with pytest.raises(ValueError, match="columns"):
        engine.GridProblem(src.X, src.y, tgt.X, X_eval=tgt.X[:, :100])
