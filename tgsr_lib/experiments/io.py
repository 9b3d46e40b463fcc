"""Files that a crash never leaves half-written: atomic writes, output checks, exact reads;
and the group files of ``tgsr grid --groups`` (:func:`read_groups_file`).

Every file the runner and the cache write (CSV, ``.csv.gz``, checkpoint) goes through
:func:`atomic_write`: the content is written to a temporary file in the same folder and
renamed over the target, so a crash, a full disk or Ctrl-C never leaves a truncated file. The
temporary file is created like an ordinary ``open(path, "w")`` would create it (mode
``0o666`` less the umask; an existing file's mode is kept), not with ``tempfile``'s ``0o600``.
"""

from __future__ import annotations

import gzip
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

#: File types of :func:`read_groups_file`.
GROUP_FILE_TYPES = (".npy", ".npz", ".txt", ".csv")


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


def read_groups_file(path: str | os.PathLike) -> np.ndarray:
    """One integer group id per feature, read from a ``.npy``, ``.npz`` (holding exactly one
    array), ``.txt`` or ``.csv`` file (ids separated by commas, spaces or new lines).

    Ids are any integers (they need not be contiguous or sorted; see
    :func:`tgsr_lib.model.groups.resolve_groups`); floats are accepted when they are whole
    numbers. Returns an int64 vector. Whether it has one id per feature is checked against the
    features later. A missing file raises ``FileNotFoundError``; an unreadable file,
    non-integer ids or an array that is not a vector raise ``ValueError`` naming the file.
    """
    path = Path(path)
    usage = ("give a .npy, .npz (one array), .txt or .csv file with one integer group id per "
             "feature")
    if not path.is_file():
        if path.is_dir():
            raise ValueError(f"groups file {path} is a folder: {usage}")
        raise FileNotFoundError(f"groups file {path} does not exist: {usage}")
    suffix = path.suffix.lower()
    if suffix not in GROUP_FILE_TYPES:
        raise ValueError(f"{path}: unsupported groups file type {suffix!r}: {usage}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the groups file is empty (0 bytes): {usage}")
    if suffix in (".txt", ".csv"):
        return _groups_from_text(path, usage)
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as z:
                if len(z.files) != 1:
                    raise _OneArray(f"{path}: the .npz file holds {len(z.files)} arrays "
                                    f"({', '.join(z.files) or 'none'}); save exactly one, the "
                                    "group id of every feature")
                arr = z[z.files[0]]
    except PermissionError:
        raise
    except _OneArray as err:
        raise ValueError(str(err)) from None
    except Exception as err:  # truncated or corrupt files fail in many ways
        raise ValueError(f"{path}: not a readable {suffix} groups file ({type(err).__name__}: "
                         f"{err}); {usage}") from None
    return _group_ids(arr, path, usage)


class _OneArray(Exception):
    pass


def _groups_from_text(path: Path, usage: str) -> np.ndarray:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file: {usage}") from None
    tokens = [t for t in re.split(r"[\s,;]+", text.strip()) if t]
    values = []
    for i, token in enumerate(tokens):
        try:
            value = float(token)
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or value != round(value):
            raise ValueError(f"{path}: entry {i + 1} ({token[:20]!r}) is not an integer group "
                             f"id: {usage}")
        number = int(token) if re.fullmatch(r"[+-]?\d+", token) else int(value)
        if abs(number) >= 2**63:
            raise ValueError(f"{path}: entry {i + 1} ({token[:20]!r}) is too large for a group "
                             "id: number the groups with small integers")
        values.append(number)
    return _group_ids(np.array(values, dtype=np.int64), path, usage)


def _group_ids(arr: np.ndarray, path: Path, usage: str) -> np.ndarray:
    """The int64 vector of a groups array, or a ValueError naming the file."""
    arr = np.asarray(arr)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()  # a row or column vector (MATLAB, pandas)
    if arr.ndim != 1:
        raise ValueError(f"{path}: the group ids must be a vector, one per feature, got an "
                         f"array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{path}: no group id in the file: {usage}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{path}: entry {i + 1} ({arr[i].item()!r}) is not an integer "
                             f"group id: {usage}")
        return arr.astype(np.int64)
    raise ValueError(f"{path}: group ids must be integers, not {arr.dtype}: {usage}")
