"""What a grid run tells its user on stderr: its size, a resume notice and its progress.

Three modes, chosen by ``progress``:

* ``None`` (default): a tqdm bar when stderr is a terminal; otherwise (a log file, a batch
  job, a notebook) plain lines, one every ``every`` seconds and one at the end, e.g.
  ``grid SMIC_VIS -> SMIC_NIR (authors): 1,200/23,460 points (5.1%), 118.2 fits/s, ETA 3 min``;
* ``True``: always a tqdm bar (``tqdm.auto``: a widget in notebooks);
* ``False``: silent.

Unless silent, a run starts with its size and a rough duration (from :data:`RATE_TIMES_SOURCE`)
and, when it resumes from a checkpoint, says how many points it starts from.
"""

from __future__ import annotations

import sys
import time

#: Seconds between two plain progress lines.
PROGRESS_EVERY = 30.0

#: Rough grid speed of each engine: fits per second times the number of source samples (the
#: cost of a fit grows with them), from the fast and reference engines' measured speed on the
#: project's 2-core machine (README, "Engines and speed"); the GPU figure is a guess.
RATE_TIMES_SOURCE = {"fast": 8_000.0, "reference": 350.0, "gpu": 80_000.0}


def estimated_rate(engine: str, n_source: int) -> float:
    """A rough fits/s figure of ``engine`` for a source of ``n_source`` samples."""
    return RATE_TIMES_SOURCE.get(engine, RATE_TIMES_SOURCE["fast"]) / max(int(n_source), 1)


def format_duration(seconds: float) -> str:
    """``"under 1 s"``, ``"45 s"``, ``"12 min"``, ``"3.4 h"``, ``"2.1 days"``."""
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def size_estimate(n_points: int, engine: str, n_source: int) -> str:
    """``"estimated time 3 min at a rough 113 fits/s"`` for ``n_points`` fits."""
    rate = estimated_rate(engine, n_source)
    return f"estimated time {format_duration(n_points / rate)} at a rough {rate:,.0f} fits/s"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Progress:
    """Progress of one grid run (see the module docstring for the modes).

    Parameters
    ----------
    total : points in the grid; initial : points already finished (resumed).
    progress : None (bar on a terminal, else lines), True (bar) or False (silent).
    desc : the run's name at the start of every line.
    every : seconds between plain lines (0: a line after every update).
    """

    def __init__(self, total: int, initial: int, progress: bool | None, desc: str,
                 every: float = PROGRESS_EVERY):
        self.total = int(total)
        self.initial = int(initial)
        self.done = int(initial)
        self.desc = desc
        self.every = float(every)
        if progress is False:
            self.mode = "off"
        elif progress is None and not _isatty():
            self.mode = "lines"
        else:
            self.mode = "bar"
        self.bar = None
        self.t0 = self.last = time.monotonic()

    def start(self, engine: str, n_source: int, checkpoint=None) -> None:
        """Say the run's size and rough duration and whether it resumes; open the bar."""
        if self.mode == "off":
            return
        todo = self.total - self.initial
        _say(f"{self.desc}: {self.total:,} points, {size_estimate(todo, engine, n_source)} "
             f"({engine} engine)")
        if self.initial:
            _say(f"{self.desc}: resuming from {self.initial:,} of {self.total:,} points "
                 f"({checkpoint}); {todo:,} left")
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, initial=self.initial, desc=self.desc, unit="fit",
                            smoothing=0.05, file=sys.stderr)
        self.t0 = self.last = time.monotonic()

    def update(self, n: int) -> None:
        """``n`` more points finished."""
        self.done += int(n)
        if self.bar is not None:
            self.bar.update(n)
        elif self.mode == "lines":
            now = time.monotonic()
            if now - self.last >= self.every and self.done < self.total:
                self.last = now
                _say(self._line(now))

    def _rate(self, now: float) -> float:
        elapsed = max(now - self.t0, 1e-9)
        return (self.done - self.initial) / elapsed

    def _line(self, now: float) -> str:
        rate = self._rate(now)
        eta = format_duration((self.total - self.done) / rate) if rate > 0 else "unknown"
        return (f"{self.desc}: {self.done:,}/{self.total:,} points "
                f"({100 * self.done / max(self.total, 1):.1f}%), {rate:.1f} fits/s, ETA {eta}")

    def close(self, ok: bool = True) -> None:
        """Close the bar; in plain mode, a last line (finished, or where the run stopped)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.mode != "lines":
            return
        now = time.monotonic()
        computed = self.done - self.initial
        if ok:
            _say(f"{self.desc}: {self.done:,}/{self.total:,} points, {computed:,} computed in "
                 f"{format_duration(now - self.t0)} ({self._rate(now):.1f} fits/s)")
        else:
            _say(f"{self.desc}: stopped at {self.done:,}/{self.total:,} points")


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False
