"""The authors' recorded grids: all 12 experiments are registered, and the committed grids of
the six experiments with public features equal the records at every point."""

from pathlib import Path

import numpy as np
import pytest

from tgsr_lib.data import datasets, protocols
from tgsr_lib.experiments import cache, io

from .conftest import requires_data

GRIDS = Path(__file__).resolve().parents[1] / "notebooks" / "cache" / "grids"


def test_every_experiment_has_a_registered_record():
    pairs = {(e.source, e.target) for e in protocols.EXPERIMENTS}
    assert len(pairs) == 12 and pairs == set(datasets.available_records())


@requires_data
@pytest.mark.parametrize("exp", [protocols.get_experiment(n) for n in protocols.COMPUTABLE],
                         ids=lambda e: f"Exp{e.number}")
def test_committed_grid_equals_the_record_everywhere(exp):
    """Correct counts exactly (accuracy x N), macro-F1 to 1e-12, at all 23,460 points."""
    rec = datasets.load_record(exp.source, exp.target)
    df = io.read_grid(cache.grid_cache_path(exp.source, exp.target, cache_dir=GRIDS))
    n = datasets.load_features(exp.target).y.size
    assert len(df) == len(rec) == 23460
    assert np.array_equal(df.kappa.values, rec.kappa.values)
    assert np.array_equal(df.xi.values, rec.xi.values)
    assert np.array_equal(np.round(df.accuracy.values * n), np.round(rec.accuracy.values * n))
    np.testing.assert_allclose(df.macro_f1.values, rec.macro_f1.values, rtol=0, atol=1e-12)


@requires_data
def test_every_record_loads():
    for source, target in datasets.available_records():
        rec = datasets.load_record(source, target)
        assert rec.shape == (23460, 4) and rec.kappa.between(1, 85).all()
