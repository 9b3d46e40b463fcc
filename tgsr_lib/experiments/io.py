"""Files that a crash never leaves half-written: atomic writes, output checks, exact reads.

Every file the runner and the cache write (CSV, ``.csv.gz``, checkpoint) goes through
:func:`atomic_write`: the content is written to a temporary file in the same folder and
renamed over the target, so a crash, a full disk or Ctrl-C never leaves a truncated file. The
temporary file is created like an ordinary ``open(path, "w")`` would create it (mode
``0o666`` less the umask; an existing file's mode is kept), not with ``tempfile``'s ``0o600``.
"""

from __future__ import annotations

import gzip
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def _create_temp(path: Path) -> Path:
    """A new, empty temporary file beside ``path`` with the mode ``open()`` would give."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {path}")


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write ``path`` through ``write(tmp)`` on a temporary file, then rename it over ``path``.

    The folder is created if needed. The file gets the mode an ordinary ``open()`` would give
    (an existing file's mode, else ``0o666`` less the umask). On any error the temporary file
    is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path)
    try:
        write(str(tmp))
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)  # an overwrite keeps the mode
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    except BaseException as err:
        if tmp.exists():
            tmp.unlink()
        if isinstance(err, OSError) and err.errno is not None and err.filename == str(tmp):
            raise type(err)(err.errno, err.strerror, str(path)) from None  # name the target
        raise


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a CSV (gzip-compressed for a ``.gz`` name) so that a crash never leaves a
    truncated file at ``path``. Equal frames give byte-identical files (the gzip header holds
    no time and no file name)."""
    path = Path(path)

    def write(tmp: str) -> None:
        if path.suffix != ".gz":
            df.to_csv(tmp, index=False)
            return
        data = gzip.compress(df.to_csv(index=False).encode(), compresslevel=9, mtime=0)
        with open(tmp, "wb") as fh:
            fh.write(data)

    atomic_write(path, write)


def check_writable(out: str | os.PathLike) -> Path:
    """Check that a file can be written at ``out`` before any work starts; returns it as a Path.

    ``out`` must name a file: an existing folder or a name ending in ``/`` is refused (the
    runner never guesses a file name inside a folder), and its folder must exist and be
    writable.
    """
    raw = os.fspath(out)
    if not raw:
        raise ValueError("the output file name is empty: give a file name like grid.csv")
    path = Path(raw)
    if raw.endswith(("/", os.sep)) or path.is_dir():
        raise ValueError(f"cannot write {raw}: it is a folder, give a file name like "
                         f"{path / 'grid.csv'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"cannot write {path}: folder {folder} does not exist (create it "
                         "first)")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write {path}: folder {folder} is not writable")
    return path


def read_grid(path: str | os.PathLike) -> pd.DataFrame:
    """Read a grid CSV (plain or .gz) with exact round-trip floats."""
    if int(pd.__version__.split(".")[0]) >= 3:  # pandas 3 parses floats exactly by default
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")
