"""Synthetic micro-expression databases: the embedded default when no licensed data is at hand.

A real face (``skimage.data.astronaut()``, NASA, public domain) is cropped to the face,
``[68:180, 167:279]`` (rows, columns: 112 x 112 pixels from the hairline above the brows to the
chin), and converted to grey (:func:`tgsr_lib.features.video.to_grey`). Clips animate it with small
localised movements (1-3 pixels at the apex, onset -> apex -> offset) in known regions that
depend on the class, loosely after FACS action units:

* negative: inner brows lowered and drawn together (AU4) and a nose wrinkle (AU9);
* positive: mouth corners pulled up and out (AU12);
* surprise: brows raised (AU1+2) and the jaw dropped (AU26).

Every clip also carries nuisance movements shared by all classes (an eye blink with some
probability) and a per-subject pose (a small shift, scale and rotation of the face). Domains
("databases") differ, like SMIC-HS/VIS/NIR and CASME II, in frame count (frame rate), contrast,
gamma, brightness, illumination gradient, blur and sensor noise. Because the moving regions are
known (:func:`motion_map`, :func:`planted_blocks`), the pipeline TIM -> LBP-TOP -> TGSR with
the ``blocks`` grouping can be checked to select them (:func:`overlap`).

The face comes from scikit-image and :func:`write_database` writes frames with OpenCV: the
``video`` extra (``pip install "tgsr[video]"``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from tgsr_lib._optional import require
from tgsr_lib.data import layout
from tgsr_lib.features import lbptop, tim, video

#: The face crop of ``skimage.data.astronaut()`` (rows, columns).
FACE_CROP = (slice(68, 180), slice(167, 279))
SIZE = 112


@dataclass(frozen=True)
class Movement:
    """A localised displacement: a Gaussian bump of width ``sigma`` pixels around ``centre``
    (row, column) moving along the unit ``direction`` (d_row, d_col)."""

    name: str
    centre: tuple[float, float]
    sigma: float
    direction: tuple[float, float]


def _unit(dr: float, dc: float) -> tuple[float, float]:
    n = float(np.hypot(dr, dc))
    return (dr / n, dc / n)


#: Class label (1 negative, 2 positive, 3 surprise) -> planted movements.
ACTIONS: dict[int, tuple[Movement, ...]] = {
    1: (Movement("left inner brow (AU4)", (23.0, 44.0), 4.5, _unit(1, 1)),
        Movement("right inner brow (AU4)", (23.0, 68.0), 4.5, _unit(1, -1)),
        Movement("nose wrinkle (AU9)", (50.0, 56.0), 5.0, _unit(-1, 0))),
    2: (Movement("left mouth corner (AU12)", (72.0, 34.0), 5.0, _unit(-1, -1)),
        Movement("right mouth corner (AU12)", (72.0, 80.0), 5.0, _unit(-1, 1))),
    3: (Movement("left brow (AU1+2)", (21.0, 32.0), 5.5, _unit(-1, 0)),
        Movement("right brow (AU1+2)", (21.0, 80.0), 5.5, _unit(-1, 0)),
        Movement("jaw drop (AU26)", (96.0, 56.0), 6.0, _unit(1, 0))),
}

#: Movements of every class (nuisance): a blink of both upper eyelids.
BLINK = (Movement("left eyelid", (32.0, 36.0), 3.5, _unit(1, 0)),
         Movement("right eyelid", (32.0, 77.0), 3.5, _unit(1, 0)))


@dataclass(frozen=True)
class DomainSpec:
    """Acquisition conditions of one synthetic database."""

    name: str
    frames: tuple[int, int]          #: clip length range (frame rate)
    contrast: float = 1.0            #: gain around mid-grey
    gamma: float = 1.0
    brightness: float = 0.0          #: grey-level offset
    gradient: float = 0.0            #: max illumination gradient across the face, grey levels
    blur: float = 0.0                #: Gaussian blur sigma, pixels
    noise: float = 1.0               #: sensor noise sigma per frame, grey levels
    amplitude: tuple[float, float] = (1.0, 3.0)  #: apex displacement range, pixels
    blink_rate: float = 0.3
    jitter: float = 0.0              #: per-frame head / camera shake, pixels (sigma)
    description: str = ""


#: The default domains, loosely after the real databases.
DOMAINS: dict[str, DomainSpec] = {
    "SYN_HS": DomainSpec("SYN_HS", (30, 45), noise=1.0,
                         description="high speed: long clips, clean"),
    "SYN_VIS": DomainSpec("SYN_VIS", (8, 13), contrast=0.85, gamma=0.9, brightness=10,
                          gradient=20, noise=2.0, blur=0.5, jitter=0.25,
                          description="25 fps colour camera: short clips, warmer, some noise"),
    "SYN_NIR": DomainSpec("SYN_NIR", (8, 13), contrast=0.6, gamma=1.3, brightness=-10,
                          gradient=45, noise=3.5, blur=0.8, jitter=0.4,
                          description="near infrared: low contrast, side light, noisy"),
}


@lru_cache(maxsize=1)
def _base_face() -> np.ndarray:
    data = require("skimage.data", "the synthetic face")
    face = video.to_grey(data.astronaut()[FACE_CROP])
    face.flags.writeable = False
    return face


def base_face() -> np.ndarray:
    """The 112 x 112 grey face (float64, 0..255) cropped from ``skimage.data.astronaut()``."""
    return _base_face().copy()


def _bumps(movements, scale: float = 1.0, shape=(SIZE, SIZE)) -> tuple[np.ndarray, np.ndarray]:
    """Displacement field (d_row, d_col) of unit-amplitude movements."""
    rr, cc = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    dr = np.zeros(shape)
    dc = np.zeros(shape)
    for m in movements:
        g = np.exp(-((rr - m.centre[0]) ** 2 + (cc - m.centre[1]) ** 2) / (2 * m.sigma ** 2))
        dr += scale * g * m.direction[0]
        dc += scale * g * m.direction[1]
    return dr, dc


def motion_map(label: int | None = None) -> np.ndarray:
    """Displacement magnitude of the planted movements at unit amplitude, (112, 112).

    ``label`` 1, 2 or 3 for one class; None for the maximum over the three classes.
    """
    labels = (1, 2, 3) if label is None else (int(label),)
    out = np.zeros((SIZE, SIZE))
    for lab in labels:
        if lab not in ACTIONS:
            raise ValueError(f"label {lab!r} outside 1 (negative), 2 (positive), 3 (surprise)")
        dr, dc = _bumps(ACTIONS[lab])
        out = np.maximum(out, np.hypot(dr, dc))
    return out


def planted_blocks(threshold: float = 0.5, min_fraction: float = 0.1,
                   label: int | None = None) -> np.ndarray:
    """Groups (0..84, ``blocks`` grouping) whose block holds planted movement.

    The moving core of a region is where the unit-amplitude displacement (:func:`motion_map`)
    reaches ``threshold`` (half its maximum by default); a block counts when that core covers
    at least ``min_fraction`` of its pixels (:func:`tgsr_lib.data.layout.block_rectangle`). With
    the defaults 20 of the 85 blocks count (chance level 0.235): fine blocks on the brows,
    nose and mouth corners and the 4 x 4 blocks around them; the whole face and the 2 x 2
    quadrants hold too little movement for their size.
    """
    mm = motion_map(label)
    out = []
    g = 0
    for n in layout.SCALES:
        for k in range(n * n):
            top, left, h, w = layout.block_rectangle(n, k)
            if (mm[top:top + h, left:left + w] >= threshold).mean() >= min_fraction:
                out.append(g)
            g += 1
    return np.array(out, dtype=np.int64)


def block_scales() -> np.ndarray:
    """Scale (1, 2, 4, 8) of each of the 85 groups of the ``blocks`` grouping."""
    return np.concatenate([[n] * (n * n) for n in layout.SCALES])


def overlap(selected, planted=None, n_groups: int = layout.N_GROUPS) -> dict:
    """How far the selected groups overlap the planted ones, against chance.

    Returns ``precision`` (share of selected groups that are planted), ``chance`` (share of
    planted groups among all, the expected precision of a random selection), ``lift``
    (precision / chance), ``hits`` and ``p_value`` (hypergeometric: probability that a random
    selection of the same size hits at least as many planted groups).
    """
    from scipy.stats import hypergeom

    selected = np.unique(np.asarray(selected, dtype=np.int64))
    planted = planted_blocks() if planted is None else np.unique(np.asarray(planted))
    if selected.size == 0:
        raise ValueError("no selected groups")
    hits = int(np.isin(selected, planted).sum())
    precision = hits / selected.size
    chance = planted.size / n_groups
    p = float(hypergeom.sf(hits - 1, n_groups, planted.size, selected.size))
    return dict(hits=hits, n_selected=int(selected.size), n_planted=int(planted.size),
                precision=precision, chance=chance, lift=precision / chance, p_value=p)


def _profile(T: int, rng: np.random.Generator) -> np.ndarray:
    """Onset -> apex -> offset activation in [0, 1] over T frames (raised-cosine ramps)."""
    onset = rng.uniform(0.1, 0.3)
    apex = rng.uniform(0.45, 0.6)
    offset = rng.uniform(0.8, 0.95)
    s = np.linspace(0, 1, T)
    a = np.zeros(T)
    up = (s > onset) & (s <= apex)
    a[up] = 0.5 - 0.5 * np.cos(np.pi * (s[up] - onset) / (apex - onset))
    down = (s > apex) & (s < offset)
    a[down] = 0.5 + 0.5 * np.cos(np.pi * (s[down] - apex) / (offset - apex))
    return a


@dataclass(frozen=True)
class Subject:
    """Pose of one synthetic subject: shift (rows, columns), scale and rotation (degrees)."""

    shift: tuple[float, float]
    scale: float
    rotation: float


def _subjects(n: int, rng: np.random.Generator) -> list[Subject]:
    return [Subject((float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2))),
                    float(rng.uniform(0.97, 1.03)), float(rng.uniform(-3, 3)))
            for _ in range(n)]


def _pose_coords(subject: Subject) -> tuple[np.ndarray, np.ndarray]:
    """Source coordinates in the base face of each output pixel for a subject's pose."""
    rr, cc = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    c0 = (SIZE - 1) / 2
    th = np.deg2rad(subject.rotation)
    y, x = rr - c0 - subject.shift[0], cc - c0 - subject.shift[1]
    ys = (np.cos(th) * y - np.sin(th) * x) / subject.scale + c0
    xs = (np.sin(th) * y + np.cos(th) * x) / subject.scale + c0
    return ys, xs


def make_clip(label: int, spec: DomainSpec | str = "SYN_HS",
              rng: np.random.Generator | int | None = 0,
              subject: Subject | None = None) -> np.ndarray:
    """One synthetic micro-expression clip, ``(T, 112, 112)`` grey levels 0..255 (integers).

    Parameters
    ----------
    label : {1, 2, 3}
        negative, positive, surprise (:data:`ACTIONS` gives the moving regions).
    spec : DomainSpec or name in :data:`DOMAINS`
        Acquisition conditions.
    rng : numpy Generator or seed
    subject : Subject, optional
        Head pose; the identity pose by default.
    """
    from scipy import ndimage

    spec = DOMAINS[spec] if isinstance(spec, str) else spec
    if label not in ACTIONS:
        raise ValueError(f"label {label!r} outside 1 (negative), 2 (positive), 3 (surprise)")
    rng = np.random.default_rng(rng)
    subject = subject or Subject((0.0, 0.0), 1.0, 0.0)
    T = int(rng.integers(spec.frames[0], spec.frames[1] + 1))
    amp = rng.uniform(*spec.amplitude)
    profile = _profile(T, rng)
    dr, dc = _bumps(ACTIONS[label], amp)
    if rng.random() < spec.blink_rate:  # nuisance: a blink at a random time, 1-2 px
        br, bc = _bumps(BLINK, rng.uniform(1.0, 2.0))
        centre = rng.uniform(0.2, 0.8) * (T - 1)
        blink = np.exp(-0.5 * ((np.arange(T) - centre) / max(T / 12, 0.7)) ** 2)
    else:
        br = bc = None
        blink = np.zeros(T)
    ys, xs = _pose_coords(subject)
    coeffs = ndimage.spline_filter(_base_face(), order=3, mode="nearest")
    # illumination: a linear gradient across the face in a random direction
    ang = rng.uniform(0, 2 * np.pi)
    rr, cc = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1) - 0.5
    gradient = spec.gradient * (np.cos(ang) * rr + np.sin(ang) * cc)
    shake = rng.normal(0.0, spec.jitter, size=(T, 2)) if spec.jitter > 0 else np.zeros((T, 2))
    frames = np.empty((T, SIZE, SIZE))
    for t in range(T):
        # backward warp: the pixel at p shows the face at p - displacement(p)
        sy = ys - profile[t] * dr + shake[t, 0]
        sx = xs - profile[t] * dc + shake[t, 1]
        if br is not None:
            sy = sy - blink[t] * br
            sx = sx - blink[t] * bc
        frames[t] = ndimage.map_coordinates(coeffs, [sy, sx], order=3, mode="nearest",
                                            prefilter=False)
    if spec.blur > 0:
        frames = ndimage.gaussian_filter(frames, sigma=(0, spec.blur, spec.blur))
    x = np.clip(frames, 0, 255) / 255.0
    x = 255.0 * x ** spec.gamma
    x = 128.0 + spec.contrast * (x - 128.0) + spec.brightness + gradient
    x = x + rng.normal(0.0, spec.noise, size=x.shape)
    return video.quantize(x)


class Clips(Sequence):
    """Grey clips held as 8-bit integers and handed out as float64 arrays (a fresh copy at
    each access), as :func:`tgsr_lib.features.video.read_clip` returns them. Exact: a synthetic
    frame holds whole grey levels 0..255 (:func:`make_clip`). An eighth of the memory: the
    240 clips of notebook 06's four domains take 0.35 GB as float64."""

    def __init__(self, clips=()):
        self._clips: list[np.ndarray] = []
        for clip in clips:
            self.append(clip)

    def append(self, clip) -> None:
        clip = np.asarray(clip)
        small = clip.astype(np.uint8)
        if not np.array_equal(small, clip):
            raise ValueError("a clip of Clips must hold whole grey levels 0..255: round it "
                             "with tgsr_lib.features.video.quantize first")
        self._clips.append(small)

    def __len__(self) -> int:
        return len(self._clips)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [c.astype(np.float64) for c in self._clips[index]]
        return self._clips[index].astype(np.float64)


@dataclass
class SyntheticDatabase:
    """Clips of one synthetic domain with labels (1..3), subject and clip ids; ``clips[i]``
    is a ``(T, 112, 112)`` float64 array (:class:`Clips`)."""

    name: str
    spec: DomainSpec
    clips: Clips
    y: np.ndarray
    subject: np.ndarray
    clip: np.ndarray
    seed: int = 0
    features: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.clips)


def make_database(domain: DomainSpec | str = "SYN_HS", n_per_class: int = 20,
                  n_subjects: int = 5, seed: int = 0) -> SyntheticDatabase:
    """A synthetic database: ``n_per_class`` clips of each class from ``n_subjects`` subjects.

    Deterministic for a given ``seed`` and domain.
    """
    spec = DOMAINS[domain] if isinstance(domain, str) else domain
    if int(n_per_class) < 1 or int(n_subjects) < 1:
        raise ValueError("n_per_class and n_subjects must be at least 1")
    # one stream per domain and seed, independent of the order domains are made in
    rng = np.random.default_rng([int(seed), *[ord(ch) for ch in spec.name]])
    subjects = _subjects(int(n_subjects), rng)
    clips, y, subj, ids = Clips(), [], [], []
    for label in (1, 2, 3):
        short = video.CLASS_NAMES[label - 1][:2] if label < 3 else "sur"
        for i in range(int(n_per_class)):
            s = int(rng.integers(len(subjects)))
            clips.append(make_clip(label, spec, rng, subjects[s]))
            y.append(label)
            subj.append(f"s{s + 1}")
            ids.append(f"s{s + 1}_{short}_{i + 1:02d}")
    return SyntheticDatabase(spec.name, spec, clips, np.array(y), np.array(subj),
                             np.array(ids), int(seed))


def make_features(db: SyntheticDatabase, n_frames: int = tim.N_FRAMES) -> np.ndarray:
    """TIM to ``n_frames`` (rounded to 8 bits) and the 15045-dim LBP-TOP of every clip.

    The clips are 112 x 112 already, so no resize is needed. Stored in ``db.features``.
    """
    vols = np.stack([video.quantize(tim.interpolate(c, n_frames)) for c in db.clips])
    db.features = lbptop.multiscale_lbptop_batch(vols)
    return db.features


def write_database(db: SyntheticDatabase, root: str | os.PathLike, subset: str = "HS",
                   ext: str = ".png") -> Path:
    """Write a synthetic database as a SMIC-style frame-folder tree.

    ``<root>/<subset>/<subject>/micro/<class>/<clip>/img<k>.png`` (``k`` from 1), readable by
    :func:`tgsr_lib.features.video.scan_smic` and ``tgsr extract --database SMIC_<subset>``.
    Returns the subset folder.
    """
    cv2 = require("cv2", "writing frames")

    base = Path(root) / subset
    for clip, label, subj, cid in zip(db.clips, db.y, db.subject, db.clip, strict=True):
        folder = base / subj / "micro" / video.CLASS_NAMES[int(label) - 1] / cid
        folder.mkdir(parents=True, exist_ok=True)
        for k, frame in enumerate(clip.astype(np.uint8), start=1):
            ok, buf = cv2.imencode(ext, frame)
            if not ok:
                raise ValueError(f"cannot encode {ext} frames")
            buf.tofile(folder / f"img{k}{ext}")
    return base
