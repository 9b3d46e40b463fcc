"""Feature extraction driver: database frame folders -> a 15045-dim LBP-TOP feature file.

``tgsr extract --database CASME2 --root PATH --annotations CODING.xlsx --out casme2.npz``
scans the database (:mod:`tgsr_lib.features.video`), preprocesses every clip (grey, optional face
crop, 112 x 112 bicubic, TIM to 16 frames) and computes the authors' multi-scale LBP-TOP
(:mod:`tgsr_lib.features.lbptop`), in parallel over clips (threads; the numba kernel releases
the GIL).

* Resumable: each finished clip is kept in ``<out>.partial/``; a rerun with the same settings
  skips them (``--restart`` discards them). The folder is removed once the file is written.
* One bad clip (missing folder, unreadable frame, frames of different sizes, too few frames)
  never stops the run: it is reported at the end, and the exit code is 1.
* Output by suffix: ``.npz`` (``X``, ``y``, ``subject``, ``clip``, ``database``, ``settings``),
  ``.h5`` (the same datasets) or ``.mat`` (MATLAB v5 in the authors' naming,
  ``<DB>_micro_feature`` 15045 x N and ``<DB>_micro_label`` 1 x N, plus ``subject`` and
  ``clip``). :func:`tgsr_lib.data.datasets.read_feature_file` and ``load_features(PATH)`` read all
  three; a ``.mat`` of SMIC_HS can be dropped in as the missing authors' file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tgsr_lib.features import lbptop, tim, video

DATABASES = ("CASME2", "SMIC_HS", "SMIC_VIS", "SMIC_NIR")
OUTPUT_SUFFIXES = (".npz", ".h5", ".hdf5", ".mat")


@dataclass(frozen=True)
class Settings:
    """Everything that changes the features of a clip."""

    size: int = video.FRAME_SIZE
    n_frames: int = tim.N_FRAMES
    P: int = lbptop.P_DEFAULT
    R: float = lbptop.R_DEFAULT
    frames: str = "all"
    face_crop: bool = False
    round_frames: bool = True

    def as_dict(self) -> dict:
        return dict(size=self.size, n_frames=self.n_frames, P=self.P, R=self.R,
                    frames=self.frames, face_crop=self.face_crop,
                    round_frames=self.round_frames)


@dataclass
class ExtractionResult:
    """Features of the clips that worked, and the failures with their reasons."""

    X: np.ndarray
    clips: list[video.ClipInfo]
    failures: list[tuple[str, str]] = field(default_factory=list)
    reused: int = 0

    @property
    def y(self) -> np.ndarray:
        return np.array([c.label for c in self.clips], dtype=np.int64)


def extract_clip(info: video.ClipInfo, settings: Settings = Settings()) -> np.ndarray:
    """Preprocess one clip and return its multi-scale LBP-TOP vector."""
    clip = video.load_clip(info, frames=settings.frames, size=settings.size,
                           n_frames=settings.n_frames, face_crop=settings.face_crop,
                           round_frames=settings.round_frames)
    return lbptop.multiscale_lbptop(clip, P=settings.P, R=settings.R)


def _safe(key: str) -> str:
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
    return f"{stem}-{digest}"


def partial_dir(out: str | os.PathLike) -> Path:
    """Folder where finished clips are kept until the output file is written."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def _open_partial(out: Path, database: str, settings: Settings, restart: bool) -> Path:
    folder = partial_dir(out)
    meta = dict(database=database, **settings.as_dict())
    stamp = folder / "settings.json"
    if folder.exists() and restart:
        for f in folder.glob("*.npy"):
            f.unlink()
    if stamp.is_file() and not restart:
        old = json.loads(stamp.read_text())
        if old != meta:
            raise ValueError(
                f"{folder} holds clips extracted with other settings ({old}); rerun with "
                "--restart to discard them, or choose another --out"
            )
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(meta, sort_keys=True))
    return folder


def extract_features(clips: Sequence[video.ClipInfo], out: str | os.PathLike | None = None,
                     settings: Settings = Settings(), jobs: int = 1, progress: bool = True,
                     restart: bool = False) -> ExtractionResult:
    """Extract the features of many clips, in parallel, resumable when ``out`` is given.

    Parameters
    ----------
    clips : sequence of ClipInfo
        From :func:`tgsr_lib.features.video.scan_database` (or built by hand).
    out : path, optional
        Final output file; finished clips are kept in ``<out>.partial/`` so that an
        interrupted run resumes. Nothing is written when None.
    settings : Settings
    jobs : int
        Worker threads (clips in parallel).
    progress : bool
        Show a tqdm progress bar on stderr.
    restart : bool
        Discard clips kept by an earlier run.

    Returns
    -------
    ExtractionResult
        ``X`` (n_ok, D) in the order of ``clips`` (failed clips left out), the clips that
        worked, ``failures`` as ``(clip key, reason)`` and how many clips were ``reused``.
    """
    clips = list(clips)
    if not clips:
        raise ValueError("no clips to extract")
    keys = [c.key for c in clips]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"clip ids are not unique: {dup[:5]}")
    jobs = max(1, int(jobs))
    database = clips[0].database
    folder = _open_partial(Path(out), database, settings, restart) if out is not None else None
    dim = lbptop.feature_dim(settings.P)
    feats: dict[str, np.ndarray] = {}
    reused = 0
    if folder is not None:
        for c in clips:
            f = folder / f"{_safe(c.key)}.npy"
            if f.is_file():
                try:
                    v = np.load(f, allow_pickle=False)
                except (OSError, ValueError):
                    continue  # half-written: redo
                if v.shape == (dim,):
                    feats[c.key] = v
                    reused += 1
    todo = [c for c in clips if c.key not in feats]
    failures: dict[str, str] = {}
    # compile / load the kernel once before the threads start
    lbptop.multiscale_lbptop(np.zeros((settings.n_frames, settings.size, settings.size)),
                             P=settings.P, R=settings.R)
    lock = threading.Lock()

    def work(info: video.ClipInfo) -> tuple[str, np.ndarray | None, str]:
        try:
            v = extract_clip(info, settings)
        except Exception as err:  # noqa: BLE001 - reported per clip at the end
            return info.key, None, f"{type(err).__name__}: {err}"
        if folder is not None:
            tmp = folder / f"{_safe(info.key)}.tmp.npy"
            np.save(tmp, v)
            os.replace(tmp, folder / f"{_safe(info.key)}.npy")
        return info.key, v, ""

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(clips), initial=reused, desc=f"extract {database}", unit="clip",
                   file=sys.stderr)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(work, c) for c in todo]
            for fut in as_completed(futures):
                key, v, err = fut.result()
                with lock:
                    if v is None:
                        failures[key] = err
                    else:
                        feats[key] = v
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    ok = [c for c in clips if c.key in feats]
    X = np.stack([feats[c.key] for c in ok]) if ok else np.zeros((0, dim))
    return ExtractionResult(X, ok, [(k, failures[k]) for k in keys if k in failures], reused)


def write_features(path: str | os.PathLike, result: ExtractionResult, database: str,
                   settings: Settings = Settings()) -> Path:
    """Write features, labels, subject and clip ids (format by suffix, see module doc)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{path}: output must end in one of {OUTPUT_SUFFIXES}")
    if len(result.clips) == 0:
        raise ValueError("no clip was extracted: nothing to write")
    subject = np.array([c.subject for c in result.clips])
    clip = np.array([c.clip for c in result.clips])
    meta = json.dumps(dict(database=database, **settings.as_dict()), sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp" + suffix)
    if suffix == ".npz":
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, X=result.X, y=result.y, subject=subject, clip=clip,
                                database=np.array(database), settings=np.array(meta))
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(tmp, "w") as f:
            f.create_dataset("X", data=result.X, compression="gzip")
            f.create_dataset("y", data=result.y)
            f.create_dataset("subject", data=subject.astype("S"))
            f.create_dataset("clip", data=clip.astype("S"))
            f.attrs["database"] = database
            f.attrs["settings"] = meta
    else:
        import scipy.io

        scipy.io.savemat(tmp, {
            f"{database}_micro_feature": result.X.T,
            f"{database}_micro_label": result.y[None, :].astype(np.float64),
            "subject": subject.astype(object), "clip": clip.astype(object),
            "settings": meta}, do_compression=True)
    os.replace(tmp, path)
    return path


def read_extracted(path: str | os.PathLike) -> dict:
    """Read a file written by :func:`write_features`: ``X``, ``y``, ``subject``, ``clip``."""
    from tgsr_lib.data.datasets import read_feature_file

    path = Path(path)
    feats = read_feature_file(path)
    out = dict(X=feats.X, y=feats.y, subject=None, clip=None)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            for k in ("subject", "clip"):
                if k in f:
                    out[k] = f[k].astype(str)
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as f:
            for k in ("subject", "clip"):
                if k in f:
                    out[k] = f[k][()].astype(str)
    elif suffix == ".mat":
        import scipy.io

        m = scipy.io.loadmat(path)
        for k in ("subject", "clip"):
            if k in m:
                out[k] = np.array([str(np.squeeze(v)) for v in np.ravel(m[k])])
    return out


# ----------------------------------------------------------------------------------------------
# command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``tgsr extract``."""
    parser.description = (
        "Extract the authors' 15045-dim multi-scale LBP-TOP features (TIM to 16 frames, "
        "112x112, R=3, P=8) from a database's frame folders.")
    parser.add_argument("--database", required=True, choices=DATABASES,
                        help="which database layout to read")
    parser.add_argument("--root", required=True, type=Path,
                        help="CASME2: the folder holding sub01, sub02, ... (or above it); "
                             "SMIC: SMIC_all_cropped or its HS/VIS/NIR folder")
    parser.add_argument("--out", required=True, type=Path,
                        help="output file: .npz, .h5 or .mat (authors' naming)")
    parser.add_argument("--annotations", type=Path, default=None,
                        help="CASME2: the coding spreadsheet (required); SMIC: optional CSV "
                             "with onset/apex/offset, cross-checked with the class folders")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="clips processed in parallel (default: all cores)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--frames", choices=("all", "onset-offset"), default="all",
                        help="all frames of a clip folder (default; the databases' clip "
                             "folders hold the micro-expression), or only those numbered "
                             "within the annotated onset..offset")
    parser.add_argument("--face-crop", action="store_true",
                        help="detect and crop the face (for uncropped frames only)")
    parser.add_argument("--restart", action="store_true",
                        help="discard clips kept from an interrupted run")
    parser.add_argument("--size", type=int, default=video.FRAME_SIZE,
                        help="frame side after resizing (default 112)")
    parser.add_argument("--n-frames", type=int, default=tim.N_FRAMES,
                        help="frames after TIM (default 16)")
    parser.add_argument("--P", type=int, default=lbptop.P_DEFAULT, help="LBP neighbours (8)")
    parser.add_argument("--R", type=float, default=lbptop.R_DEFAULT, help="LBP radius (3)")


def run(args: argparse.Namespace) -> int:
    """Run ``tgsr extract``. Exit code 0: every clip extracted; 1: some clips failed (the
    file holds the others, failures are listed on stderr); 2: nothing could be extracted."""
    import warnings

    def say(msg: str) -> None:
        print(msg, file=sys.stderr)

    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        say(f"error: --out must end in one of {', '.join(OUTPUT_SUFFIXES)}")
        return 2
    settings = Settings(size=args.size, n_frames=args.n_frames, P=args.P, R=args.R,
                        frames=args.frames, face_crop=args.face_crop)
    with warnings.catch_warnings():
        warnings.simplefilter("always", video.DataWarning)
        warnings.showwarning = _show_warning
        try:
            clips = video.scan_database(args.database, args.root, args.annotations)
        except (FileNotFoundError, ValueError) as err:
            say(f"error: {err}")
            return 2
        say(f"{args.database}: {len(clips)} clips under {args.root}")
        try:
            result = extract_features(clips, out, settings, jobs=args.jobs,
                                      progress=not args.no_progress, restart=args.restart)
        except ValueError as err:
            say(f"error: {err}")
            return 2
    if result.reused:
        say(f"reused {result.reused} clip(s) from {partial_dir(out)}")
    if not result.clips:
        say(f"error: no clip could be extracted ({len(result.failures)} failed):")
        for key, why in result.failures:
            say(f"  {key}: {why}")
        return 2
    write_features(out, result, args.database, settings)
    counts = {name: int(np.sum(result.y == i + 1)) for i, name in enumerate(video.CLASS_NAMES)}
    say(f"wrote {out}: {len(result.clips)} clips x {result.X.shape[1]} features {counts}")
    if result.failures:
        say(f"{len(result.failures)} clip(s) failed and were left out:")
        for key, why in result.failures:
            say(f"  {key}: {why}")
        say(f"fix them and rerun the same command: finished clips are kept in "
            f"{partial_dir(out)}")
        return 1
    _remove_partial(out)
    return 0


def _remove_partial(out: Path) -> None:
    folder = partial_dir(out)
    if folder.is_dir():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m tgsr_lib.features.extract``)."""
    parser = argparse.ArgumentParser(prog="tgsr extract")
    configure_parser(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
