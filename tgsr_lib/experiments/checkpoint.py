"""Checkpoints of a grid run: finished points saved next to the output, resumed on a rerun.

The runner records every finished point here; the file ``OUT.partial.npz`` is rewritten
atomically at most every ``every`` seconds and once more when the run stops for any reason
(Ctrl-C, an engine or worker error, a full disk while writing the result). A rerun with the
same inputs (the same :func:`~tgsr_lib.experiments.keys.fingerprint`) starts from the saved
points; a checkpoint of other inputs, or an unreadable one, is ignored. So is a checkpoint
written before the grids had their ``uar`` and ``f1_<class>`` columns (it lacks those arrays):
its points are computed again.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tgsr_lib.experiments.io import atomic_write

SUFFIX = ".partial.npz"


def checkpoint_path(out: str | Path) -> Path:
    """The checkpoint file of the output ``out``: ``OUT.partial.npz``."""
    out = Path(out)
    return out.with_name(out.name + SUFFIX)


class Checkpoint:
    """Finished points of one grid (in memory), saved atomically next to the output.

    Parameters
    ----------
    out : the output file (None: nothing is saved, the points are only kept in memory).
    key : the grid's fingerprint; a saved checkpoint with another key is ignored.
    n_points : points in the grid.
    every : seconds between saves while points finish (0: after every update).
    n_classes : classes with a per-class F1 column (``f1_class`` has one column each).
    """

    #: The arrays saved, one entry per point each.
    ARRAYS = ("done", "acc", "f1", "uar", "f1_class", "n_iter", "converged")

    def __init__(self, out: Path | None, key: str, n_points: int, every: float = 20.0,
                 n_classes: int = 0):
        self.path = None if out is None else checkpoint_path(out)
        self.key = key
        self.every = float(every)
        self.done = np.zeros(n_points, dtype=bool)
        self.acc = np.zeros(n_points)
        self.f1 = np.zeros(n_points)
        self.uar = np.zeros(n_points)
        self.f1_class = np.zeros((n_points, n_classes))
        self.n_iter = np.zeros(n_points, dtype=np.int64)
        self.converged = np.zeros(n_points, dtype=bool)
        self.last = time.monotonic()
        self.resumed = 0
        if self.path is not None and self.path.is_file():
            self._load(n_points)

    def _load(self, n_points: int) -> None:
        try:
            with np.load(self.path, allow_pickle=False) as z:
                if (str(z["key"]) != self.key or z["done"].size != n_points
                        or any(name not in z.files for name in self.ARRAYS)
                        or z["f1_class"].shape != self.f1_class.shape):
                    return  # other inputs, or written before the uar/per-class columns
                arrays = {name: z[name].copy() for name in self.ARRAYS}
        except Exception:  # unreadable (truncated, not a zip...): start afresh
            return
        for name, value in arrays.items():
            setattr(self, name, value)
        self.resumed = int(self.done.sum())

    @property
    def n_done(self) -> int:
        """Points finished so far (resumed ones included)."""
        return int(self.done.sum())

    def record(self, idx, acc, f1, uar, f1_class, n_iter, converged) -> None:
        """Store finished points ``idx`` (``f1_class``: one row per point, one column per
        class); save when ``every`` seconds have passed."""
        self.done[idx] = True
        self.acc[idx] = acc
        self.f1[idx] = f1
        self.uar[idx] = uar
        self.f1_class[idx] = f1_class
        self.n_iter[idx] = n_iter
        self.converged[idx] = converged
        if self.path is not None and time.monotonic() - self.last >= self.every:
            self.save()

    def save(self) -> Path | None:
        """Write the finished points (nothing when there are none or no output); returns
        the checkpoint path when written."""
        if self.path is None or not self.done.any():
            return None

        def write(tmp):
            with open(tmp, "wb") as fh:
                np.savez(fh, key=np.array(self.key),
                         **{name: getattr(self, name) for name in self.ARRAYS})

        atomic_write(self.path, write)
        self.last = time.monotonic()
        return self.path

    def save_after_error(self) -> str:
        """Save after a failed run, never raising; returns a sentence for the error message
        (where the finished points are, or why they could not be saved)."""
        n, total = self.n_done, self.done.size
        if self.path is None:
            return (f"{n:,} of {total:,} points were finished; without an output file "
                    "nothing is checkpointed")
        if n == 0:
            return "no point was finished, nothing is checkpointed"
        try:
            self.save()
        except Exception as err:  # e.g. the same full disk
            return (f"the {n:,} finished points could not be checkpointed to {self.path} "
                    f"({_reason(err)})")
        return (f"{n:,} of {total:,} finished points are checkpointed in {self.path}: rerun "
                "the same command to resume")

    def remove(self) -> None:
        """Delete the checkpoint file (after the output is written)."""
        if self.path is not None and self.path.exists():
            self.path.unlink()


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return f"{type(err).__name__}: {err}"
