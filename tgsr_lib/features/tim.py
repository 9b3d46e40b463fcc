"""Temporal Interpolation Model (TIM): resample a clip to a fixed number of frames.

Zhou et al. embed the ``N`` frames of a clip on a path graph (each frame linked to its
neighbours in time) and map the embedding back to image space through a linear projection
learned from the frames; sampling the continuous embedding curve at ``n`` points gives ``n``
new frames. Pfister et al. used it to bring every micro-expression clip to the same length
(16 frames for the TGSR authors, after a 112 x 112 bicubic resize).

The eigenvectors of the path-graph Laplacian are cosines, ``v_k(i) = cos(pi k (i - 1/2) / N)``
for ``i = 1..N``, so the model is exactly a cosine-series (DCT-II) interpolation in time:

    x(s) = sum_{k=0}^{N-1} c_k cos(pi k (s - 1/2) / N),

fitted to the ``N`` frames (it passes through them at ``s = 1..N``) and sampled at ``s =
linspace(1, N, n)``, so the first and last output frames are the first and last input frames
(the project's facts page ``book/facts.md``, section "Preprocessing and TIM").
:func:`interpolate` uses this closed form by default: one ``(n, N)`` matrix applied to every
pixel, exact for any clip. The original formulation
(:func:`interpolate_graph_embedding`) has to invert the frames' own covariance and fails on
rank-deficient clips (repeated frames, fewer pixels than frames).

References
----------
.. [1] Z. Zhou, G. Zhao and M. Pietikainen, "Towards a practical lipreading system", CVPR 2011.
.. [2] T. Pfister, X. Li, G. Zhao and M. Pietikainen, "Recognising spontaneous facial
   micro-expressions", ICCV 2011.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Frames per clip after TIM in the TGSR authors' preprocessing.
N_FRAMES = 16

METHODS = ("closed_form", "graph_embedding")


def _check_clip(clip) -> np.ndarray:
    arr = np.asarray(clip)
    if arr.ndim not in (3, 4):
        raise ValueError(
            f"a clip must be a (T, H, W) grey or (T, H, W, C) colour array, got shape {arr.shape}"
        )
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"a clip must hold numbers, got dtype {arr.dtype}")
    if arr.shape[0] < 2:
        raise ValueError(f"TIM needs at least 2 frames, the clip has {arr.shape[0]}")
    if arr.size == 0:
        raise ValueError(f"empty clip of shape {arr.shape}")
    return arr


def _check_n(n_frames) -> int:
    if isinstance(n_frames, bool) or int(n_frames) != n_frames or int(n_frames) < 1:
        raise ValueError(f"n_frames={n_frames!r}: ask for a positive whole number of frames")
    return int(n_frames)


def positions(n_in: int, n_out: int) -> np.ndarray:
    """Where the ``n_out`` output frames sit on the input time axis: ``linspace(1, n_in,
    n_out)`` (1-based frame numbers; a single output frame sits at the first frame)."""
    if n_out == 1:
        return np.ones(1)
    return np.linspace(1.0, float(n_in), int(n_out))


def cosine_basis(n_in: int, s) -> np.ndarray:
    """Path-graph Laplacian eigenvectors as functions of time: ``cos(pi k (s - 1/2) / n_in)``.

    Parameters
    ----------
    n_in : int
        Number of frames ``N`` (nodes of the path graph).
    s : array_like
        1-based time positions (``s = 1..N`` are the frames).

    Returns
    -------
    basis : (len(s), N) array
        Column ``k`` is eigenvector ``k`` (eigenvalue ``2 - 2 cos(pi k / N)``); column 0 is
        constant.
    """
    s = np.asarray(s, dtype=np.float64).reshape(-1)
    k = np.arange(int(n_in))
    return np.cos(np.pi * np.outer(s - 0.5, k) / n_in)


@lru_cache(maxsize=128)
def _matrix(n_in: int, n_out: int) -> np.ndarray:
    B = cosine_basis(n_in, np.arange(1, n_in + 1))  # (N, N), orthogonal columns
    # B^T B = diag(N, N/2, ..., N/2): coefficients c = diag(1/N, 2/N, ...) B^T x
    scale = np.full(n_in, 2.0 / n_in)
    scale[0] = 1.0 / n_in
    M = cosine_basis(n_in, positions(n_in, n_out)) @ (scale[:, None] * B.T)
    # The end points and any output that coincides with an input frame are that frame exactly
    # (the series passes through the frames; this only removes rounding).
    s = positions(n_in, n_out)
    on_frame = np.isclose(s, np.round(s), rtol=0, atol=1e-9)
    for j in np.nonzero(on_frame)[0]:
        M[j] = 0.0
        M[j, int(round(s[j])) - 1] = 1.0
    M.flags.writeable = False
    return M


def interpolation_matrix(n_in: int, n_out: int = N_FRAMES) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix of the closed-form TIM: output frames = ``M @ frames``.

    Rows sum to 1 (the constant eigenvector is reproduced), row 0 and row ``n_out - 1`` are
    the first and last unit vectors, and ``n_out == n_in`` gives the identity.
    """
    n_in = int(n_in)
    if n_in < 2:
        raise ValueError(f"TIM needs at least 2 frames, got {n_in}")
    return _matrix(n_in, _check_n(n_out)).copy()


def interpolate(clip, n_frames: int = N_FRAMES, method: str = "closed_form") -> np.ndarray:
    """Interpolate a clip to ``n_frames`` frames with the Temporal Interpolation Model.

    Parameters
    ----------
    clip : (T, H, W) or (T, H, W, C) array
        Grey or colour frames, ``T >= 2``.
    n_frames : int
        Frames wanted (16 in the TGSR authors' preprocessing). Smaller or larger than ``T``.
    method : {"closed_form", "graph_embedding"}
        ``"closed_form"`` (default): the cosine-series form of TIM, exact for any clip.
        ``"graph_embedding"``: the original formulation (:func:`interpolate_graph_embedding`),
        which fails on rank-deficient clips.

    Returns
    -------
    frames : (n_frames, H, W[, C]) float64 array
        Not clipped: the cosine series may overshoot the input range slightly near sharp
        temporal changes (round and clip before storing as 8-bit images).

    References
    ----------
    Zhou, Zhao & Pietikainen, CVPR 2011; Pfister, Li, Zhao & Pietikainen, ICCV 2011.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.random.default_rng(0).random((10, 4, 4))
    >>> interpolate(clip, 16).shape
    (16, 4, 4)
    >>> bool(np.allclose(interpolate(clip, 10), clip))
    True
    """
    arr = _check_clip(clip)
    n = _check_n(n_frames)
    if method == "graph_embedding":
        return interpolate_graph_embedding(arr, n)
    if method != "closed_form":
        raise ValueError(f"unknown TIM method {method!r}: use one of {METHODS}")
    T = arr.shape[0]
    flat = arr.reshape(T, -1).astype(np.float64, copy=False)
    return (_matrix(T, n) @ flat).reshape((n, *arr.shape[1:]))


def interpolate_graph_embedding(clip, n_frames: int = N_FRAMES,
                                rank_tol: float = 1e-10) -> np.ndarray:
    """TIM in its original graph-embedding formulation (Zhou et al. 2011).

    1. Centre the ``N`` frames (vectors of ``D`` pixels) and project them on their ``N - 1``
       principal components: ``Z`` (``(N - 1) x N``).
    2. Embed the path graph: ``Y`` = the ``N - 1`` non-constant Laplacian eigenvectors
       (``(N - 1) x N``, :func:`cosine_basis`).
    3. Learn the projection ``W`` with ``W^T Z = Y`` (``W = (Z Z^T)^{-1} Z Y^T``).
    4. New frames: ``x(s) = mean + U (W^T)^{-1} y(s)`` at ``s = linspace(1, N, n)``.

    It needs the centred frames to have full rank ``N - 1`` (so ``D >= N - 1`` and no repeated
    or linearly dependent frames); otherwise ``Z Z^T`` is singular and a ``ValueError`` is
    raised. Use :func:`interpolate` (the closed form) for such clips.

    Parameters
    ----------
    clip : (T, H, W) or (T, H, W, C) array
    n_frames : int
    rank_tol : float
        Relative singular-value threshold below which the frames count as rank deficient.

    Returns
    -------
    frames : (n_frames, H, W[, C]) float64 array
    """
    arr = _check_clip(clip)
    n = _check_n(n_frames)
    N = arr.shape[0]
    X = arr.reshape(N, -1).astype(np.float64).T  # D x N, one column per frame
    mean = X.mean(axis=1, keepdims=True)
    X0 = X - mean
    U, S, _ = np.linalg.svd(X0, full_matrices=False)
    r = N - 1
    if S.size < r or S[r - 1] <= rank_tol * max(S[0], np.finfo(float).tiny):
        rank = int(np.sum(S > rank_tol * max(S[0], np.finfo(float).tiny))) if S.size else 0
        raise ValueError(
            f"graph-embedding TIM needs {N} frames whose centred pixels have rank {r}, but their "
            f"rank is {rank} (repeated frames or fewer pixels than frames); use the closed form "
            "(method='closed_form'), which is exact for such clips"
        )
    U = U[:, :r]
    Z = U.T @ X0  # (N-1) x N
    Y = cosine_basis(N, np.arange(1, N + 1))[:, 1:].T  # (N-1) x N
    W = np.linalg.solve(Z @ Z.T, Z @ Y.T)  # W^T Z = Y
    F = cosine_basis(N, positions(N, n))[:, 1:].T  # (N-1) x n
    out = mean + U @ np.linalg.solve(W.T, F)
    return out.T.reshape((n, *arr.shape[1:]))
