"""LBP-TOP kernels against a slow reference built on scikit-image, plus layout properties."""

import warnings

import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from tgsr_lib.data import layout
from tgsr_lib.features import lbptop

from .conftest import requires_data

# ----------------------------------------------------------------------------------------------
# the slow, obviously correct reference: scikit-image on every slice, histograms by hand


def naive_codes(vol, P=8, R=3):
    """XY, XT, YT codes on the interior, one scikit-image call per slice."""
    vol = np.asarray(vol, dtype=np.float64)
    T, H, W = vol.shape
    b = int(np.ceil(R))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about float input
        xy = np.stack([local_binary_pattern(vol[t], P, R) for t in range(b, T - b)])
        xt = np.stack([local_binary_pattern(vol[:, y, :], P, R) for y in range(b, H - b)])
        yt = np.stack([local_binary_pattern(vol[:, :, x], P, R) for x in range(b, W - b)])
    xy = xy[:, b:H - b, b:W - b]
    xt = xt[:, b:T - b, b:W - b].transpose(1, 0, 2)  # (t, y, x)
    yt = yt[:, b:T - b, b:H - b].transpose(1, 2, 0)  # (t, y, x)
    return np.stack([xy, xt, yt]).astype(np.int64)


def naive_multiscale(vol, P=8, R=3, scales=layout.SCALES):
    """The multi-scale vector, one histogram at a time, placed where the layout table says
    (scale, plane, block row / column, offset) for P = 8; in scale/plane/column-major order
    otherwise."""
    codes = naive_codes(vol, P, R)
    table = lbptop.u2_table(P)
    nb = lbptop.n_bins(P)
    side = codes.shape[2]
    if P == 8 and tuple(scales) == layout.SCALES and side == layout.CODE_MAP_SIDE:
        rows = layout.histogram_table().itertuples()
        spec = [(r.scale, r.plane_index, r.row, r.col, r.offset) for r in rows]
    else:
        spec, offset = [], 0
        for n in scales:
            for plane in range(3):
                for k in range(n * n):
                    c, r = divmod(k, n)
                    spec.append((n, plane, r, c, offset))
                    offset += nb
    out = np.full(len(spec) * nb, np.nan)
    for n, plane, r, c, offset in spec:
        edges = layout.block_edges(n, side)
        block = codes[plane, :, edges[r]:edges[r + 1], edges[c]:edges[c + 1]]
        h = np.bincount(table[block.ravel()], minlength=nb).astype(float)
        out[offset:offset + nb] = h / h.sum()
    return out


@pytest.fixture(scope="module")
def random_clip():
    return np.random.default_rng(0).integers(0, 256, (16, 112, 112)).astype(np.uint8)


@pytest.fixture(scope="module")
def smooth_clip():
    """Smooth, quantised content with flat patches: many interpolation ties."""
    t, y, x = np.mgrid[0:16, 0:112, 0:112]
    v = 100 + 40 * np.sin(x / 9.0 + t / 5.0) * np.cos(y / 13.0) + (x > 60) * 30
    v[:, 40:60, 40:60] = 77  # a flat square
    return np.round(v).astype(np.uint8)


# ----------------------------------------------------------------------------------------------


def test_u2_table_order():
    table = lbptop.u2_table(8)
    assert table[0] == 0 and table[255] == 57
    uniform = np.nonzero(table < 58)[0]
    assert len(uniform) == 58
    assert np.array_equal(table[uniform], np.arange(58))  # ascending code order
    assert table[0b00000101] == 58  # four transitions: non-uniform
    assert table[0b10000001] < 58  # circular run of ones is uniform


def test_u2_is_a_permutation_of_skimage_nri_uniform():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (64, 64)).astype(np.uint8)
    default = local_binary_pattern(img, 8, 3, method="default").astype(int)
    nri = local_binary_pattern(img, 8, 3, method="nri_uniform").astype(int)
    ours = lbptop.u2_table(8)[default]
    pairs = set(zip(ours.ravel().tolist(), nri.ravel().tolist(), strict=True))
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})


@pytest.mark.parametrize("name", ["random_clip", "smooth_clip"])
def test_codes_equal_skimage_on_every_plane(name, request):
    clip = request.getfixturevalue(name)
    ours = lbptop.lbptop_codes(clip)
    ref = naive_codes(clip)
    assert ours.shape == (3, 10, 106, 106)
    for plane in range(3):
        assert np.array_equal(ours[plane], ref[plane]), lbptop.PLANES[plane]


@pytest.mark.parametrize("P,R", [(4, 1), (8, 2), (8, 2.5), (12, 3)])
def test_other_P_R_against_skimage(P, R):
    clip = np.random.default_rng(P).integers(0, 256, (9, 24, 24)).astype(np.uint8)
    assert np.array_equal(lbptop.lbptop_codes(clip, P, R), naive_codes(clip, P, R))
    f = lbptop.multiscale_lbptop(clip, P, R, scales=(1, 2))
    assert f.shape == (lbptop.feature_dim(P, (1, 2)),)
    assert np.allclose(f, naive_multiscale(clip, P, R, scales=(1, 2)))


@pytest.mark.parametrize("name", ["random_clip", "smooth_clip"])
def test_multiscale_equals_naive(name, request):
    clip = request.getfixturevalue(name)
    f = lbptop.multiscale_lbptop(clip)
    assert f.shape == (layout.FEATURE_DIM,)
    np.testing.assert_allclose(f, naive_multiscale(clip), rtol=0, atol=1e-15)


def test_histograms_sum_to_one_and_sample_to_255(random_clip):
    f = lbptop.multiscale_lbptop(random_clip)
    assert f.sum() == pytest.approx(255.0, abs=1e-9)
    np.testing.assert_allclose(f.reshape(-1, layout.N_BINS).sum(axis=1), 1.0, atol=1e-12)


def test_pixel_count_identity(smooth_clip):
    """Per plane: scale-1 histogram x 106^2 = sum over blocks of histogram x block pixels."""
    f = lbptop.multiscale_lbptop(smooth_clip)
    table = layout.histogram_table()
    for plane in layout.PLANES:
        whole = table[(table.scale == 1) & (table.plane == plane)].iloc[0]
        ref = f[whole.offset:whole.offset + 59] * 106 ** 2
        for n in (2, 4, 8):
            rows = table[(table.scale == n) & (table.plane == plane)]
            total = sum(f[r.offset:r.offset + 59] * r.n_pixels for r in rows.itertuples())
            np.testing.assert_allclose(total, ref, atol=1e-9)


def test_normalisation_counts_match_layout_table():
    """Each histogram is divided by its block's pixels (layout table) x 10 frames."""
    table = layout.histogram_table()
    counts = lbptop.histogram_counts(np.ones(layout.FEATURE_DIM))
    np.testing.assert_array_equal(counts.reshape(-1, 59)[:, 0], table.n_pixels * 10)


def test_grey_scaling_keeps_features(smooth_clip):
    """Scaling by a power of two is exact in floating point, so codes cannot change."""
    f = lbptop.multiscale_lbptop(smooth_clip)
    assert np.array_equal(f, lbptop.multiscale_lbptop(4.0 * smooth_clip))


def test_monotonic_change_keeps_on_grid_bits(smooth_clip):
    """LBP is invariant to monotonic grey changes where no interpolation is involved: the
    neighbours p = 0, 2, 4, 6 of R = 3 fall on pixels (bilinear values are not invariant)."""
    a = lbptop.lbptop_codes(smooth_clip)
    b = lbptop.lbptop_codes(np.sqrt(smooth_clip.astype(float)) * 7 + 3)
    mask = 0b01010101
    assert np.array_equal(a & mask, b & mask)


def test_batch_equals_single(random_clip, smooth_clip):
    batch = lbptop.multiscale_lbptop_batch(np.stack([random_clip, smooth_clip]))
    assert np.array_equal(batch[0], lbptop.multiscale_lbptop(random_clip))
    assert np.array_equal(batch[1], lbptop.multiscale_lbptop(smooth_clip))


def test_separate_radii_change_only_what_they_should(random_clip):
    same = lbptop.lbptop_codes(random_clip, 8, 3)
    other = lbptop.lbptop_codes(random_clip, 8, (3, 3, 2))
    assert other.shape == (3, 12, 106, 106)
    assert np.array_equal(other[0, 1:-1], same[0])  # XY untouched by Rt
    assert not np.array_equal(other[1, 1:-1], same[1])


def test_temporal_planes_see_time(random_clip):
    """Reversing time changes the temporal codes but not XY."""
    a = lbptop.lbptop_codes(random_clip)
    b = lbptop.lbptop_codes(random_clip[::-1])
    assert np.array_equal(a[0], b[0][::-1])
    assert not np.array_equal(a[1], b[1][::-1])


@pytest.mark.parametrize("shape,match", [
    ((6, 112, 112), "2R\\+1"),
    ((16, 112, 100), "square"),
    ((16, 5, 5), "2R\\+1"),
])
def test_bad_shapes(shape, match):
    with pytest.raises(ValueError, match=match):
        lbptop.multiscale_lbptop(np.zeros(shape))


def test_bad_input():
    with pytest.raises(ValueError, match="grey"):
        lbptop.multiscale_lbptop(np.zeros((16, 112, 112, 3)))
    with pytest.raises(ValueError, match="NaN"):
        lbptop.multiscale_lbptop(np.full((16, 20, 20), np.nan))
    with pytest.raises(ValueError, match="neighbours"):
        lbptop.multiscale_lbptop(np.zeros((16, 20, 20)), P=1)
    with pytest.raises(ValueError, match="radius"):
        lbptop.multiscale_lbptop(np.zeros((16, 20, 20)), R=0)
    with pytest.raises(ValueError, match="N, T, H, W"):
        lbptop.multiscale_lbptop_batch(np.zeros((16, 20, 20)))


@requires_data
def test_same_structure_as_released_features(random_clip):
    from tgsr_lib.data import datasets

    X = datasets.load_features("SMIC_VIS").X
    ours = lbptop.multiscale_lbptop(random_clip)
    for v in (X[0], ours):
        assert v.sum() == pytest.approx(255.0, abs=1e-6)
        np.testing.assert_allclose(v.reshape(-1, 59).sum(axis=1), 1.0, atol=1e-6)
    # both: bins are multiples of 1 / (block pixels x 10 frames)
    counts = lbptop.histogram_counts(X[0])
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-3)
