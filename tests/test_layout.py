import numpy as np
import pytest

from tgsr_lib.data import layout

from .conftest import requires_data


def test_sizes():
    assert layout.FEATURE_DIM == 15045 and layout.N_GROUPS == 85 and layout.GROUP_DIM == 177
    assert layout.block_sizes(1) == [106]
    assert layout.block_sizes(2) == [53, 53]
    assert layout.block_sizes(4) == [27, 27, 27, 25]
    assert layout.block_sizes(8) == [13] * 7 + [15]
    t = layout.histogram_table()
    assert len(t) == 255
    assert t.groupby("scale").offset.min().to_dict() == {1: 0, 2: 177, 4: 885, 8: 3717}


@pytest.mark.parametrize("grouping", layout.GROUPINGS)
def test_groupings_are_partitions(grouping):
    g = layout.groups(grouping)
    assert g.shape == (85, 177)
    assert np.array_equal(np.sort(g.ravel()), np.arange(layout.FEATURE_DIM))
    with pytest.raises(ValueError):
        g[0, 0] = 1  # read-only


def test_authors_grouping_is_consecutive_and_mixes_blocks():
    g = layout.groups("authors")
    assert np.array_equal(g[1], np.arange(177, 354))
    c = layout.group_contents("authors")
    g1 = c[c.group == 1]
    assert g1.plane.tolist() == ["XY", "XY", "XY"] and g1.block.tolist() == [0, 1, 2]


def test_blocks_grouping_is_one_block_each():
    c = layout.group_contents("blocks")
    per = c.groupby("group").agg(n=("histogram", "size"), scales=("scale", "nunique"),
                                  blocks=("block", "nunique"), planes=("plane", tuple))
    assert (per.n == 3).all() and (per.scales == 1).all() and (per.blocks == 1).all()
    assert (per.planes == ("XY", "XT", "YT")).all()
    keys = c.groupby("group").first()[["scale", "block"]].apply(tuple, axis=1)
    assert keys.nunique() == 85


@requires_data
@pytest.mark.parametrize("name", ["CASME2", "SMIC_VIS"])
def test_pixel_count_identity_on_data(name):
    """Per plane, the whole-face histogram x 106^2 equals the sum over the blocks of any scale
    of (block histogram x block pixel count): the exact identity that fixes the layout. Checked
    through the `blocks` grouping, so each group's three histograms are one block's XY, XT, YT."""
    from tgsr_lib.data import datasets

    X = datasets.load_features(name).X
    g = layout.groups("blocks")
    c = layout.group_contents("blocks").groupby("group").first()
    whole = X[:, g[0]].reshape(-1, 3, 59) * 106 ** 2
    for n in (2, 4, 8):
        rows = c.index[c.scale == n]
        total = sum(X[:, g[i]].reshape(-1, 3, 59) * c.n_pixels[i] for i in rows)
        np.testing.assert_allclose(total, whole, atol=1e-6)
        # the identity fails when the planes of a group are mixed up
        wrong = sum(np.roll(X[:, g[i]].reshape(-1, 3, 59), 1, axis=1) * c.n_pixels[i]
                    for i in rows)
        assert np.abs(wrong - whole).max() > 1


def test_block_rectangles_tile_the_interior():
    cover = np.zeros((112, 112), int)
    for k in range(64):
        top, left, h, w = layout.block_rectangle(8, k)
        cover[top:top + h, left:left + w] += 1
    assert cover[3:109, 3:109].min() == 1 and cover.sum() == 106 ** 2
    assert layout.block_rectangle(2, 1) == (56, 3, 53, 53)  # column-major: block 1 = bottom-left
