"""The block order of the feature vector, decided by the mirror-symmetry test.

The bin permutation is checked against the extractor on flipped clips (an exact property); the
test's verdict on left-right symmetric synthetic clips is column-major when the vector is
written column-major (as the extractor writes it) and flips to row-major when the same
histograms are rewritten row-major."""

import numpy as np
import pytest

from tgsr_lib.data import layout
from tgsr_lib.features import lbptop
from tgsr_lib.report import figures_findings

from .conftest import requires_data


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (4, 16, 112, 112)).round()


@pytest.mark.parametrize("plane", layout.PLANES)
def test_mirror_permutation_matches_flipped_clip(clips, plane):
    """A left-right flipped clip's histograms are the original ones with the bins permuted
    (whole face and the 2 x 2 blocks, whose sizes are symmetric); XY and XT codes change,
    YT codes do not."""
    perm = layout.mirror_bin_permutation(plane)
    assert np.array_equal(np.sort(perm), np.arange(59))
    assert np.array_equal(perm[perm], np.arange(59))  # an involution
    f = lbptop.multiscale_lbptop(clips[0])
    g = lbptop.multiscale_lbptop(clips[0][:, :, ::-1].copy())
    t = layout.histogram_table()
    for n in (1, 2):
        for k in range(n * n):
            r, c = layout.block_position(k, n)
            mirror = layout.block_index(r, n - 1 - c, n)
            o = int(t[(t.scale == n) & (t.plane == plane) & (t.block == k)].offset.iloc[0])
            om = int(t[(t.scale == n) & (t.plane == plane) & (t.block == mirror)].offset.iloc[0])
            np.testing.assert_allclose(g[om:om + 59][perm], f[o:o + 59], atol=1e-15)
    if plane != "YT":
        assert not np.array_equal(perm, np.arange(59))


def test_block_position_and_index_are_inverse():
    for order in layout.BLOCK_ORDERS:
        for n in layout.SCALES:
            for k in range(n * n):
                assert layout.block_index(*layout.block_position(k, n, order), n, order) == k
    assert layout.block_position(1, 4, "column-major") == (1, 0)
    assert layout.block_position(1, 4, "row-major") == (0, 1)
    with pytest.raises(ValueError, match="block order"):
        layout.block_position(0, 2, "diagonal")


def _row_major(X):
    """The same histograms rewritten with the blocks of every (scale, plane) in row-major
    order."""
    t = layout.histogram_table()
    out = np.empty_like(X)
    for h in t.itertuples():
        new_k = layout.block_index(h.row, h.col, h.scale, "row-major")
        dest = int(t[(t.scale == h.scale) & (t.plane == h.plane) & (t.block == new_k)]
                   .offset.iloc[0])
        out[:, dest:dest + 59] = X[:, h.offset:h.offset + 59]
    return out


@pytest.fixture(scope="module")
def symmetric_features(clips):
    """Features of left-right symmetric clips with a little asymmetric noise."""
    rng = np.random.default_rng(1)
    sym = (clips + clips[..., ::-1]) / 2 + rng.normal(0, 2, clips.shape)
    return np.stack([lbptop.multiscale_lbptop(c) for c in sym])


def test_verdict_column_major_and_flips(symmetric_features):
    X = symmetric_features
    col = layout.mirror_symmetry_test(X)
    assert (col.median_column_major > 0.5).all() and (col.share_column_higher == 1).all()
    assert figures_findings.block_order_verdict(col) == "column-major"
    assert "**the blocks are in column-major order**" in figures_findings.block_order_finding(col)
    row = layout.mirror_symmetry_test(_row_major(X))
    assert figures_findings.block_order_verdict(row) == "row-major"
    assert "**the blocks are in row-major order**" in figures_findings.block_order_finding(row)


def test_undecided_without_symmetry(clips):
    """Random (asymmetric) clips: no order makes mirror blocks agree in every cell."""
    X = np.stack([lbptop.multiscale_lbptop(c) for c in clips])
    t = layout.mirror_symmetry_test(X)
    assert figures_findings.block_order_verdict(t) == "undecided"
    assert "does not decide" in figures_findings.block_order_finding(t)


def test_mirror_correlation_checks_input():
    with pytest.raises(ValueError, match="15045"):
        layout.mirror_correlation(np.zeros((2, 10)), 2, "XY")
    with pytest.raises(ValueError, match="no mirror pairs"):
        layout.mirror_correlation(np.zeros((2, layout.FEATURE_DIM)), 1, "XY")
    with pytest.raises(ValueError, match="plane"):
        layout.mirror_correlation(np.zeros((2, layout.FEATURE_DIM)), 2, "XZ")


@requires_data
@pytest.mark.parametrize("name", ["CASME2", "SMIC_VIS", "SMIC_NIR"])
def test_authors_features_are_column_major(name):
    from tgsr_lib.data import datasets

    t = layout.mirror_symmetry_test(datasets.load_features(name).X)
    assert figures_findings.block_order_verdict(t) == "column-major"
