"""Synthetic micro-expression databases: determinism, ground truth, and the pipeline finds it."""

import numpy as np
import pytest

from tgsr_lib.data import layout
from tgsr_lib.features import synthetic


def test_base_face():
    face = synthetic.base_face()
    assert face.shape == (112, 112)
    assert 0 <= face.min() and face.max() <= 255 and face.std() > 20
    assert np.array_equal(face, synthetic.base_face())


@pytest.mark.parametrize("domain", list(synthetic.DOMAINS))
def test_clip_shape_range_and_determinism(domain):
    spec = synthetic.DOMAINS[domain]
    clip = synthetic.make_clip(2, domain, rng=5)
    assert spec.frames[0] <= clip.shape[0] <= spec.frames[1]
    assert clip.shape[1:] == (112, 112)
    assert clip.min() >= 0 and clip.max() <= 255 and np.array_equal(clip, np.round(clip))
    assert np.array_equal(clip, synthetic.make_clip(2, domain, rng=5))


def test_movement_is_local_and_small():
    """Without noise the frames differ from the first one only around the planted regions."""
    spec = synthetic.DomainSpec("clean", (20, 20), noise=0.0, blink_rate=0.0,
                                amplitude=(3.0, 3.0))
    for label in (1, 2, 3):
        clip = synthetic.make_clip(label, spec, rng=0)
        change = np.abs(clip - clip[0]).max(axis=0)
        core = synthetic.motion_map(label) > 0.01  # 0.03 px at 3 px amplitude
        assert change[~core].max() <= 2  # sub-pixel tails and rounding only
        assert change[core].max() >= 10


def test_planted_blocks_and_overlap():
    planted = synthetic.planted_blocks()
    assert len(planted) == 20
    assert 0 not in planted  # the whole face is not a region
    ov = synthetic.overlap(planted)
    assert ov["precision"] == 1.0 and ov["p_value"] < 1e-10
    assert ov["chance"] == pytest.approx(20 / 85)
    rng = np.random.default_rng(0)
    precisions = [synthetic.overlap(rng.choice(85, 10, replace=False))["precision"]
                  for _ in range(300)]
    assert np.mean(precisions) == pytest.approx(20 / 85, abs=0.03)
    assert len(synthetic.block_scales()) == layout.N_GROUPS


def test_database_is_deterministic_and_balanced():
    a = synthetic.make_database("SYN_VIS", n_per_class=2, n_subjects=2, seed=3)
    b = synthetic.make_database("SYN_VIS", n_per_class=2, n_subjects=2, seed=3)
    assert len(a) == 6 and list(a.y) == [1, 1, 2, 2, 3, 3]
    assert all(np.array_equal(x, y) for x, y in zip(a.clips, b.clips, strict=True))
    assert len(set(a.clip)) == 6
    with pytest.raises(ValueError, match="label"):
        synthetic.make_clip(4)


def test_pipeline_finds_the_planted_regions():
    """TIM -> LBP-TOP -> TGSR (blocks grouping) selects planted blocks far above chance and
    transfers across domains above chance."""
    from tgsr_lib.model.estimator import TGSR

    src = synthetic.make_database("SYN_HS", n_per_class=8, n_subjects=3, seed=0)
    tgt = synthetic.make_database("SYN_VIS", n_per_class=8, n_subjects=3, seed=0)
    Xs, Xt = synthetic.make_features(src), synthetic.make_features(tgt)
    assert Xs.shape == (24, layout.FEATURE_DIM)
    np.testing.assert_allclose(Xs.sum(axis=1), 255.0)
    model = TGSR(5, 1.0, groups="blocks").fit(Xs, src.y, Xt)
    ov = synthetic.overlap(model.selected_groups_)
    assert ov["precision"] >= 0.6 and ov["p_value"] < 0.05
    assert np.mean(model.predict(Xt) == tgt.y) > 0.5


def test_clips_are_held_in_8_bits_and_handed_out_as_float64():
    """A database holds its clips as uint8 (an eighth of float64's memory) and hands out
    float64 arrays equal to the clips :func:`make_clip` made; a clip that is not whole grey
    levels 0..255 is refused, not wrapped."""
    db = synthetic.make_database("SYN_NIR", n_per_class=1, n_subjects=1, seed=2)
    rng = np.random.default_rng([2, *[ord(ch) for ch in "SYN_NIR"]])
    subjects = synthetic._subjects(1, rng)
    for label, clip in zip((1, 2, 3), db.clips, strict=True):
        rng.integers(1)  # the subject draw of make_database
        want = synthetic.make_clip(label, "SYN_NIR", rng, subjects[0])
        assert clip.dtype == np.float64 and np.array_equal(clip, want)
    assert sum(c.nbytes for c in db.clips._clips) * 8 == sum(c.nbytes for c in db.clips)
    assert len(db.clips[1:]) == 2 and np.array_equal(db.clips[1:][0], db.clips[1])
    clips = synthetic.Clips()
    for bad in (np.full((2, 3, 3), 0.5), np.full((2, 3, 3), 256.0), np.full((2, 3, 3), -1.0)):
        with pytest.raises(ValueError, match="whole grey levels 0..255"):
            clips.append(bad)
