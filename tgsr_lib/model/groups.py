"""Feature groups: which columns of the feature matrix form each group ("facial region").

TGSR's sparsity is over groups of features. :func:`resolve_groups` turns what a user gives
into one :class:`GroupLayout` that the estimator and the grid engines share:

* ``None`` or ``"authors"``: the authors' 85 consecutive chunks of 177 dimensions of the
  15,045-dimensional LBP-TOP vector (reproduces their numbers);
* ``"blocks"``: the 85 true facial blocks of the same vector (see :mod:`tgsr_lib.data.layout`);
* ``"features"``: every feature its own group (any dimension; the l2,1 penalty then selects
  single features);
* a 1-D integer array with one group id per feature (any number of groups, any sizes, any
  feature dimension; ids need not be contiguous or sorted);
* a 2-D integer array whose row ``i`` lists the columns of group ``i`` (as
  :func:`tgsr_lib.data.layout.groups` returns), a partition of the columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgsr_lib.data import layout


@dataclass(frozen=True, eq=False)
class GroupLayout:
    """Groups of a feature matrix with ``n_features`` columns.

    Attributes
    ----------
    order : (n_features,) the columns, group by group: group 0's columns first.
    sizes : (n_groups,) the number of columns of each group.
    ids : (n_groups,) the group id the user gave for each group (``0..K-1`` for names).
    name : the grouping's name, or ``"custom"``.
    """

    order: np.ndarray
    sizes: np.ndarray
    ids: np.ndarray
    name: str

    @property
    def n_groups(self) -> int:
        return int(self.sizes.size)

    @property
    def n_features(self) -> int:
        return int(self.order.size)

    @property
    def offsets(self) -> np.ndarray:
        """``(n_groups + 1,)``: group ``i`` is ``order[offsets[i]:offsets[i + 1]]``."""
        return np.concatenate([[0], np.cumsum(self.sizes)])

    @property
    def max_size(self) -> int:
        return int(self.sizes.max())

    def members(self, i: int) -> np.ndarray:
        """The columns of group ``i``."""
        o = self.offsets
        return self.order[o[i]:o[i + 1]]

    def group_of_feature(self) -> np.ndarray:
        """``(n_features,)``: the group index (0..K-1) of every column."""
        out = np.empty(self.n_features, dtype=np.int64)
        out[self.order] = np.repeat(np.arange(self.n_groups), self.sizes)
        return out

    def key(self) -> bytes:
        """Bytes that identify the layout (for cache keys)."""
        return self.order.astype(np.int64).tobytes() + self.sizes.astype(np.int64).tobytes()


def resolve_groups(groups, n_features: int) -> GroupLayout:
    """The :class:`GroupLayout` of ``groups`` (see the module docstring) for ``n_features``
    columns, with a clear error when they do not fit together."""
    if isinstance(groups, str) and groups == "features":
        return GroupLayout(np.arange(n_features), np.ones(n_features, dtype=np.int64),
                           np.arange(n_features), "features")
    if groups is None or isinstance(groups, str):
        name = "authors" if groups is None else groups
        if name not in layout.GROUPINGS:
            raise ValueError(f"unknown grouping {name!r}: use one of "
                             f"{(*layout.GROUPINGS, 'features')}, or an integer array with one "
                             "group id per feature")
        if n_features != layout.FEATURE_DIM:
            raise ValueError(
                f"the {name!r} grouping is for the authors' {layout.FEATURE_DIM}-dimensional "
                f"LBP-TOP features, but the features have {n_features} columns: give groups= "
                "an integer array with one group id per feature")
        table = layout.groups(name)
        return GroupLayout(np.ascontiguousarray(table.ravel()),
                           np.full(table.shape[0], table.shape[1], dtype=np.int64),
                           np.arange(table.shape[0]), name)
    arr = np.asarray(groups)
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and arr.size
                                           and np.all(np.isfinite(arr))
                                           and np.all(arr == np.round(arr))):
        raise ValueError(f"groups must be integer group ids (one per feature), got dtype "
                         f"{arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.ndim == 1:
        if arr.size != n_features:
            raise ValueError(f"groups has {arr.size} entries but the features have {n_features} "
                             "columns: give one group id per feature")
        ids, inverse = np.unique(arr, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        sizes = np.bincount(inverse, minlength=ids.size)
        return GroupLayout(order, sizes.astype(np.int64), ids, "custom")
    if arr.ndim == 2:
        flat = arr.ravel()
        if flat.size != n_features or not np.array_equal(np.sort(flat), np.arange(n_features)):
            raise ValueError(f"a 2-D groups array lists the columns of each group and must "
                             f"cover the {n_features} columns exactly once")
        return GroupLayout(flat, np.full(arr.shape[0], arr.shape[1], dtype=np.int64),
                           np.arange(arr.shape[0]), "custom")
    raise ValueError(f"groups must be a grouping name, one group id per feature (1-D) or the "
                     f"columns of each group (2-D), got shape {arr.shape}")
