"""The layout of the authors' 15045-dimensional multi-scale LBP-TOP vector.

Established from the data (notebook ``01_features``; the project's facts page
``book/facts.md``, section "The feature vector", says how):

* scales ``n = 1, 2, 4, 8`` (``n x n`` spatial blocks) are concatenated in that order;
* within a scale the vector is plane-major: all XY histograms, then all XT, then all YT;
* within a plane the blocks are in column-major order, block index ``k = c * n + r``
  (``r`` = row, ``c`` = column, block 0 top-left);
* every histogram has 59 "u2" bins and is normalised to sum 1.

The exact pixel-count identity (the whole-face histogram equals the pixel-weighted sum of the
block histograms at every scale) fixes the scales, the planes and the block sizes, but not the
block order: the block-size pattern is the same along rows and columns. The block order comes
from the mirror-symmetry test (:func:`mirror_symmetry_test`): faces are roughly left-right
symmetric, so a block's histogram resembles that of its left-right mirror block once the bins
are permuted as an x-flip permutes LBP codes (:func:`mirror_bin_permutation`); the pairs are
mirror blocks only when the vector is read in the right order.

The LBP codes of a 16 x 112 x 112 clip with radius 3 exist on the 106 x 106 x 10 interior;
scale ``n`` cuts the 106 x 106 map into blocks of ``round(106 / n)`` pixels (MATLAB rounding),
the last block taking the remainder.

Two groupings of the 15045 dimensions into 85 groups of 177 are offered:

``"authors"``
    85 consecutive chunks of 177 dimensions, as the authors' solver does. Only chunk 0 is a
    facial region (the whole face); chunk ``j > 0`` holds three consecutive (plane, block)
    histograms. Needed to reproduce the released numbers.
``"blocks"``
    group ``b`` = the XY, XT and YT histograms of true facial block ``b`` (1 + 4 + 16 + 64 = 85
    blocks), a column permutation of the same features.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

N_BINS = 59
SCALES = (1, 2, 4, 8)
PLANES = ("XY", "XT", "YT")
FEATURE_DIM = N_BINS * len(PLANES) * sum(n * n for n in SCALES)  # 15045
N_GROUPS = sum(n * n for n in SCALES)  # 85
GROUP_DIM = FEATURE_DIM // N_GROUPS  # 177
GROUPINGS = ("authors", "blocks")
#: The two ways to number the ``n x n`` blocks of one scale and plane.
BLOCK_ORDERS = ("column-major", "row-major")

#: Side of the LBP code map of a 112 x 112 frame with radius 3 (3-pixel border removed).
CODE_MAP_SIDE = 106


def matlab_round(x: float) -> int:
    """Round half away from zero, as MATLAB's ``round``."""
    return int(np.sign(x) * np.floor(abs(x) + 0.5))


def block_sizes(n: int, side: int = CODE_MAP_SIDE) -> list[int]:
    """Sizes of the ``n`` blocks cutting ``side`` pixels: ``round(side / n)`` each, the last
    block takes the remainder (``n=4``: 27, 27, 27, 25; ``n=8``: seven of 13, then 15)."""
    if n < 1 or n > side:
        raise ValueError(f"cannot cut {side} pixels into {n} blocks")
    step = matlab_round(side / n)
    sizes = [step] * (n - 1) + [side - step * (n - 1)]
    if sizes[-1] <= 0:
        raise ValueError(f"cannot cut {side} pixels into {n} blocks of {step}")
    return sizes


def block_edges(n: int, side: int = CODE_MAP_SIDE) -> np.ndarray:
    """Pixel edges ``[0, e1, ..., side]`` of the ``n`` blocks along one axis."""
    return np.concatenate([[0], np.cumsum(block_sizes(n, side))])


@cache
def _histogram_table() -> pd.DataFrame:
    rows = []
    offset = 0
    for n in SCALES:
        sizes = block_sizes(n)
        for p, plane in enumerate(PLANES):
            for k in range(n * n):
                c, r = divmod(k, n)  # column-major: k = c * n + r
                rows.append(
                    dict(scale=n, plane=plane, plane_index=p, block=k, row=r, col=c,
                         offset=offset, n_pixels=sizes[r] * sizes[c])
                )
                offset += N_BINS
    assert offset == FEATURE_DIM
    table = pd.DataFrame(rows)
    table.index.name = "histogram"
    return table


def histogram_table() -> pd.DataFrame:
    """One row per 59-bin histogram (255 rows) in vector order.

    Columns: ``scale``, ``plane``, ``plane_index``, ``block`` (column-major index within the
    scale), ``row``, ``col``, ``offset`` (first dimension in the 15045 vector) and ``n_pixels``
    (code-map pixels of the block, before the 10 time positions).
    """
    return _histogram_table().copy()


@cache
def _groups(grouping: str) -> np.ndarray:
    if grouping == "authors":
        return np.arange(FEATURE_DIM).reshape(N_GROUPS, GROUP_DIM)
    table = _histogram_table()
    groups = []
    for n in SCALES:
        for k in range(n * n):
            sel = table[(table.scale == n) & (table.block == k)].sort_values("plane_index")
            groups.append(np.concatenate([np.arange(o, o + N_BINS) for o in sel.offset]))
    return np.array(groups)


def check_grouping(grouping: str) -> str:
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}: use one of {GROUPINGS}")
    return grouping


def groups(grouping: str = "authors") -> np.ndarray:
    """Column indices of the 85 groups, shape ``(85, 177)``; row ``i`` = group ``i``."""
    g = _groups(check_grouping(grouping))
    g = g.copy()
    g.flags.writeable = False
    return g


def group_contents(grouping: str = "authors") -> pd.DataFrame:
    """Which (scale, plane, block) histograms each group holds.

    One row per (group, histogram) pair: ``group``, ``histogram`` and the columns of
    :func:`histogram_table`. Each group holds three whole histograms under both groupings.
    """
    table = _histogram_table()
    g = groups(grouping)
    rows = []
    for i in range(N_GROUPS):
        hist_ids = np.unique(g[i] // N_BINS)
        for h in hist_ids:
            rows.append(dict(group=i, histogram=int(h), **table.loc[h].to_dict()))
    return pd.DataFrame(rows)


def block_rectangle(scale: int, block: int, frame_side: int = 112,
                    border: int = 3) -> tuple[int, int, int, int]:
    """Pixel rectangle ``(top, left, height, width)`` of a block in the 112 x 112 frame."""
    edges = block_edges(scale)
    c, r = divmod(block, scale)
    return (border + int(edges[r]), border + int(edges[c]),
            int(edges[r + 1] - edges[r]), int(edges[c + 1] - edges[c]))


def block_position(block: int, n: int, order: str = "column-major") -> tuple[int, int]:
    """``(row, column)`` of block index ``block`` in an ``n x n`` grid numbered in ``order``
    (``"column-major"``: ``k = c * n + r``, the authors' order; ``"row-major"``: ``k = r * n
    + c``)."""
    if order not in BLOCK_ORDERS:
        raise ValueError(f"unknown block order {order!r}: use one of {BLOCK_ORDERS}")
    if not 0 <= block < n * n:
        raise ValueError(f"block {block} is outside the {n} x {n} grid (0..{n * n - 1})")
    c, r = divmod(block, n)
    return (r, c) if order == "column-major" else (c, r)


def block_index(row: int, col: int, n: int, order: str = "column-major") -> int:
    """Block index of ``(row, col)`` in an ``n x n`` grid numbered in ``order`` (inverse of
    :func:`block_position`)."""
    if order not in BLOCK_ORDERS:
        raise ValueError(f"unknown block order {order!r}: use one of {BLOCK_ORDERS}")
    return col * n + row if order == "column-major" else row * n + col


def mirror_bin_permutation(plane: str) -> np.ndarray:
    """How a left-right flip of the clip permutes the 59 u2 bins of one plane.

    Neighbour ``p`` sits at ``(-R sin(2 pi p / 8), +R cos(2 pi p / 8))`` (row, column) of the
    plane image. Flipping x negates the column offset of the XY and XT planes (x is their
    column axis), which sends neighbour ``p`` to ``(4 - p) mod 8``; the YT plane has no x axis
    and keeps its codes. A flip keeps uniform codes uniform, so the map is a permutation of the
    bins: ``perm[b]`` is the bin that code bin ``b`` becomes, and ``hist_flipped[perm] ==
    hist`` for the histogram of a region and of its mirror image. It is an involution.
    """
    from tgsr_lib.features.lbptop import u2_table  # lbptop imports this module

    if plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}: use one of {PLANES}")
    table = u2_table(8)
    if plane == "YT":
        return np.arange(N_BINS)
    codes = np.arange(256)
    flipped = np.zeros_like(codes)
    for p in range(8):
        flipped |= ((codes >> p) & 1) << ((4 - p) % 8)
    perm = np.empty(N_BINS, dtype=np.int64)
    perm[table] = table[flipped]  # every non-uniform code goes to bin 58 and stays there
    return perm


def mirror_correlation(X: np.ndarray, scale: int, plane: str,
                       order: str = "column-major") -> np.ndarray:
    """Per sample: how much the histograms of left-right mirror blocks agree when the
    vector's blocks are read in ``order``.

    For each sample, the ``n x n`` histograms of one scale and plane have their mean over the
    blocks removed (what all blocks share); block ``(r, c)`` with ``c < n - 1 - c`` is paired
    with its mirror block ``(r, n - 1 - c)``, whose histogram is permuted by
    :func:`mirror_bin_permutation`; the result is the Pearson correlation of the two stacked
    sets of histograms. Near +1: mirror blocks look alike (the order is right, the faces are
    symmetric); near 0 or negative: the pairs are not mirror blocks.

    Parameters
    ----------
    X : (N, 15045) features in the authors' layout.
    scale : 2, 4 or 8 (scale 1 has no block pairs).
    plane : "XY", "XT" or "YT".
    order : a block order of :data:`BLOCK_ORDERS`, the one the vector is read in.

    Returns
    -------
    (N,) correlations.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != FEATURE_DIM:
        raise ValueError(f"X must be (N, {FEATURE_DIM}) features in the authors' layout, got "
                         f"shape {X.shape}")
    if scale not in SCALES or scale == 1:
        raise ValueError(f"scale {scale!r} has no mirror pairs: use one of {SCALES[1:]}")
    perm = mirror_bin_permutation(plane)  # also checks the plane
    if order not in BLOCK_ORDERS:
        raise ValueError(f"unknown block order {order!r}: use one of {BLOCK_ORDERS}")
    table = _histogram_table()
    offsets = table[(table.scale == scale) & (table.plane == plane)].sort_values("block").offset
    H = X[:, offsets.to_numpy()[:, None] + np.arange(N_BINS)]  # (N, n*n, 59)
    H = H - H.mean(axis=1, keepdims=True)
    n = scale
    left, right = [], []
    for k in range(n * n):
        r, c = block_position(k, n, order)
        if c < n - 1 - c:
            left.append(k)
            right.append(block_index(r, n - 1 - c, n, order))
    a = H[:, left, :].reshape(len(X), -1)
    b = H[:, right, :][:, :, perm].reshape(len(X), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1.0), 0.0)


def mirror_symmetry_test(X: np.ndarray, scales=(2, 4, 8), planes=PLANES) -> pd.DataFrame:
    """The mirror-symmetry test of the block order on one database's features.

    One row per (scale, plane): the median over samples of :func:`mirror_correlation` with the
    blocks read column-major and read row-major, and ``share_column_higher``, the share of
    samples whose column-major correlation exceeds the row-major one. The order under which
    mirror blocks agree is the vector's order;
    :func:`tgsr_lib.report.figures_findings.block_order_finding` states the verdict.
    """
    rows = []
    for n in scales:
        for plane in planes:
            col = mirror_correlation(X, n, plane, "column-major")
            row = mirror_correlation(X, n, plane, "row-major")
            rows.append(dict(scale=n, plane=plane,
                             median_column_major=float(np.median(col)),
                             median_row_major=float(np.median(row)),
                             share_column_higher=float(np.mean(col > row))))
    return pd.DataFrame(rows)
