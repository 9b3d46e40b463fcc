"""Temporal Interpolation Model: closed form vs graph embedding, properties, reference data."""

from pathlib import Path

import numpy as np
import pytest

from tgsr_lib.features import tim

SHARED = Path(__file__).resolve().parents[2] / "shared"
TIM_REF = SHARED / "data" / "tim_reference"


@pytest.mark.parametrize("n_in,n_out", [(2, 16), (5, 16), (10, 16), (30, 16), (16, 16),
                                        (10, 7), (7, 30)])
def test_closed_form_equals_graph_embedding(n_in, n_out):
    clip = np.random.default_rng(n_in).random((n_in, 8, 9))
    a = tim.interpolate(clip, n_out)
    b = tim.interpolate(clip, n_out, method="graph_embedding")
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_original_positions_give_original_frames():
    clip = np.random.default_rng(0).random((12, 5, 5))
    assert np.array_equal(tim.interpolate(clip, 12), clip)
    out = tim.interpolate(clip, 23)  # s = 1, 1.5, ..., 12: every other output is a frame
    assert np.array_equal(out[::2], clip)


def test_end_frames_kept_and_rows_sum_to_one():
    M = tim.interpolation_matrix(10, 16)
    assert M.shape == (16, 10)
    np.testing.assert_allclose(M.sum(axis=1), 1.0, atol=1e-12)
    assert np.array_equal(M[0], np.eye(10)[0]) and np.array_equal(M[-1], np.eye(10)[-1])


def test_cosine_series_is_reproduced_between_frames():
    """A clip that is itself a cosine series of N terms is interpolated exactly."""
    N, n = 9, 16
    coef = np.random.default_rng(3).normal(size=(N, 4))
    frames = tim.cosine_basis(N, np.arange(1, N + 1)) @ coef
    want = tim.cosine_basis(N, tim.positions(N, n)) @ coef
    np.testing.assert_allclose(tim.interpolate(frames[:, :, None], n)[:, :, 0], want,
                               atol=1e-12)


def test_path_graph_eigenvectors():
    N = 7
    L = 2 * np.eye(N) - np.eye(N, k=1) - np.eye(N, k=-1)
    L[0, 0] = L[-1, -1] = 1
    V = tim.cosine_basis(N, np.arange(1, N + 1))
    lam = 2 - 2 * np.cos(np.pi * np.arange(N) / N)
    np.testing.assert_allclose(L @ V, V * lam, atol=1e-12)


def test_rank_deficient_clip():
    rng = np.random.default_rng(1)
    clip = rng.random((6, 4, 4))
    rep = np.concatenate([clip[:3], clip[2:3], clip[2:3], clip[3:]])  # repeated frames
    with pytest.raises(ValueError, match="rank"):
        tim.interpolate(rep, 16, method="graph_embedding")
    out = tim.interpolate(rep, 16)
    assert np.all(np.isfinite(out))
    assert np.array_equal(tim.interpolate(rep, len(rep)), rep)
    # fewer pixels than frames also breaks the original formulation only
    tiny = rng.random((10, 2, 2))
    with pytest.raises(ValueError, match="rank"):
        tim.interpolate(tiny, 16, method="graph_embedding")
    assert tim.interpolate(tiny, 16).shape == (16, 2, 2)


def test_colour_clip_is_per_channel():
    clip = np.random.default_rng(2).random((8, 5, 6, 3))
    out = tim.interpolate(clip, 16)
    assert out.shape == (16, 5, 6, 3)
    for ch in range(3):
        np.testing.assert_allclose(out[..., ch], tim.interpolate(clip[..., ch], 16), atol=1e-12)
    np.testing.assert_allclose(out, tim.interpolate(clip, 16, method="graph_embedding"),
                               atol=1e-9)


def test_constant_clip_stays_constant():
    clip = np.full((5, 3, 3), 42.0)
    np.testing.assert_allclose(tim.interpolate(clip, 16), 42.0, atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 frames"):
        tim.interpolate(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="T, H, W"):
        tim.interpolate(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="n_frames"):
        tim.interpolate(np.zeros((4, 4, 4)), 0)
    with pytest.raises(ValueError, match="method"):
        tim.interpolate(np.zeros((4, 4, 4)), 5, method="linear")


@pytest.mark.skipif(not TIM_REF.is_dir(), reason=f"TIM reference frames not found in {TIM_REF}")
def test_matches_published_tim_code_output():
    from skimage.io import imread

    inp = np.stack([imread(TIM_REF / "input" / f"{i:03d}.jpg") for i in range(1, 11)])
    ref = np.stack([imread(TIM_REF / "output" / f"{i}.jpg") for i in range(1, 17)])
    out = tim.interpolate(inp.astype(float), 16)
    err = np.abs(out - ref)
    assert err.mean() < 0.6  # JPEG-compressed reference
    assert err.max() < 10
