"""LBP-TOP: local binary patterns on three orthogonal planes, in the authors' layout.

Zhao & Pietikainen's LBP-TOP describes a grey video volume ``V[t, y, x]`` by the local binary
patterns of its XY (appearance), XT and YT (motion) planes. This module computes them with
numba kernels and assembles the multi-scale 15045-dimensional vector of the TGSR authors
(:mod:`tgsr_lib.data.layout` holds the layout). The conventions, established from exact pixel
counts of the authors' released features:

* the codes are computed once on the whole clip (frames resized to 112 x 112 and interpolated to
  16 frames by TIM, :mod:`tgsr_lib.features.tim`);

* ``P = 8`` neighbours at radius ``R = 3`` in x, y and t (other values allowed);
* neighbour ``p`` of a plane image sits at ``(row, col) = (-R sin(2 pi p / P), +R cos(2 pi p /
  P))`` from the centre, offsets rounded to 5 decimals, bilinearly interpolated, bit ``p`` (weight
  ``2**p``) set when ``neighbour >= centre``: exactly scikit-image's
  ``local_binary_pattern(image, P, R, method="default")`` arithmetic, so the kernels agree with it
  bit for bit;
* planes: XY has rows y, columns x; XT rows t, columns x; YT rows t, columns y (time on the sine
  axis in both temporal planes);
* codes exist on the interior ``T - 2 Rt`` x ``H - 2 Ry`` x ``W - 2 Rx`` (border ``ceil(R)``), i.e.
  10 x 106 x 106 for a 16 x 112 x 112 clip; scale ``n`` cuts the 106 x 106 code map into ``n x n``
  blocks of ``round(106 / n)`` positions with MATLAB rounding (half away from zero), the last
  block taking the remainder (n = 4: 27, 27, 27, 25; n = 8: seven of 13, then 15;
  :func:`tgsr_lib.data.layout.block_sizes`); each (block, plane) histogram is counted over all
  time positions of the block and normalised to sum 1, so every vector sums to 255 (85 blocks x
  3 planes);
* codes are binned with the classic "u2" mapping (:func:`u2_table`): the ``P (P - 1) + 2`` uniform
  codes in ascending order, then one bin for all others (59 bins for ``P = 8``);
* concatenation: scales 1, 2, 4, 8 (at offsets 0, 177, 885 and 3717); within a scale
  plane-major (all XY histograms, then XT, then YT); within a plane, blocks column-major (block
  ``k = col * n + row``, block 0 top-left); 59 bins each. The sign of the time axis cannot be
  told from the histograms; scikit-image's codes equal these away from exact interpolation
  ties, which makes it an independent check of every plane (XT and YT on per-row / per-column
  slices with time as rows).

Implementation: per clip, the in-frame half of every fractional interpolation (the ``top`` /
``bottom`` values along x, and along y for YT) is tabulated once per distinct offset and shared
by all centres; the codes are then built row by row (vectorised loops), binned into the cells
of the common refinement of all scales' block edges, and the cells summed into the block
histograms. About 2.5 ms per 16 x 112 x 112 clip on one core, roughly 25 times a scikit-image
per-slice implementation (``benchmarks/lbptop_speed.py``). The kernels are compiled with
``cache=True``: the first call in a fresh checkout compiles for some seconds, later runs load
the cache.

References
----------
.. [1] G. Zhao and M. Pietikainen, "Dynamic texture recognition using local binary patterns with
   an application to facial expressions", IEEE TPAMI 29(6), 2007.
.. [2] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and rotation invariant
   texture classification with local binary patterns", IEEE TPAMI 24(7), 2002 (uniform patterns).
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

import numba
import numpy as np

from tgsr_lib.data import layout

#: Default neighbours and radius of the paper (LBP-TOP R3P8 in x, y and t).
P_DEFAULT = 8
R_DEFAULT = 3.0
PLANES = layout.PLANES


# ----------------------------------------------------------------------------------------------
# parameters


def _check_P(P) -> int:
    if isinstance(P, bool) or int(P) != P or not 2 <= int(P) <= 16:
        raise ValueError(f"P={P!r}: the number of neighbours must be an integer in 2..16")
    return int(P)


def _check_R(R, name: str = "R") -> float:
    R = float(R)
    if not np.isfinite(R) or R <= 0:
        raise ValueError(f"{name}={R!r}: the radius must be a positive number")
    return R


def _radii(R) -> tuple[float, float, float]:
    """``(Rx, Ry, Rt)`` from a scalar or a 3-tuple."""
    if np.ndim(R) == 0:
        r = _check_R(R)
        return r, r, r
    R = tuple(R)
    if len(R) != 3:
        raise ValueError(f"R={R!r}: give one radius or three (Rx, Ry, Rt)")
    return tuple(_check_R(r, n) for r, n in zip(R, ("Rx", "Ry", "Rt"), strict=True))


def border(R: float) -> int:
    """Pixels (or frames) lost on each side for radius ``R``: ``ceil(R)`` (3 for ``R = 3``)."""
    return int(math.ceil(_check_R(R) - 1e-12))


def n_bins(P: int = P_DEFAULT) -> int:
    """Number of u2 bins: ``P (P - 1) + 3`` (59 for ``P = 8``)."""
    P = _check_P(P)
    return P * (P - 1) + 3


def feature_dim(P: int = P_DEFAULT, scales: tuple[int, ...] = layout.SCALES) -> int:
    """Length of the multi-scale vector (15045 for ``P = 8`` and scales 1, 2, 4, 8)."""
    return n_bins(P) * len(PLANES) * sum(n * n for n in scales)


def neighbour_offsets(P: int = P_DEFAULT, R: float = R_DEFAULT) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(d_row, d_col)`` of the ``P`` neighbours, rounded to 5 decimals.

    ``d_row = -R sin(2 pi p / P)``, ``d_col = R cos(2 pi p / P)``, as in scikit-image.
    """
    P = _check_P(P)
    R = _check_R(R)
    angle = 2 * np.pi * np.arange(P, dtype=np.float64) / P
    return np.round(-R * np.sin(angle), 5), np.round(R * np.cos(angle), 5)


@cache
def _u2_table(P: int) -> np.ndarray:
    codes = np.arange(2**P)
    bits = (codes[:, None] >> np.arange(P)) & 1
    transitions = np.sum(bits != np.roll(bits, -1, axis=1), axis=1)  # circular
    uniform = transitions <= 2
    table = np.full(2**P, P * (P - 1) + 2, dtype=np.int64)
    table[uniform] = np.arange(int(uniform.sum()))
    table.flags.writeable = False
    return table


def u2_table(P: int = P_DEFAULT) -> np.ndarray:
    """The "u2" mapping of LBP codes to bins, shape ``(2**P,)``.

    The ``P (P - 1) + 2`` uniform codes (at most two circular 0/1 transitions) go to bins
    ``0, 1, ...`` in ascending code order; every other code goes to the last bin. For ``P = 8``:
    code 0 -> bin 0, code 255 -> bin 57, non-uniform -> bin 58 (the classic ``getmapping(8,
    'u2')`` order).
    """
    return _u2_table(_check_P(P)).copy()


def _axis_tables(n: int, offsets: np.ndarray, lo: int, hi: int):
    """Per-position floor/ceil indices and fractions for ``pos = i + offset``, i in [lo, hi).

    Computed with the same floating-point operations as scikit-image's bilinear interpolation
    (``pos = i + d; f = floor(pos); frac = pos - f``), so the kernels agree with it exactly.
    """
    idx = np.arange(lo, hi, dtype=np.float64)
    pos = idx[:, None] + offsets[None, :]
    f = np.floor(pos)
    c = np.ceil(pos)
    if f.min() < 0 or c.max() > n - 1:
        raise ValueError("radius too large for the volume")  # guarded by the public functions
    return f.astype(np.int64), c.astype(np.int64), pos - f


# ----------------------------------------------------------------------------------------------
# kernels
#
# ``tabs`` holds the per-axis interpolation tables of a plan (see ``_Plan``); ``table`` the u2
# mapping; ``cell_of[i]`` the cell (segment between consecutive block edges of all scales) of
# code-map row / column ``i``.


@numba.njit(cache=True, nogil=True)
def _row_tables(vol, shift, frac, by, bx, axis, out):  # pragma: no cover - compiled
    """In-frame interpolation shared by many centres, one table per fractional offset ``q``.

    ``axis == 2`` (x, for XY and XT): ``out[q, f, r, j] = (1 - d) vol[f, r, k] + d vol[f, r,
    k + 1]`` with ``k = shift[q] + j`` (the floor of the neighbour's column) and ``d =
    frac[q, j]``: scikit-image's ``top`` / ``bottom`` values for interior column ``j``.
    ``axis == 1`` (y, for YT): ``out[q, f, i, j] = (1 - d) vol[f, k, bx + j] + d vol[f, k + 1,
    bx + j]`` with ``k = shift[q] + i``, ``d = frac[q, i]``.
    """
    n = out.shape[3]
    for q in range(out.shape[0]):
        s = shift[q]
        for f in range(vol.shape[0]):
            if axis == 2:
                for r in range(vol.shape[1]):
                    a = vol[f, r, s:s + n]
                    b = vol[f, r, s + 1:s + 1 + n]
                    d = frac[q]
                    o = out[q, f, r]
                    for j in range(n):
                        o[j] = (1.0 - d[j]) * a[j] + d[j] * b[j]
            else:
                for i in range(out.shape[2]):
                    d = frac[q, i]
                    a = vol[f, s + i, bx:bx + n]
                    b = vol[f, s + i + 1, bx:bx + n]
                    o = out[q, f, i]
                    for j in range(n):
                        o[j] = (1.0 - d) * a[j] + d * b[j]


@numba.njit(cache=True, nogil=True)
def _compare_row(a, b, off, dr, centre, bx, bit, row):  # pragma: no cover - compiled
    """``row[j] += bit`` where ``(1 - dr) a[off + j] + dr b[off + j] - centre[bx + j] >= 0``."""
    dr1 = 1.0 - dr
    n = row.size
    a = a[off:off + n]
    b = b[off:off + n]
    c = centre[bx:bx + n]
    for j in range(n):
        row[j] += np.int32(bit) * np.int32(dr1 * a[j] + dr * b[j] - c[j] >= 0)


@numba.njit(cache=True, nogil=True)
def _codes_slice(vol, t, P, bt, by, bx, tabs, hx, vy, out):  # pragma: no cover - compiled
    """Codes of the three planes at interior time ``t`` into ``out[3, H', W']``.

    Bit for bit scikit-image's arithmetic: the value of a neighbour is ``(1 - dr) top + dr
    bottom`` with ``top = (1 - dc) a + dc b`` (``bottom`` likewise) and ``dr``, ``dc`` the
    fractions of the neighbour's position; the bit is set when ``value - centre >= 0``. The
    in-frame ``top`` / ``bottom`` values of neighbours with a fractional column offset are
    shared by many centres and taken from ``hx`` (x axis) and ``vy`` (y axis, for YT); with an
    integer offset they are pixels (the formula gives the pixel exactly). Loops run along
    rows of centres so that they vectorise.
    """
    (xy_r0, xy_r1, xy_dr, x_c0, x_c1, x_dc,
     t_r0, t_r1, t_dr, y_c0, y_c1, y_dc, xq, yq) = tabs[:14]
    H = out.shape[1]
    T0 = t + bt
    for i in range(H):
        y = i + by
        centre = vol[T0, y]
        out[:, i, :] = 0
        for p in range(P):
            bit = 1 << p
            # XY: image vol[T0], rows y, columns x
            r0 = xy_r0[i, p]
            r1 = xy_r1[i, p]
            if xq[p] < 0:
                _compare_row(vol[T0, r0], vol[T0, r1], x_c0[0, p], xy_dr[i, p], centre, bx,
                             bit, out[0, i])
            else:
                _compare_row(hx[xq[p], T0, r0], hx[xq[p], T0, r1], 0, xy_dr[i, p], centre, bx,
                             bit, out[0, i])
            # XT: image vol[:, y, :], rows t, columns x
            r0 = t_r0[t, p]
            r1 = t_r1[t, p]
            dr = t_dr[t, p]
            if xq[p] < 0:
                _compare_row(vol[r0, y], vol[r1, y], x_c0[0, p], dr, centre, bx, bit,
                             out[1, i])
            else:
                _compare_row(hx[xq[p], r0, y], hx[xq[p], r1, y], 0, dr, centre, bx, bit,
                             out[1, i])
            # YT: image vol[:, :, x], rows t, columns y
            if yq[p] < 0:
                yy = y_c0[i, p]
                _compare_row(vol[r0, yy], vol[r1, yy], bx, dr, centre, bx, bit, out[2, i])
            else:
                _compare_row(vy[yq[p], r0, i], vy[yq[p], r1, i], 0, dr, centre, bx, bit,
                             out[2, i])


@numba.njit(cache=True, nogil=True)
def _accumulate(codes, table, cell_of, cells):  # pragma: no cover - compiled
    """Add the binned codes of one interior time slice to ``cells[plane, row cell, col cell,
    bin]``. The cells are the common refinement of the block edges of every scale, so each code
    is counted once and the block histograms are sums of cells (``_cells_to_blocks``)."""
    for plane in range(3):
        for i in range(codes.shape[1]):
            ci = cell_of[i]
            for j in range(codes.shape[2]):
                cells[plane, ci, cell_of[j], table[codes[plane, i, j]]] += 1.0


@numba.njit(cache=True, nogil=True)
def _shared_rows(vol, by, bx, tabs):  # pragma: no cover - compiled
    """The ``hx`` / ``vy`` tables of ``_codes_slice`` for one clip."""
    xq_shift, xq_frac, yq_shift, yq_frac = tabs[14:]
    T, H, W = vol.shape
    hx = np.empty((xq_frac.shape[0], T, H, W - 2 * bx))
    vy = np.empty((yq_frac.shape[0], T, H - 2 * by, W - 2 * bx))
    _row_tables(vol, xq_shift, xq_frac, by, bx, 2, hx)
    _row_tables(vol, yq_shift, yq_frac, by, bx, 1, vy)
    return hx, vy


@numba.njit(cache=True, nogil=True)
def _clip_cells(vol, P, bt, by, bx, tabs, table, cell_of, cells, codes):  # pragma: no cover
    """Serial: all interior time slices of one clip into ``cells``."""
    hx, vy = _shared_rows(vol, by, bx, tabs)
    for t in range(vol.shape[0] - 2 * bt):
        _codes_slice(vol, t, P, bt, by, bx, tabs, hx, vy, codes)
        _accumulate(codes, table, cell_of, cells)


@numba.njit(cache=True, parallel=True)
def _batch_cells(vols, P, bt, by, bx, tabs, table, cell_of, n_cells,
                 nb):  # pragma: no cover - compiled
    """Many clips of one shape, parallel over clips."""
    n = vols.shape[0]
    H = vols.shape[2] - 2 * by
    W = vols.shape[3] - 2 * bx
    out = np.zeros((n, 3, n_cells, n_cells, nb))
    for c in numba.prange(n):
        codes = np.empty((3, H, W), dtype=np.int32)
        _clip_cells(vols[c], P, bt, by, bx, tabs, table, cell_of, out[c], codes)
    return out


@numba.njit(cache=True, parallel=True)
def _codes_volume(vol, P, bt, by, bx, tabs):  # pragma: no cover - compiled
    n_t = vol.shape[0] - 2 * bt
    H = vol.shape[1] - 2 * by
    W = vol.shape[2] - 2 * bx
    out = np.empty((3, n_t, H, W), dtype=np.int32)
    hx, vy = _shared_rows(vol, by, bx, tabs)
    for t in numba.prange(n_t):
        codes = np.empty((3, H, W), dtype=np.int32)
        _codes_slice(vol, t, P, bt, by, bx, tabs, hx, vy, codes)
        out[:, t] = codes
    return out


# ----------------------------------------------------------------------------------------------
# plans: everything that depends on the shape and parameters only


def _table_index(c0: np.ndarray, c1: np.ndarray, frac: np.ndarray):
    """Shared interpolation tables for the column offsets of the ``P`` neighbours.

    Returns ``index`` (per neighbour: -1 when its offset is an integer at every position, so
    the formula reads the pixel ``c0`` exactly; else the index of its table; neighbours with
    the same ``c0`` and fractions share one), and per table the floor shift (``c0[j] = shift +
    j``) and the fractions, contiguous.
    """
    n, P = c0.shape
    index = np.full(P, -1, dtype=np.int64)
    reps: list[int] = []
    for p in range(P):
        if np.all(frac[:, p] == 0):
            if not np.array_equal(c0[:, p] - np.arange(n), np.full(n, c0[0, p])):
                raise AssertionError("integer offset with a non-constant shift")
            continue
        if not (np.array_equal(c0[:, p] - np.arange(n), np.full(n, c0[0, p]))
                and np.array_equal(c1[:, p], c0[:, p] + 1)):
            raise AssertionError("fractional offset with irregular neighbours")
        for k, q in enumerate(reps):
            if np.array_equal(c0[:, p], c0[:, q]) and np.array_equal(frac[:, p], frac[:, q]):
                index[p] = k
                break
        else:
            index[p] = len(reps)
            reps.append(p)
    shift = np.array([c0[0, p] for p in reps], dtype=np.int64)
    fracs = np.ascontiguousarray(np.array([frac[:, p] for p in reps]).reshape(len(reps), n))
    return index, shift, fracs


class _Plan:
    """Precomputed index tables for one (shape, P, R, scales)."""

    def __init__(self, shape: tuple[int, int, int], P: int, R: tuple[float, float, float],
                 scales: tuple[int, ...]):
        T, H, W = shape
        Rx, Ry, Rt = R
        bx, by, bt = border(Rx), border(Ry), border(Rt)
        for name, size, b in (("frames", T, bt), ("rows", H, by), ("columns", W, bx)):
            if size < 2 * b + 1:
                fix = ("interpolate to more frames with TIM" if name == "frames"
                       else "resize the frames")
                raise ValueError(
                    f"the clip has {size} {name} but LBP-TOP with radius {b} needs at least "
                    f"{2 * b + 1} (2R+1): {fix} or use a smaller R"
                )
        self.shape, self.P, self.R, self.scales = shape, P, R, tuple(scales)
        self.bx, self.by, self.bt = bx, by, bt
        self.code_shape = (T - 2 * bt, H - 2 * by, W - 2 * bx)
        _, hc, wc = self.code_shape
        if hc != wc:
            raise ValueError(
                f"frames must be square after the border (got {H} x {W}): the authors' blocks "
                "cut a square code map; resize the frames to a square (e.g. 112 x 112)"
            )
        for n in scales:
            if n > hc:
                raise ValueError(f"scale {n} has more blocks than the {hc}-pixel code map")
        dr_y, dc_y = neighbour_offsets(P, Ry)
        dc_x = neighbour_offsets(P, Rx)[1]
        dr_t = neighbour_offsets(P, Rt)[0]  # time is always on the sine (row) axis
        self.tabs = (*_axis_tables(H, dr_y, by, H - by),   # XY rows: y
                     *_axis_tables(W, dc_x, bx, W - bx),   # XY and XT columns: x
                     *_axis_tables(T, dr_t, bt, T - bt),   # XT and YT rows: t
                     *_axis_tables(H, dc_y, by, H - by))   # YT columns: y
        # Column offsets (x for XY/XT, y for YT): integer ones read pixels (-1), fractional
        # ones get a shared interpolation table, one per distinct offset.
        tb = self.tabs
        xq, xq_shift, xq_frac = _table_index(tb[3], tb[4], tb[5])
        yq, yq_shift, yq_frac = _table_index(tb[9], tb[10], tb[11])
        self.tabs = (*tb, xq, yq, xq_shift, xq_frac, yq_shift, yq_frac)
        nb = P * (P - 1) + 3
        self.n_bins = nb
        side = hc
        # Cells: the common refinement of all scales' block edges along one axis.
        edges = np.unique(np.concatenate([layout.block_edges(n, side) for n in scales]))
        self.cell_of = (np.searchsorted(edges, np.arange(side), side="right") - 1).astype(
            np.int64)
        self.n_cells = len(edges) - 1
        self.table = _u2_table(P).copy()
        # assign[h, cr, cc] = 1 when cell (cr, cc) lies in the block of histogram h (per plane)
        rows = []  # (scale, block) pairs in vector order within a plane
        n_pixels = []
        self.hist_plane = []
        for n in scales:
            sizes = layout.block_sizes(n, side)
            block_edges = layout.block_edges(n, side)
            seg_block = np.searchsorted(block_edges, edges[:-1], side="right") - 1
            for plane in range(3):
                for k in range(n * n):
                    c, r = divmod(k, n)  # column-major
                    m = np.zeros((self.n_cells, self.n_cells))
                    m[np.ix_(seg_block == r, seg_block == c)] = 1.0
                    rows.append(m.ravel())
                    self.hist_plane.append(plane)
                    n_pixels.append(sizes[r] * sizes[c])
        self.assign = np.array(rows)  # (n_hist, n_cells**2)
        self.hist_plane = np.array(self.hist_plane)
        self.n_total = len(rows) * nb
        #: code count of every element's histogram (block pixels x interior frames)
        self.n_codes = np.repeat(np.array(n_pixels, dtype=np.float64), nb) * self.code_shape[0]


@lru_cache(maxsize=16)
def _plan(shape: tuple[int, int, int], P: int, R: tuple[float, float, float],
          scales: tuple[int, ...]) -> _Plan:
    return _Plan(shape, P, R, scales)


def _check_scales(scales) -> tuple[int, ...]:
    scales = tuple(int(n) for n in scales)
    if not scales or any(n < 1 for n in scales):
        raise ValueError(
            f"scales={scales!r}: give positive block counts per side, e.g. (1, 2, 4, 8)")
    return scales


def _check_volume(clip, what: str = "clip") -> np.ndarray:
    arr = np.asarray(clip)
    if arr.ndim != 3:
        raise ValueError(
            f"{what} must be a grey (T, H, W) array, got shape {arr.shape}; convert colour "
            "frames with tgsr_lib.features.video.to_grey first"
        )
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{what} must hold numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or inf")
    return arr


# ----------------------------------------------------------------------------------------------
# public API


def lbptop_codes(clip, P: int = P_DEFAULT, R=R_DEFAULT) -> np.ndarray:
    """LBP codes of the three planes on the interior of a clip.

    Parameters
    ----------
    clip : (T, H, W) array
        Grey video volume.
    P : int
        Neighbours per plane (8).
    R : float or (Rx, Ry, Rt)
        Radius in pixels / frames (3).

    Returns
    -------
    codes : (3, T - 2 bt, H - 2 by, W - 2 bx) int32 array
        Raw codes ``0 .. 2**P - 1`` of the XY, XT and YT planes (in that order) at every
        interior position, ``bt = ceil(Rt)`` etc. Map them to bins with :func:`u2_table`.

    References
    ----------
    Zhao & Pietikainen, IEEE TPAMI 29(6), 2007.
    """
    vol = _check_volume(clip)
    P = _check_P(P)
    R = _radii(R)
    plan = _plan(vol.shape, P, R, (1,))
    return _codes_volume(vol, P, plan.bt, plan.by, plan.bx, plan.tabs)


def multiscale_lbptop(clip, P: int = P_DEFAULT, R=R_DEFAULT,
                      scales: tuple[int, ...] = layout.SCALES) -> np.ndarray:
    """The authors' multi-scale LBP-TOP vector of one clip.

    Parameters
    ----------
    clip : (T, H, W) array
        Grey video volume, frames square (16 x 112 x 112 in the paper: resized with bicubic
        interpolation and interpolated to 16 frames with TIM, see :mod:`tgsr_lib.features.video`).
    P : int
        Neighbours per plane (8).
    R : float or (Rx, Ry, Rt)
        Radius in x, y and t (3).
    scales : tuple of int
        Blocks per side, concatenated in this order ((1, 2, 4, 8)).

    Returns
    -------
    features : (D,) float64 array
        ``D = n_bins(P) * 3 * sum(n**2)`` (15045 for the defaults) in the layout of
        :mod:`tgsr_lib.data.layout`: scales, then planes XY/XT/YT, then column-major blocks, each
        59-bin histogram normalised to sum 1 (the vector sums to 255 for the defaults).

    Raises
    ------
    ValueError
        For a clip that is not 3-D, not square, or shorter than ``2 R + 1`` in any axis.

    Notes
    -----
    Runs on the calling thread and releases the GIL, so a thread pool can parallelise over
    clips; :func:`multiscale_lbptop_batch` does that with numba threads for an array of clips.

    References
    ----------
    Zhao & Pietikainen, "Dynamic texture recognition using local binary patterns with an
    application to facial expressions", IEEE TPAMI 29(6), 2007.
    """
    vol = _check_volume(clip)
    P = _check_P(P)
    R = _radii(R)
    plan = _plan(vol.shape, P, R, _check_scales(scales))
    cells = np.zeros((1, 3, plan.n_cells, plan.n_cells, plan.n_bins))
    codes = np.empty((3, *plan.code_shape[1:]), dtype=np.int32)
    _clip_cells(vol, P, plan.bt, plan.by, plan.bx, plan.tabs, plan.table, plan.cell_of,
                cells[0], codes)
    return _normalise(_cells_to_blocks(cells[None], plan), plan)[0]


def multiscale_lbptop_batch(clips, P: int = P_DEFAULT, R=R_DEFAULT,
                            scales: tuple[int, ...] = layout.SCALES) -> np.ndarray:
    """:func:`multiscale_lbptop` of many clips of one shape, in parallel over clips.

    Parameters
    ----------
    clips : (N, T, H, W) array
        Grey clips.
    P, R, scales
        As in :func:`multiscale_lbptop`.

    Returns
    -------
    features : (N, D) float64 array
    """
    arr = np.asarray(clips)
    if arr.ndim != 4:
        raise ValueError(f"clips must be an (N, T, H, W) array, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("no clips")
    vols = _check_volume(arr.reshape(-1, *arr.shape[2:]), "clips").reshape(arr.shape)
    P = _check_P(P)
    R = _radii(R)
    plan = _plan(vols.shape[1:], P, R, _check_scales(scales))
    cells = _batch_cells(vols, P, plan.bt, plan.by, plan.bx, plan.tabs, plan.table,
                         plan.cell_of, plan.n_cells, plan.n_bins)
    return _normalise(_cells_to_blocks(cells, plan), plan)


def _cells_to_blocks(cells: np.ndarray, plan: _Plan) -> np.ndarray:
    """(N, 3, m, m, bins) cell counts -> (N, D) block counts in vector order."""
    n = cells.shape[0]
    flat = cells.reshape(n, 3, plan.n_cells * plan.n_cells, plan.n_bins)
    out = np.empty((n, len(plan.hist_plane), plan.n_bins))
    for plane in range(3):  # histogram h = sum of the cells of its block, in its plane
        h = plan.hist_plane == plane
        out[:, h] = plan.assign[h] @ flat[:, plane]
    return out.reshape(n, -1)


def _normalise(counts: np.ndarray, plan: _Plan) -> np.ndarray:
    """Divide each histogram by its number of codes (block pixels x interior frames)."""
    return counts / plan.n_codes


def histogram_counts(features: np.ndarray, shape: tuple[int, int, int] = (16, 112, 112),
                     P: int = P_DEFAULT, R=R_DEFAULT,
                     scales: tuple[int, ...] = layout.SCALES) -> np.ndarray:
    """Undo the normalisation: code counts per bin from a feature vector of a clip of ``shape``."""
    plan = _plan(tuple(shape), _check_P(P), _radii(R), _check_scales(scales))
    return np.asarray(features) * plan.n_codes
