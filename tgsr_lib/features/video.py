"""From the databases' frame folders to 16 x 112 x 112 grey clips.

Preprocessing of the TGSR authors' group (the project's facts page ``book/facts.md``, section
"Preprocessing and TIM"), step by step:

1. read the frames of a clip folder, sorted naturally (``img2`` before ``img10``);
2. grey: ``Y = 0.298936 R + 0.587043 G + 0.114021 B`` (ITU-R BT.601 luma with MATLAB
   ``rgb2gray``'s coefficients; grey frames pass unchanged);
3. optional face crop (:func:`detect_face`): the databases ship cropped faces (SMIC
   ``SMIC_all_cropped``, CASME II ``CASME2_Cropped``), which are used as they are; for uncropped
   input one box is detected on the first frame and applied to every frame;
4. resize every frame to 112 x 112 with bicubic interpolation (:func:`resize_bicubic`: Keys'
   cubic, ``a = -0.5``, antialiased when shrinking, as MATLAB's ``imresize``), rounded to
   8-bit grey levels;
5. TIM to 16 frames (:func:`tgsr_lib.features.tim.interpolate`), rounded and clipped to 0..255
   as when the interpolated frames are stored as 8-bit images.

Loaders for the databases' own layouts:

* SMIC (Li et al., FG 2013): ``<root>/{HS,VIS,NIR}/s<k>/micro/{negative,positive,surprise}/
  <clip>/<frames>``; the class is the folder. An optional annotation CSV (the 164-row SMIC-HS
  list ``subject, clip, onset, apex, offset, label`` with 1 = positive, 2 = negative, 3 =
  surprise, or a CSV with a header) adds onset/apex/offset and is cross-checked.
* CASME II (Yan et al., PLoS ONE 2014): ``<root>/sub<NN>/<Filename>/<frames>`` (e.g.
  ``CASME2_Cropped/Cropped/sub01/EP02_01f/reg_img46.jpg``) with the coding spreadsheet
  (``Subject``, ``Filename``, ``OnsetFrame``, ``ApexFrame``, ``OffsetFrame``, ``Estimated
  Emotion``); 3 classes as in the paper: positive = happiness, negative = disgust + repression,
  surprise = surprise, other emotions dropped.

Labels follow the authors' files: 1 = negative, 2 = positive, 3 = surprise.

Reading frames (OpenCV), the face cascade (scikit-image) and CASME II's ``.xlsx`` coding file
(openpyxl) need the ``video`` extra: ``pip install "tgsr[video]"``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tgsr_lib._optional import require
from tgsr_lib.features import tim

#: Image file types read as frames (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".webp")

#: MATLAB ``rgb2gray`` (BT.601) coefficients for R, G, B.
GREY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)

#: The authors' label codes.
LABELS = {"negative": 1, "positive": 2, "surprise": 3}
CLASS_NAMES = ("negative", "positive", "surprise")

#: CASME II estimated emotion -> 3-class label (``book/facts.md``, section "Experiments").
CASME2_MAPPING = {"happiness": 2, "disgust": 1, "repression": 1, "surprise": 3}
#: CASME II emotions that the 3-class protocol drops.
CASME2_DROPPED = ("others", "sadness", "fear")

#: SMIC subsets.
SMIC_SUBSETS = ("HS", "VIS", "NIR")

#: The xiazhaoqiang SMIC-HS list codes labels 1 = positive, 2 = negative, 3 = surprise.
SMIC_CSV_LABELS = {1: LABELS["positive"], 2: LABELS["negative"], 3: LABELS["surprise"]}

#: Frame size and clip length of the TGSR features.
FRAME_SIZE = 112


class DataWarning(UserWarning):
    """Something in a database folder or annotation file was skipped or looks wrong."""


def _warn(message: str) -> None:
    warnings.warn(message, DataWarning, stacklevel=3)


# ----------------------------------------------------------------------------------------------
# frames


def natural_key(name: str | os.PathLike) -> list:
    """Sort key that orders embedded numbers numerically (``img2`` before ``img10``)."""
    parts = re.split(r"(\d+)", Path(name).name.lower())
    return [int(p) if p.isdigit() else p for p in parts]


def frame_number(path: str | os.PathLike) -> int | None:
    """The last number in a frame's file name (``reg_img46.jpg`` -> 46), or None."""
    found = re.findall(r"\d+", Path(path).stem)
    return int(found[-1]) if found else None


def list_frames(folder: str | os.PathLike, clip: str | None = None) -> list[Path]:
    """Image files of a clip folder in natural order.

    Other files (``Thumbs.db``, text files, sub-folders) are ignored with a
    :class:`DataWarning` naming the clip. Raises ``FileNotFoundError`` for a missing folder and
    ``ValueError`` for a folder without images.
    """
    folder = Path(folder)
    name = clip or str(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"clip {name}: frame folder {folder} does not exist")
    frames, odd = [], []
    for entry in folder.iterdir():
        if entry.is_file() and entry.suffix.lower() in IMAGE_EXTENSIONS:
            frames.append(entry)
        else:
            odd.append(entry.name)
    if odd:
        _warn(f"clip {name}: ignored {len(odd)} non-image entr{'y' if len(odd) == 1 else 'ies'} "
              f"in {folder.name}: {sorted(odd)[:5]}")
    if not frames:
        raise ValueError(f"clip {name}: no image frames in {folder} "
                         f"(looked for {', '.join(IMAGE_EXTENSIONS)})")
    return sorted(frames, key=natural_key)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read one frame: ``(H, W)`` grey or ``(H, W, 3)`` RGB, float64 in 0..255.

    16-bit images are scaled to 0..255. Raises ``ValueError`` for an unreadable file.
    """
    cv2 = require("cv2", "reading video frames")

    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # also works for non-ASCII paths
    except OSError as err:
        raise ValueError(f"cannot read image {path}: {err}") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError(f"unreadable image {path} (empty, truncated or not an image)")
    scale = 255.0 / 65535.0 if image.dtype == np.uint16 else 1.0
    if image.dtype not in (np.uint8, np.uint16):
        image = image.astype(np.float64)  # e.g. float TIFF: kept as is
        scale = 1.0
    if image.ndim == 3:
        if image.shape[2] == 1:
            image = image[..., 0]
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
        else:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image.astype(np.float64) * scale


def to_grey(frames) -> np.ndarray:
    """Grey levels ``Y = 0.2989 R + 0.5870 G + 0.1140 B`` (MATLAB ``rgb2gray``, BT.601).

    Accepts one frame or a clip: a trailing axis of 3 (RGB) or 4 (RGBA, alpha dropped) is
    converted, anything else is taken as grey already. Returns float64.
    """
    arr = np.asarray(frames, dtype=np.float64)
    if arr.ndim >= 3 and arr.shape[-1] in (3, 4):
        return arr[..., :3] @ np.asarray(GREY_WEIGHTS)
    return arr


def read_clip(folder_or_frames, clip: str | None = None, grey: bool = True) -> np.ndarray:
    """Read a clip from a folder (natural order) or a list of frame paths.

    Returns ``(T, H, W)`` grey (or ``(T, H, W, 3)`` RGB with ``grey=False``) float64.
    Raises ``ValueError`` naming the clip for unreadable frames or frames of different sizes.
    """
    if isinstance(folder_or_frames, (str, os.PathLike)):
        name = clip or str(folder_or_frames)
        paths = list_frames(folder_or_frames, name)
    else:
        paths = [Path(p) for p in folder_or_frames]
        name = clip or (str(paths[0].parent) if paths else "<no frames>")
        if not paths:
            raise ValueError(f"clip {name}: no frames")
    frames = []
    for p in paths:
        try:
            img = read_image(p)
        except ValueError as err:
            raise ValueError(f"clip {name}: {err}") from None
        frames.append(to_grey(img) if grey else img)
    sizes = {f.shape[:2] for f in frames}
    if len(sizes) > 1:
        first = frames[0].shape[:2]
        bad = [p.name for p, f in zip(paths, frames, strict=True) if f.shape[:2] != first]
        raise ValueError(f"clip {name}: frames of different sizes {sorted(sizes)}; "
                         f"{paths[0].name} is {first}, differing: {bad[:5]}")
    if not grey and any(f.ndim == 2 for f in frames):
        frames = [np.repeat(f[..., None], 3, axis=2) if f.ndim == 2 else f for f in frames]
    return np.stack(frames)


# ----------------------------------------------------------------------------------------------
# resize


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with ``a = -0.5`` (MATLAB ``imresize`` "bicubic")."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def resize_weights(n_in: int, n_out: int, antialias: bool = True) -> np.ndarray:
    """``(n_out, n_in)`` matrix of bicubic resampling along one axis (MATLAB ``imresize``).

    Output pixel ``i`` (1-based) maps to ``u = i / s + (1 - 1 / s) / 2`` with ``s = n_out /
    n_in``; when shrinking with ``antialias`` the kernel is stretched by ``1 / s``. Weights are
    normalised to sum 1; indices outside the image are mirrored (symmetric padding).
    """
    n_in, n_out = int(n_in), int(n_out)
    if n_in < 1 or n_out < 1:
        raise ValueError(f"cannot resize {n_in} pixels to {n_out}")
    s = n_out / n_in
    stretch = s if (s < 1 and antialias) else 1.0
    width = 4.0 / stretch
    u = np.arange(1, n_out + 1) / s + 0.5 * (1 - 1 / s)
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based
    w = stretch * _cubic(stretch * (u[:, None] - idx))
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    M = np.zeros((n_out, n_in))
    np.add.at(M, (np.repeat(np.arange(n_out), taps), cols.ravel()), w.ravel())
    return M


def resize_bicubic(image, size: int | tuple[int, int] = FRAME_SIZE,
                   antialias: bool = True) -> np.ndarray:
    """Bicubic resize of a frame or clip, as MATLAB's ``imresize(I, [h w])``.

    Parameters
    ----------
    image : (H, W), (H, W, C), (T, H, W) or (T, H, W, C) array
        A frame or clip; give ``(T, H, W)`` clips as 3-D arrays whose last axis is not 3 or 4,
        or pass frames one at a time. Three-dimensional input with a last axis of 3 or 4 is
        taken as one colour frame.
    size : int or (height, width)
        Output size (112).
    antialias : bool
        Widen the kernel when shrinking (MATLAB's default).

    Returns
    -------
    resized : float64 array
        Not rounded or clipped (bicubic weights can overshoot slightly).
    """
    arr = np.asarray(image, dtype=np.float64)
    h, w = (size, size) if np.ndim(size) == 0 else tuple(size)
    if arr.ndim == 2:
        spatial = (0, 1)
    elif arr.ndim == 3 and arr.shape[-1] in (3, 4):
        spatial = (0, 1)
    elif arr.ndim == 3:
        spatial = (1, 2)
    elif arr.ndim == 4:
        spatial = (1, 2)
    else:
        raise ValueError(f"cannot resize an array of shape {arr.shape}")
    Wr = resize_weights(arr.shape[spatial[0]], h, antialias)
    Wc = resize_weights(arr.shape[spatial[1]], w, antialias)
    out = np.moveaxis(np.tensordot(Wr, arr, axes=(1, spatial[0])), 0, spatial[0])
    out = np.moveaxis(np.tensordot(Wc, out, axes=(1, spatial[1])), 0, spatial[1])
    return out


def quantize(frames) -> np.ndarray:
    """Round to the nearest integer and clip to 0..255, as storing 8-bit images does."""
    return np.clip(np.round(np.asarray(frames, dtype=np.float64)), 0, 255)


# ----------------------------------------------------------------------------------------------
# face crop


def _cascade_path() -> str:
    data = require("skimage.data", "face detection")
    return data.lbp_frontal_face_cascade_filename()


def detect_face(frame, min_size: int = 40) -> tuple[int, int, int, int] | None:
    """Largest frontal face in a grey frame as ``(top, left, height, width)``, or None.

    Uses OpenCV's cascade detector (``cv2.CascadeClassifier``) with the LBP frontal-face
    cascade that ships with scikit-image (an OpenCV cascade file,
    ``lbpcascade_frontalface_opencv.xml``); OpenCV builds without the cascade module (OpenCV 5)
    fall back to scikit-image's implementation of the same cascade. The databases' cropped
    faces (SMIC_all_cropped, CASME2_Cropped) need no detection.
    """
    grey = to_grey(frame)
    if grey.ndim != 2:
        raise ValueError(f"detect_face expects one frame, got shape {np.shape(frame)}")
    img8 = quantize(grey).astype(np.uint8)
    cv2 = require("cv2", "face detection")

    boxes: list[tuple[int, int, int, int]] = []
    if hasattr(cv2, "CascadeClassifier"):
        cascade = cv2.CascadeClassifier(_cascade_path())
        if not cascade.empty():
            found = cascade.detectMultiScale(img8, scaleFactor=1.1, minNeighbors=3,
                                             minSize=(min_size, min_size))
            boxes = [(int(y), int(x), int(h), int(w)) for x, y, w, h in found]
    else:
        Cascade = require("skimage.feature", "face detection").Cascade
        detector = Cascade(_cascade_path())
        side = min(grey.shape)
        found = detector.detect_multi_scale(img=img8 / 255.0, scale_factor=1.2, step_ratio=1,
                                            min_size=(min_size, min_size),
                                            max_size=(side, side))
        boxes = [(int(d["r"]), int(d["c"]), int(d["height"]), int(d["width"])) for d in found]
    if not boxes:
        return None
    return max(boxes, key=lambda b: b[2] * b[3])


def crop_face(clip, box: tuple[int, int, int, int] | None = None, margin: float = 0.1,
              name: str = "clip") -> np.ndarray:
    """Crop every frame of a ``(T, H, W)`` clip to a square face box.

    ``box`` (``top, left, height, width``) defaults to the face detected on the first frame
    (:func:`detect_face`), enlarged by ``margin`` on each side and clipped to the frame.
    Raises ``ValueError`` naming the clip when no face is found.
    """
    arr = np.asarray(clip, dtype=np.float64)
    if box is None:
        box = detect_face(arr[0])
        if box is None:
            raise ValueError(f"clip {name}: no face detected on the first frame; crop the "
                             "frames yourself or run without face cropping")
    top, left, h, w = box
    side = max(h, w) * (1 + 2 * margin)
    cy, cx = top + h / 2, left + w / 2
    t0 = int(round(max(cy - side / 2, 0)))
    l0 = int(round(max(cx - side / 2, 0)))
    t1 = int(round(min(cy + side / 2, arr.shape[1])))
    l1 = int(round(min(cx + side / 2, arr.shape[2])))
    return arr[:, t0:t1, l0:l1]


# ----------------------------------------------------------------------------------------------
# the whole preprocessing


def preprocess(clip, size: int = FRAME_SIZE, n_frames: int = tim.N_FRAMES,
               face_crop: bool = False, round_frames: bool = True,
               name: str = "clip") -> np.ndarray:
    """Frames -> grey -> (face crop) -> bicubic resize -> TIM, as the TGSR authors' group.

    Parameters
    ----------
    clip : (T, H, W) or (T, H, W, 3) array
        Frames of one clip, grey or RGB, 0..255.
    size : int
        Frame side after resizing (112).
    n_frames : int
        Frames after TIM (16).
    face_crop : bool
        Detect the face on the first frame and crop (:func:`crop_face`); off for the
        databases' cropped faces.
    round_frames : bool
        Round the resized and the interpolated frames to 8-bit grey levels (clipped to 0..255),
        as when they are stored as images between the steps.
    name : str
        Clip name used in error messages.

    Returns
    -------
    clip : (n_frames, size, size) float64 array

    References
    ----------
    Pfister et al., ICCV 2011 (TIM preprocessing); Zhou et al., CVPR 2011 (TIM).
    """
    arr = np.asarray(clip, dtype=np.float64)
    if arr.ndim == 4:
        arr = to_grey(arr)
    if arr.ndim != 3:
        raise ValueError(f"clip {name}: expected (T, H, W) or (T, H, W, 3) frames, "
                         f"got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"clip {name}: {arr.shape[0]} frame(s); TIM needs at least 2")
    if face_crop:
        arr = crop_face(arr, name=name)
    frames = resize_bicubic(arr, size)
    if round_frames:
        frames = quantize(frames)
    out = tim.interpolate(frames, n_frames)
    return quantize(out) if round_frames else out


# ----------------------------------------------------------------------------------------------
# database layouts


@dataclass
class ClipInfo:
    """One micro-expression clip of a database folder."""

    database: str
    subject: str
    clip: str
    label: int
    path: Path
    emotion: str = ""
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """``subject/clip``: unique within a database."""
        return f"{self.subject}/{self.clip}"

    def frame_paths(self, frames: str = "all") -> list[Path]:
        """Frame files of this clip: ``"all"`` of the folder, or ``"onset-offset"`` (frames
        whose file number lies in the annotated ``[onset, offset]``)."""
        paths = list_frames(self.path, self.key)
        if frames == "all":
            return paths
        if frames != "onset-offset":
            raise ValueError(f"frames={frames!r}: use 'all' or 'onset-offset'")
        if self.onset is None or self.offset is None:
            raise ValueError(f"clip {self.key}: no onset/offset annotation for "
                             "frames='onset-offset'")
        numbers = [frame_number(p) for p in paths]
        chosen = [p for p, n in zip(paths, numbers, strict=True)
                  if n is not None and self.onset <= n <= self.offset]
        if len(chosen) < 2:
            raise ValueError(f"clip {self.key}: {len(chosen)} frame(s) numbered within onset "
                             f"{self.onset} .. offset {self.offset} (files numbered "
                             f"{min((n for n in numbers if n is not None), default=None)}..)")
        return chosen


def _subject_number(name: str) -> int | None:
    m = re.fullmatch(r"(?:s|sub)_?0*(\d+)", name.strip().lower())
    return int(m.group(1)) if m else None


def _smic_key(clip: str) -> str:
    """Canonical SMIC clip id: ``s01_ne_01`` and ``s1_ne_01`` both -> ``s1_ne_01``."""
    return re.sub(r"^s0*(\d+)", r"s\1", clip.strip().lower())


def _find_child(folder: Path, name: str) -> Path | None:
    for entry in folder.iterdir() if folder.is_dir() else ():
        if entry.is_dir() and entry.name.lower() == name.lower():
            return entry
    return None


def _has_subjects(folder: Path) -> bool:
    return any(e.is_dir() and _subject_number(e.name) is not None for e in folder.iterdir())


def _smic_subset_dir(root: Path, subset: str) -> Path:
    """``root/<subset>``, ``root/SMIC_all_cropped/<subset>`` or ``root`` itself."""
    if not root.is_dir():
        raise FileNotFoundError(f"SMIC root {root} does not exist")
    for parent in (root, _find_child(root, "SMIC_all_cropped")):
        child = _find_child(parent, subset) if parent is not None else None
        if child is not None and _has_subjects(child):
            return child
    if _has_subjects(root):
        return root
    raise FileNotFoundError(
        f"no SMIC {subset} subject folders (s1, s2, ...) under {root}: point --root at "
        f"SMIC_all_cropped (holding {'/'.join(SMIC_SUBSETS)}) or at its {subset} folder"
    )


def read_smic_annotations(path: str | os.PathLike) -> dict[str, dict]:
    """Read a SMIC annotation CSV into ``{canonical clip id: {...}}``.

    Two forms: the headerless 6-column SMIC-HS list (``subject, clip, onset, apex, offset,
    label`` with 1 = positive, 2 = negative, 3 = surprise), or a CSV with a header holding a
    clip column (``clip``/``filename``/``video``) and optionally ``subject``, ``onset``,
    ``apex``, ``offset`` and ``emotion`` (text) or ``label`` (the authors' 1..3 codes).
    Returned entries: ``subject``, ``clip``, ``onset``, ``apex``, ``offset``, ``label`` (1..3
    or None), ``emotion``.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist")
    raw = pd.read_csv(path, header=None, dtype=str, skipinitialspace=True)
    first = [str(v).strip().lower() for v in raw.iloc[0]]
    headed = any(v in ("clip", "filename", "video", "subject", "label", "emotion")
                 for v in first)
    out: dict[str, dict] = {}
    if not headed:
        if raw.shape[1] != 6:
            raise ValueError(f"{path}: expected a header or the 6-column SMIC list (subject, "
                             f"clip, onset, apex, offset, label), found {raw.shape[1]} columns")
        for row in raw.itertuples(index=False):
            clip = str(row[1]).strip()
            code = _int_or_none(row[5])
            label = SMIC_CSV_LABELS.get(code) if code is not None else None
            if label is None:
                _warn(f"{path.name}: clip {clip}: label {row[5]!r} outside 1 (positive), "
                      "2 (negative), 3 (surprise); ignored")
            out[_smic_key(clip)] = dict(
                subject=str(row[0]).strip(), clip=clip, onset=_int_or_none(row[2]),
                apex=_int_or_none(row[3]), offset=_int_or_none(row[4]), label=label,
                emotion=CLASS_NAMES[label - 1] if label else "")
        return out
    df = pd.read_csv(path, dtype=str, skipinitialspace=True)
    cols = {_norm(c): c for c in df.columns}
    clip_col = next((cols[c] for c in ("clip", "filename", "video", "clipid") if c in cols), None)
    if clip_col is None:
        raise ValueError(f"{path}: no clip column (clip, filename or video) among "
                         f"{list(df.columns)}")
    for _, row in df.iterrows():
        clip = str(row[clip_col]).strip()
        label, emotion = None, ""
        if "emotion" in cols and isinstance(row[cols["emotion"]], str):
            emotion = row[cols["emotion"]].strip().lower()
            label = LABELS.get(emotion)
        elif "label" in cols:
            code = _int_or_none(row[cols["label"]])
            label = code if code in (1, 2, 3) else None
            emotion = CLASS_NAMES[label - 1] if label else ""
        if label is None:
            _warn(f"{path.name}: clip {clip}: label outside negative/positive/surprise; ignored")
        out[_smic_key(clip)] = dict(
            subject=str(row[cols["subject"]]).strip() if "subject" in cols else "",
            clip=clip, label=label, emotion=emotion,
            **{k: _int_or_none(row[cols[k]]) if k in cols else None
               for k in ("onset", "apex", "offset")})
    return out


def scan_smic(root: str | os.PathLike, subset: str = "HS",
              annotations: str | os.PathLike | None = None) -> list[ClipInfo]:
    """Micro-expression clips of one SMIC subset, from its folder layout.

    Parameters
    ----------
    root : path
        ``SMIC_all_cropped`` (holding ``HS``, ``VIS``, ``NIR``) or one subset folder.
    subset : {"HS", "VIS", "NIR"}
    annotations : path, optional
        A SMIC annotation CSV (:func:`read_smic_annotations`): adds onset/apex/offset; a label
        that disagrees with the class folder is reported with a warning (the folder wins) and
        annotated clips without a folder are reported.

    Returns
    -------
    clips : list of ClipInfo
        Sorted by subject and clip; ``database`` is ``SMIC_<subset>``. ``non_micro`` folders
        and unknown class folders are skipped (the latter with a warning).
    """
    subset = subset.upper().removeprefix("SMIC_")
    if subset not in SMIC_SUBSETS:
        raise ValueError(f"unknown SMIC subset {subset!r}: use one of {SMIC_SUBSETS}")
    base = _smic_subset_dir(Path(root), subset)
    ann = read_smic_annotations(annotations) if annotations is not None else None
    clips: list[ClipInfo] = []
    for subj in sorted((e for e in base.iterdir() if e.is_dir()), key=natural_key):
        if _subject_number(subj.name) is None:
            _warn(f"SMIC {subset}: ignored folder {subj.name} (not a subject folder s<k>)")
            continue
        micro = _find_child(subj, "micro")
        if micro is None:
            _warn(f"SMIC {subset}: subject {subj.name} has no 'micro' folder; skipped")
            continue
        for cls in sorted((e for e in micro.iterdir() if e.is_dir()), key=natural_key):
            label = LABELS.get(cls.name.lower())
            if label is None:
                _warn(f"SMIC {subset}: ignored class folder {subj.name}/micro/{cls.name} "
                      f"(expected {', '.join(CLASS_NAMES)})")
                continue
            for clip_dir in sorted((e for e in cls.iterdir() if e.is_dir()), key=natural_key):
                info = ClipInfo(f"SMIC_{subset}", subj.name, clip_dir.name, label, clip_dir,
                                emotion=cls.name.lower())
                if ann is not None:
                    a = ann.pop(_smic_key(clip_dir.name), None)
                    if a is None:
                        _warn(f"SMIC {subset}: clip {info.key} is not in the annotation file")
                    else:
                        info.onset, info.apex, info.offset = a["onset"], a["apex"], a["offset"]
                        if a["label"] is not None and a["label"] != label:
                            msg = (f"annotation says {CLASS_NAMES[a['label'] - 1]}, folder "
                                   f"says {cls.name}; the folder is used")
                            info.notes.append(msg)
                            _warn(f"SMIC {subset}: clip {info.key}: {msg}")
                clips.append(info)
    if ann:
        missing = sorted(v["clip"] for v in ann.values() if v["label"] is not None)
        if missing:
            _warn(f"SMIC {subset}: {len(missing)} annotated clip(s) have no folder: "
                  f"{missing[:10]}")
    if not clips:
        raise ValueError(f"no SMIC {subset} micro-expression clips found under {base}")
    return clips


def _norm(name) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _int_or_none(value) -> int | None:
    try:
        f = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) and f == int(f) else None


CASME2_COLUMNS = {"subject": "Subject", "filename": "Filename",
                  "estimatedemotion": "Estimated Emotion"}
CASME2_OPTIONAL = {"onsetframe": "onset", "apexframe": "apex", "offsetframe": "offset"}


def read_casme2_annotations(path: str | os.PathLike):
    """Read the CASME II coding spreadsheet (``.xlsx``, ``.xls`` or ``.csv``).

    Needs the columns ``Subject``, ``Filename`` and ``Estimated Emotion`` (matched ignoring
    case, spaces and punctuation); ``OnsetFrame``, ``ApexFrame`` and ``OffsetFrame`` are read
    when present (non-numeric entries such as ``/`` become missing).

    Returns
    -------
    table : pandas.DataFrame
        Columns ``subject`` (``sub01`` ...), ``clip``, ``onset``, ``apex``, ``offset``
        (nullable integers), ``emotion`` (lower case) and ``label`` (1 = negative, 2 =
        positive, 3 = surprise, or missing for the emotions the 3-class protocol drops; an
        emotion that is neither mapped nor a known CASME II emotion is reported with a
        :class:`DataWarning` naming the clip).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CASME II coding file {path} does not exist")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        require("openpyxl", f"reading {path.name}")  # pandas' engine for .xlsx
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(path)
        else:
            df = pd.read_csv(path)
    except Exception as err:  # openpyxl / parser errors come in many types
        raise ValueError(f"{path}: not a readable spreadsheet ({type(err).__name__}: {err})") \
            from None
    cols = {_norm(c): c for c in df.columns}
    if "estimatedemotion" not in cols and "emotion" in cols:
        cols["estimatedemotion"] = cols["emotion"]
    missing = [v for k, v in CASME2_COLUMNS.items() if k not in cols]
    if missing:
        raise ValueError(f"{path}: the CASME II coding sheet needs columns {missing}; found "
                         f"{[str(c) for c in df.columns]}")
    out = pd.DataFrame({
        "subject": [_casme2_subject(v) for v in df[cols["subject"]]],
        "clip": df[cols["filename"]].astype(str).str.strip(),
    })
    for k, name in CASME2_OPTIONAL.items():
        values = [_int_or_none(v) for v in df[cols[k]]] if k in cols else [None] * len(df)
        out[name] = pd.array(values, dtype="Int64")
    out["emotion"] = df[cols["estimatedemotion"]].astype(str).str.strip().str.lower()
    out["label"] = pd.array([CASME2_MAPPING.get(e) for e in out["emotion"]], dtype="Int64")
    unknown = out[out["label"].isna() & ~out["emotion"].isin(CASME2_DROPPED)]
    for _, row in unknown.iterrows():
        _warn(f"CASME II: clip {row['subject']}/{row['clip']}: emotion {row['emotion']!r} is "
              f"outside the 3-class mapping ({', '.join(CASME2_MAPPING)}) and not a known "
              "dropped emotion; skipped")
    return out


def _casme2_subject(value) -> str:
    n = _int_or_none(value)
    if n is not None:
        return f"sub{n:02d}"
    n = _subject_number(str(value))
    return f"sub{n:02d}" if n is not None else str(value).strip()


def _casme2_base(root: Path) -> Path:
    if not root.is_dir():
        raise FileNotFoundError(f"CASME II root {root} does not exist")
    queue = [root]
    for _ in range(3):  # the root, or up to two levels below (CASME2_Cropped/Cropped/sub01)
        nxt = []
        for folder in queue:
            subs = [e for e in folder.iterdir() if e.is_dir()]
            if any(e.name.lower().startswith("sub") and _subject_number(e.name) is not None
                   for e in subs):
                return folder
            nxt.extend(sorted(subs, key=natural_key))
        queue = nxt
    raise FileNotFoundError(f"no CASME II subject folders (sub01, sub02, ...) under {root}")


def scan_casme2(root: str | os.PathLike,
                annotations: str | os.PathLike) -> list[ClipInfo]:
    """The CASME II clips of the 3-class protocol, from the folders and the coding sheet.

    Parameters
    ----------
    root : path
        Folder holding ``sub01``, ``sub02``, ... (or up to two levels above it, e.g.
        ``CASME2_Cropped``).
    annotations : path
        The coding spreadsheet (``CASME2-coding-20140508.xlsx``).

    Returns
    -------
    clips : list of ClipInfo
        One per sheet row with a mapped emotion, in sheet order. A row whose folder is missing
        is still returned (its extraction fails and is reported); folders with no sheet row
        are skipped with a warning.
    """
    base = _casme2_base(Path(root))
    table = read_casme2_annotations(annotations)
    subjects = {}
    for e in base.iterdir():
        n = _subject_number(e.name) if e.is_dir() else None
        if n is not None:
            subjects[f"sub{n:02d}"] = e
    annotated = set()
    clips = []
    n_dropped = 0
    for row in table.itertuples(index=False):
        annotated.add((row.subject, row.clip.lower()))
        if pd_isna(row.label):
            n_dropped += 1
            continue
        subj_dir = subjects.get(row.subject, base / row.subject)
        clip_dir = _find_child(subj_dir, row.clip) or subj_dir / row.clip
        clips.append(ClipInfo(
            "CASME2", row.subject, row.clip, int(row.label), clip_dir, emotion=row.emotion,
            onset=None if pd_isna(row.onset) else int(row.onset),
            apex=None if pd_isna(row.apex) else int(row.apex),
            offset=None if pd_isna(row.offset) else int(row.offset)))
    extra = sorted(f"{s}/{c.name}" for s, d in subjects.items() for c in d.iterdir()
                   if c.is_dir() and (s, c.name.lower()) not in annotated)
    if extra:
        _warn(f"CASME II: {len(extra)} clip folder(s) without a row in the coding sheet "
              f"ignored: {extra[:10]}")
    if not clips:
        raise ValueError(f"no CASME II clips with a 3-class emotion in {annotations}")
    return clips


def pd_isna(value) -> bool:
    """True for None, NaN and pandas' missing values."""
    import pandas as pd

    return bool(pd.isna(value))


def scan_database(database: str, root: str | os.PathLike,
                  annotations: str | os.PathLike | None = None) -> list[ClipInfo]:
    """Clips of ``CASME2``, ``SMIC_HS``, ``SMIC_VIS`` or ``SMIC_NIR`` under ``root``."""
    if database == "CASME2":
        if annotations is None:
            raise ValueError("CASME2 needs the coding spreadsheet: pass --annotations "
                             "CASME2-coding-20140508.xlsx")
        return scan_casme2(root, annotations)
    if database.upper().startswith("SMIC_"):
        return scan_smic(root, database.upper().removeprefix("SMIC_"), annotations)
    raise ValueError(f"unknown database {database!r}: use CASME2, SMIC_HS, SMIC_VIS or SMIC_NIR")


def load_clip(info: ClipInfo, frames: str = "all", **preprocess_kwargs) -> np.ndarray:
    """Read and preprocess one clip of a database (:func:`preprocess`)."""
    paths = info.frame_paths(frames)
    raw = read_clip(paths, clip=info.key)
    return preprocess(raw, name=info.key, **preprocess_kwargs)


__all__: Sequence[str] = (
    "ClipInfo", "DataWarning", "crop_face", "detect_face", "frame_number", "list_frames",
    "load_clip", "natural_key", "preprocess", "quantize", "read_casme2_annotations",
    "read_clip", "read_image", "read_smic_annotations", "resize_bicubic", "resize_weights",
    "scan_casme2", "scan_database", "scan_smic", "to_grey",
)
