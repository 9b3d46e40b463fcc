"""The grid cache: keyed by every input that changes the values, and the committed grids."""

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tgsr_lib.data import protocols
from tgsr_lib.experiments import keys
from tgsr_lib.experiments.cache import cached_grid, grid_cache_path

from .conftest import requires_data

GRIDS = Path(__file__).resolve().parents[1] / "notebooks" / "cache" / "grids"
KAPPAS = [1, 2]
XIS = [0.001, 1.0]


def _data():
    rng = np.random.default_rng(1)
    return ((rng.random((12, 15045)), np.tile([1, 2, 3], 4)),
            (rng.random((6, 15045)) + 0.05, np.tile([1, 2, 3], 2)))


@requires_data
def test_solver_options_are_part_of_the_key(tmp_path):
    """The issue's case: a tol=1e-3 grid never answers for the default one."""
    args = ("SMIC_VIS", "SMIC_NIR", KAPPAS, XIS)
    loose = cached_grid(*args, cache_dir=tmp_path, progress=False, tol=1e-3)
    default = cached_grid(*args, cache_dir=tmp_path, progress=False)
    p_loose = grid_cache_path(*args, cache_dir=tmp_path, tol=1e-3)
    p_default = grid_cache_path(*args, cache_dir=tmp_path)
    assert p_loose != p_default and p_loose.is_file() and p_default.is_file()
    assert default.n_iter.tolist() == [187, 187, 196, 196]  # the authors' tolerance
    assert (loose.n_iter < default.n_iter).all()
    assert not np.array_equal(loose.macro_f1.values, default.macro_f1.values)
    # the default given explicitly, or n_slots (no effect on values): the same file
    assert grid_cache_path(*args, cache_dir=tmp_path, tol=1e-8, max_iter=1000) == p_default
    assert grid_cache_path(*args, cache_dir=tmp_path, n_slots=7) == p_default
    pd.testing.assert_frame_equal(cached_grid(*args, cache_dir=tmp_path, tol=1e-8), default)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p_loose.name, p_default.name])


def test_every_value_changing_input_changes_the_path(tmp_path):
    src, tgt = _data()
    base = grid_cache_path(src, tgt, KAPPAS, XIS, cache_dir=tmp_path)
    assert base.name.startswith("features_features_authors_")
    others = [
        grid_cache_path(src, tgt, KAPPAS, XIS, cache_dir=tmp_path, engine="reference"),
        grid_cache_path(src, tgt, KAPPAS, XIS, cache_dir=tmp_path, engine="gpu"),
        grid_cache_path(src, tgt, KAPPAS, XIS, "blocks", cache_dir=tmp_path),
        grid_cache_path(src, tgt, [1, 3], XIS, cache_dir=tmp_path),
        grid_cache_path(src, tgt, KAPPAS, [0.001, 2.0], cache_dir=tmp_path),
        grid_cache_path(src, (tgt[0], tgt[1][::-1]), KAPPAS, XIS, cache_dir=tmp_path),
        grid_cache_path((src[0] * 2, src[1]), tgt, KAPPAS, XIS, cache_dir=tmp_path),
    ]
    others += [grid_cache_path(src, tgt, KAPPAS, XIS, cache_dir=tmp_path, **{name: value})
               for name, value in (("mu0", 1e-2), ("rho", 1.2), ("mu_max", 1e10), ("tol", 1e-6),
                                   ("max_iter", 50))]
    assert len({base, *others}) == 1 + len(others)
    assert grid_cache_path(src, tgt, KAPPAS, XIS, cache_dir=tmp_path, rho=1.1, mu0=1e-3,
                           mu_max=1e15, n_slots=3) == base
    # labels of another integer width are the same labels
    assert grid_cache_path(src, (tgt[0], tgt[1].astype(np.int32)), KAPPAS, XIS,
                           cache_dir=tmp_path) == base


def test_version_is_part_of_the_key(monkeypatch):
    src, tgt = _data()
    key = keys.fingerprint(*src, *tgt, KAPPAS, XIS, "authors", "fast")
    monkeypatch.setattr(keys, "GRID_VERSION", "2")
    assert keys.fingerprint(*src, *tgt, KAPPAS, XIS, "authors", "fast") != key


@pytest.mark.parametrize("kwargs, message", [
    ({"kappas": [0]}, "kappa=0 is out of range: it counts kept groups, an integer in 1..85"),
    ({"xis": [-1]}, "xi=-1.0 is out of range"),
    ({"grouping": "faces"}, "unknown grouping 'faces'"),
    ({"tool": 1e-3}, "unknown engine option 'tool' (did you mean 'tol'?)"),
    ({"engine": "tpu"}, "unknown engine 'tpu'"),
])
def test_cache_entrances_check_their_input(tmp_path, kwargs, message):
    src, tgt = _data()
    args = {"kappas": KAPPAS, "xis": XIS, "cache_dir": tmp_path, **kwargs}
    for entrance in (grid_cache_path, cached_grid):
        with pytest.raises(ValueError) as err:
            entrance(src, tgt, **args)
        assert message in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_cached_grid_reads_what_it_wrote(tmp_path):
    old = os.umask(0o027)
    try:
        src, tgt = _data()
        first = cached_grid(src, tgt, KAPPAS, XIS, cache_dir=tmp_path / "new", progress=False)
    finally:
        os.umask(old)
    (path,) = (tmp_path / "new").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    pd.testing.assert_frame_equal(cached_grid(src, tgt, KAPPAS, XIS, cache_dir=tmp_path / "new"),
                                  first)


@requires_data
@pytest.mark.parametrize("grouping", ["authors", "blocks"])
def test_committed_grids_are_found_with_default_options(grouping):
    """Every committed grid (6 computable experiments x 2 groupings) is where cached_grid
    looks with the default options."""
    names = set()
    for n in protocols.COMPUTABLE:
        exp = protocols.get_experiment(n)
        path = grid_cache_path(exp.source, exp.target, grouping=grouping, cache_dir=GRIDS)
        assert path.is_file(), path
        names.add(path.name)
    assert names == {p.name for p in GRIDS.glob(f"*_{grouping}_*.csv.gz")}


def test_a_recompute_run_recomputes_each_grid_once(tmp_path, monkeypatch):
    """``reproduce --recompute`` sets TGSR_RECOMPUTED_SINCE: recompute=True then recomputes a
    grid whose file predates the run, and reads one that the run already recomputed."""
    import time

    from tgsr_lib.experiments import cache

    src, tgt = _data()
    args = (src, tgt, KAPPAS, XIS)
    first = cached_grid(*args, cache_dir=tmp_path, progress=False)
    path = grid_cache_path(*args, cache_dir=tmp_path)
    os.utime(path, (1e9, 1e9))  # a file from long before the run
    runs = []
    real = cache.run_grid
    monkeypatch.setattr(cache, "run_grid", lambda *a, **k: runs.append(1) or real(*a, **k))
    monkeypatch.setenv("TGSR_RECOMPUTED_SINCE", repr(time.time() - 1))
    again = cached_grid(*args, cache_dir=tmp_path, progress=False, recompute=True)
    assert len(runs) == 1 and cache.recomputed_this_run(path)
    pd.testing.assert_frame_equal(again, first)
    cached_grid(*args, cache_dir=tmp_path, progress=False, recompute=True)  # read, not rerun
    assert len(runs) == 1
    monkeypatch.delenv("TGSR_RECOMPUTED_SINCE")
    cached_grid(*args, cache_dir=tmp_path, progress=False, recompute=True)  # no run: recompute
    assert len(runs) == 2
    monkeypatch.setenv("TGSR_RECOMPUTED_SINCE", "yesterday")
    with pytest.raises(ValueError, match="TGSR_RECOMPUTED_SINCE='yesterday' is not a time"):
        cached_grid(*args, cache_dir=tmp_path, progress=False, recompute=True)
