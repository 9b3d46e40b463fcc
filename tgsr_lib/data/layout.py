"""The layout of the authors' 15045-dimensional multi-scale LBP-TOP vector.

Established from exact pixel counts (see ``REFERENCE.md`` section 2 and notebook 01):

* scales ``n = 1, 2, 4, 8`` (``n x n`` spatial blocks) are concatenated in that order;
* within a scale the vector is plane-major: all XY histograms, then all XT, then all YT;
* within a plane the blocks are in column-major order, block index ``k = c * n + r``
  (``r`` = row, ``c`` = column, block 0 top-left);
* every histogram has 59 "u2" bins and is normalised to sum 1.

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
