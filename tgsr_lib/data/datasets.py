"""The authors' released files: LBP-TOP features and recorded (kappa, xi) grids.

Files are fetched with :mod:`pooch` from the authors' public repository and checked by
sha256. Set ``TGSR_DATA_DIR`` to a local copy with the repository's relative paths (for
example a mirror used in CI) and nothing is downloaded; the copy is still hash-checked.
``TGSR_CACHE_DIR`` moves the download cache.

The SMIC-HS feature file was never published. Users who have it (or who extract it from the
licensed videos with ``tgsr extract``) put it at ``$TGSR_DATA_DIR/data/3class/
CrossCorpus_LBPTOP_R3P8_SMIC_HS_112by112.mat`` or point ``TGSR_SMIC_HS_FEATURES`` at it.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tgsr_lib.data.protocols import DATABASES

BASE_URL = "https://raw.githubusercontent.com/jiangxingxun/Seeking_Salient_Facial_Region/main/"
REPOSITORY = "https://github.com/jiangxingxun/Seeking_Salient_Facial_Region"

#: relative path in the authors' repository -> sha256
REGISTRY = {
    "data/3class/CrossCorpus_LBPTOP_R3P8_CASME2_112by112.mat":
        "632a656ccba4990cf83acb57bcaa6d92b410279848cfafe8f3191c473f98f3fa",
    "data/3class/CrossCorpus_LBPTOP_R3P8_SMIC_VIS_112by112.mat":
        "a3fc2efd6cffda6f81ae3d189675a5177671f9103a4a992db9ef133eb02ceef1",
    "data/3class/CrossCorpus_LBPTOP_R3P8_SMIC_NIR_112by112.mat":
        "77c4d6c0badeb47ffcb044215c123c2a8f6ba8d9b93514d3cee7eed43278bf2b",
    "Acc/3class/Acc_record_3class_SMIC_VIS_SMIC_NIR_feature_LBPTOP_R3P8.mat":
        "1505e5bddc30dd9fb03e9fbee0f9c44882032d448d2b6129df37b5e088f460b0",
    "Acc/3class/Acc_record_3class_SMIC_NIR_SMIC_VIS_feature_LBPTOP_R3P8.mat":
        "ccdaa5b510be1d192fa90c3c22ea88926a56aaf43bfe4fc56e572c0d9a6179bc",
    "Acc/3class/Acc_record_3class_SMIC_HS_SMIC_VIS_feature_LBPTOP_R3P8.mat":
        "3d03318ef002ae28128a5e3cb2702f34674e86c4393d80277c0e5224cb55c030",
    "Acc/3class/Acc_record_3class_SMIC_VIS_SMIC_HS_feature_LBPTOP_R3P8.mat":
        "f63442ae064c3ff4250c729ef7f17963ab2c9663ac8b3adadb3dba6d75515b3d",
    "Acc/3class/Acc_record_3class_SMIC_HS_SMIC_NIR_feature_LBPTOP_R3P8.mat":
        "e3c3dd7460a091a9b14bd0eb85e7774ef62d3637c10a5125ba945a619936df8d",
    "Acc/3class/Acc_record_3class_SMIC_NIR_SMIC_HS_feature_LBPTOP_R3P8.mat":
        "8192df1c8f1c47d26d2dfc2b0cf0e4588958620a769219b21e15a78deba7defa",
    "Acc/3class/Acc_record_3class_CASME2_SMIC_HS_feature_LBPTOP_R3P8.mat":
        "0d801171b0523ff0ccbe277fbf68b31d0f3103bc487fb3fe14418c80a4edbc84",
    "Acc/3class/Acc_record_3class_SMIC_HS_CASME2_feature_LBPTOP_R3P8.mat":
        "df4557e5e3eece8f71961bbda46e799687fd80dd656c006ea3ddcdff99b26db6",
    "Acc/3class/Acc_record_3class_CASME2_SMIC_VIS_feature_LBPTOP_R3P8.mat":
        "95ef23b24cc6639762f9cf6f6e501f17cbf1c40be017e73fa7105ff359d05e73",
    "Acc/3class/Acc_record_3class_SMIC_VIS_CASME2_feature_LBPTOP_R3P8.mat":
        "e432287c1224594c1fe3beac0d7ccb00a65ef746684bb746cfd566348b70130f",
    "Acc/3class/Acc_record_3class_CASME2_SMIC_NIR_feature_LBPTOP_R3P8.mat":
        "6044d6850d44512d6aa4543239308895fe1c511e7afe95ca52bedaf658d6a9fc",
    "Acc/3class/Acc_record_3class_SMIC_NIR_CASME2_feature_LBPTOP_R3P8.mat":
        "db8ca269cd76d4b8e7e3695a321aeb23fa807b99a88d6c98c567f4e673eaeeb5",
}

#: Class names of the authors' labels 1, 2, 3.
CLASS_NAMES = ("negative", "positive", "surprise")

FEATURE_SUFFIX = ".mat"
HS_ENV = "TGSR_SMIC_HS_FEATURES"


class DataUnavailableError(RuntimeError):
    """A data file is neither in ``TGSR_DATA_DIR``, nor cached, nor downloadable."""


class Features(NamedTuple):
    """Features of one database: ``X`` (N, d; d = 15045 for the authors' databases), ``y``
    (N,) labels 1..3 with the authors' class names (or, in a user's file, string or integer
    labels whose sorted values are the names)."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]


def feature_path(name: str) -> str:
    """Relative path of a database's feature file in the authors' repository layout."""
    check_database(name)
    return f"data/3class/CrossCorpus_LBPTOP_R3P8_{name}_112by112.mat"


def record_path(source: str, target: str) -> str:
    check_database(source)
    check_database(target)
    return f"Acc/3class/Acc_record_3class_{source}_{target}_feature_LBPTOP_R3P8.mat"


def check_database(name: str) -> str:
    if name not in DATABASES:
        raise ValueError(f"unknown database {name!r}: use one of {', '.join(DATABASES)}")
    return name


def data_dir() -> Path | None:
    """The local copy named by ``TGSR_DATA_DIR``, or None."""
    value = os.environ.get("TGSR_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where downloads are kept (``TGSR_CACHE_DIR`` or the OS cache folder)."""
    import pooch

    value = os.environ.get("TGSR_CACHE_DIR")
    return Path(value).expanduser() if value else Path(pooch.os_cache("tgsr"))


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _verified(path: str, size: int, mtime: float, expected: str) -> None:
    actual = sha256(path)
    if actual != expected:
        raise ValueError(
            f"refusing {path}: its sha256 is {actual} but the authors' file has {expected}. "
            "The file is corrupt or a different version: delete it (or fix TGSR_DATA_DIR) so "
            "that it is fetched again."
        )


def _check_hash(path: Path, expected: str) -> Path:
    st = path.stat()
    _verified(str(path), st.st_size, st.st_mtime, expected)
    return path


def fetch(relpath: str) -> Path:
    """Local path of one registered file, from ``TGSR_DATA_DIR`` or downloaded, hash-checked."""
    if relpath not in REGISTRY:
        raise ValueError(f"{relpath!r} is not one of the authors' registered files")
    expected = REGISTRY[relpath]
    local = data_dir()
    if local is not None:
        path = local / relpath
        if not path.is_file():
            raise DataUnavailableError(
                f"{path} does not exist. TGSR_DATA_DIR={local} must hold a copy of the authors' "
                f"repository ({REPOSITORY}) with its relative paths; fix or unset TGSR_DATA_DIR to "
                f"download from {BASE_URL}{relpath}."
            )
        return _check_hash(path, expected)
    import pooch

    target = cache_dir() / relpath
    if target.is_file():
        return _check_hash(target, expected)
    try:
        fname = pooch.retrieve(
            BASE_URL + relpath, known_hash=f"sha256:{expected}", fname=Path(relpath).name,
            path=target.parent, progressbar=False,
        )
    except ValueError:
        raise  # pooch's hash mismatch message names both hashes
    except Exception as err:  # network errors come in many types
        raise DataUnavailableError(
            f"could not download {BASE_URL}{relpath} ({type(err).__name__}: {err}). Without "
            f"network access, set TGSR_DATA_DIR to a local copy of {REPOSITORY} "
            "(same relative paths)."
        ) from None
    return Path(fname)


def _validate(X: np.ndarray, y: np.ndarray, where: str) -> Features:
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{where}: the features are not numbers (dtype {X.dtype}): store a "
                         "numeric (samples x features) array")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    if X.ndim != 2:
        raise ValueError(f"{where}: features must be a 2-D array (samples x features), got "
                         f"{X.shape}")
    if X.shape[0] != y.size and X.shape[1] == y.size:
        X = X.T  # MATLAB column-per-sample layout
    if X.shape[0] != y.size:
        raise ValueError(f"{where}: {X.shape[0]} feature rows but {y.size} labels")
    if X.shape[0] == 0:
        raise ValueError(f"{where}: no samples")
    if not np.all(np.isfinite(X)):
        bad = np.unique(np.nonzero(~np.isfinite(X))[0])
        raise ValueError(f"{where}: NaN or inf in the features of samples {bad[:10].tolist()}")
    y = _labels(y, where)
    if y.dtype.kind == "U" or not set(np.unique(y).tolist()) <= {1, 2, 3}:
        return Features(X, y, tuple(str(v) for v in np.unique(y).tolist()))
    return Features(X, y, CLASS_NAMES)


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    """The labels of a feature file: integers 1..3 (the authors' classes) or strings (your
    own class names, kept as strings without surrounding spaces: ``"1"`` is a string label,
    not the number 1)."""
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8")
    elif y.dtype.kind == "O":  # MATLAB cell arrays, HDF5 variable-length strings
        y = np.array([_one_label(v, where) for v in y.tolist()])
    if y.dtype.kind == "U":
        y = np.char.strip(y)  # MATLAB char matrices pad shorter names with spaces
        if np.any(y == ""):
            raise ValueError(f"{where}: some labels are empty strings")
        return y
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{where}: labels must be numbers or strings, not {y.dtype}")
    if y.dtype.kind == "b" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
        raise ValueError(
            f"{where}: numeric labels must be integers (the authors' 1 negative, 2 positive, "
            "3 surprise, or your own class ids), or store your class names as strings"
        )
    return y.astype(np.int64)


def _one_label(value, where: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    arr = np.asarray(value).ravel()
    if arr.size == 1 and arr.dtype.kind in "US":
        return _one_label(arr[0].item(), where)
    raise ValueError(f"{where}: labels must be numbers or strings, found {value!r}")


def read_feature_file(path: str | os.PathLike) -> Features:
    """Read features in the authors' layout from ``.mat`` (v5 or v7.3), ``.npz`` or ``.h5``.

    ``.mat`` files hold ``<NAME>_micro_feature`` / ``<NAME>_micro_label`` (the authors'
    naming) or ``X`` / ``y``; ``.npz`` and ``.h5`` files hold ``X`` (N, d) and ``y`` (N,). The
    authors' databases have d = 15045; your own features may have any d.
    Labels are the authors' integers 1..3 or strings (your own class names; ``"1"`` stays a
    string). A missing file raises ``FileNotFoundError``; an empty, truncated or corrupt file,
    non-numeric features or bad labels raise ``ValueError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise ValueError(f"feature file {path} is a folder: give a .mat, .npz or .h5 file")
        raise FileNotFoundError(f"feature file {path} does not exist: give an existing .mat, "
                                ".npz or .h5 file, or a database name (" + ", ".join(DATABASES)
                                + ")")
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".h5", ".hdf5", ".mat"):
        raise ValueError(f"{path}: unsupported feature file type {suffix!r} (.mat, .npz, .h5)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes): write the features again")
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        else:
            arrays = _read_mat_or_h5(path)
    except PermissionError:
        raise
    except Exception as err:  # truncated or corrupt files fail in many ways
        raise ValueError(
            f"{path}: not a readable {suffix} feature file ({type(err).__name__}: {err}); "
            "it may be truncated or corrupt, or hold object arrays: save X as a numeric array "
            "and y as numbers or strings"
        ) from None
    X, y = _pick(arrays, path)
    return _validate(X, y, str(path))  # (transposes MATLAB's columns-per-sample layout)


def _pick(arrays: dict, path) -> tuple[np.ndarray, np.ndarray]:
    feats = [k for k in arrays if k.endswith("_micro_feature")]
    labels = [k for k in arrays if k.endswith("_micro_label")]
    if "X" in arrays and "y" in arrays:
        return np.asarray(arrays["X"]), np.asarray(arrays["y"])
    if len(feats) == 1 and len(labels) == 1:
        return np.asarray(arrays[feats[0]]), np.asarray(arrays[labels[0]])
    raise ValueError(
        f"{path}: expected arrays 'X' and 'y' (or '<NAME>_micro_feature' and '<NAME>_micro_label'),"
        f" found {sorted(k for k in arrays if not k.startswith('__'))}"
    )


def _read_mat_or_h5(path: Path) -> dict:
    """The arrays of a MATLAB (v5, or v7.3 = HDF5) or HDF5 file."""
    import h5py

    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            return {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}
    import scipy.io

    return scipy.io.loadmat(path)


def load_features(name: str) -> Features:
    """Load one database's features: ``X`` (N, 15045), ``y`` (N,) in 1..3, class names.

    ``name`` is one of ``CASME2``, ``SMIC_VIS``, ``SMIC_NIR`` (the authors' files) or
    ``SMIC_HS`` (only when supplied by the user, see the module docstring), or a path to a
    feature file readable by :func:`read_feature_file`.
    """
    if name not in DATABASES and Path(name).suffix:
        return read_feature_file(name)
    check_database(name)
    rel = feature_path(name)
    if rel in REGISTRY:
        return _load_registered(rel)
    # SMIC_HS: not public.
    candidates = []
    if os.environ.get(HS_ENV):
        candidates.append(Path(os.environ[HS_ENV]).expanduser())
    if data_dir() is not None:
        candidates.append(data_dir() / rel)
    for cand in candidates:
        if cand.is_file():
            return read_feature_file(cand)
    raise DataUnavailableError(
        f"the {name} features were never published by the authors, so they cannot be downloaded. "
        f"If you have them (or extracted them with `tgsr extract`), point {HS_ENV} at the file or "
        f"put it at $TGSR_DATA_DIR/{rel}. Looked in: {[str(c) for c in candidates] or 'nowhere'}."
    )


@lru_cache(maxsize=8)
def _read_cached(path: str, mtime: float) -> Features:
    return read_feature_file(path)


def _load_registered(rel: str) -> Features:
    path = fetch(rel)
    f = _read_cached(str(path), path.stat().st_mtime)
    return Features(f.X.copy(), f.y.copy(), f.class_names)


def available_databases() -> list[str]:
    """Databases whose features can be loaded here (public ones, plus SMIC_HS if supplied)."""
    out = []
    for name in DATABASES:
        try:
            if name == "SMIC_HS":
                load_features(name)
            else:
                fetch(feature_path(name))
            out.append(name)
        except (DataUnavailableError, FileNotFoundError, ValueError):
            pass
    return out


def available_records() -> list[tuple[str, str]]:
    """(source, target) pairs with a released recorded grid."""
    out = []
    for rel in REGISTRY:
        if rel.startswith("Acc/"):
            stem = Path(rel).stem.removeprefix("Acc_record_3class_").removesuffix(
                "_feature_LBPTOP_R3P8")
            for s in DATABASES:
                if stem.startswith(s + "_") and stem[len(s) + 1:] in DATABASES:
                    out.append((s, stem[len(s) + 1:]))
    return out


def load_record(source: str, target: str) -> pd.DataFrame:
    """The authors' recorded grid for one experiment.

    Returns a DataFrame with 23,460 rows (kappa outer 1..85, xi inner in the paper's order)
    and columns ``kappa``, ``xi``, ``accuracy`` (fraction) and ``macro_f1``.
    """
    rel = record_path(source, target)
    if rel not in REGISTRY:
        raise DataUnavailableError(
            f"the authors released no recorded grid for {source} -> {target}; released pairs: "
            f"{available_records()}. Compute it with `tgsr grid`."
        )
    import scipy.io

    acc = scipy.io.loadmat(fetch(rel))["Acc"]
    df = pd.DataFrame(acc, columns=["kappa", "xi", "accuracy", "macro_f1"])
    df["kappa"] = df["kappa"].round().astype(np.int64)
    return df
