"""Frame reading, grey, resize, face crop, and the SMIC / CASME II loaders on fake trees."""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from tgsr_lib.features import video

SHARED = Path(__file__).resolve().parents[2] / "shared"
ANNOTATIONS = SHARED / "data" / "annotations"
CASME2_SHEET = ANNOTATIONS / "CASME2-coding-20140508.xlsx"
SMIC_CSV = ANNOTATIONS / "smic-hs-3classes_xiazhaoqiang.csv"


def write_frames(folder: Path, n: int = 4, size=(30, 24), name="img{}.png", colour=False,
                 seed=0, start=1):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(start, start + n):
        shape = (*size, 3) if colour else size
        cv2.imwrite(str(folder / name.format(k)), rng.integers(0, 256, shape).astype(np.uint8))
    return folder


# ----------------------------------------------------------------------------------------------
# frames


def test_natural_sort_and_frame_numbers(tmp_path):
    write_frames(tmp_path / "c", n=12, name="reg_img{}.jpg")
    names = [p.name for p in video.list_frames(tmp_path / "c")]
    assert names[:3] == ["reg_img1.jpg", "reg_img2.jpg", "reg_img3.jpg"]
    assert names[-1] == "reg_img12.jpg"
    assert video.frame_number("reg_image0559740.bmp") == 559740
    assert video.frame_number("nothing.png") is None


def test_odd_files_ignored_with_warning(tmp_path):
    folder = write_frames(tmp_path / "clip1", n=3)
    (folder / "Thumbs.db").write_text("x")
    (folder / "notes.txt").write_text("x")
    with pytest.warns(video.DataWarning, match="clip1.*Thumbs.db"):
        assert len(video.list_frames(folder)) == 3


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image frames"):
        video.list_frames(tmp_path / "empty", "s1/empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        video.list_frames(tmp_path / "nope")


def test_unreadable_image_names_clip(tmp_path):
    folder = write_frames(tmp_path / "c", n=2)
    (folder / "img3.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="clip s9/c: unreadable image .*img3.png"):
        video.read_clip(folder, clip="s9/c")


def test_frames_of_different_sizes(tmp_path):
    folder = write_frames(tmp_path / "c", n=2, size=(30, 24))
    write_frames(folder, n=1, size=(31, 24), start=3)
    with pytest.raises(ValueError, match="clip X: frames of different sizes"):
        video.read_clip(folder, clip="X")


def test_read_colour_and_grey(tmp_path):
    folder = write_frames(tmp_path / "c", n=3, colour=True)
    rgb = video.read_clip(folder, grey=False)
    grey = video.read_clip(folder)
    assert rgb.shape == (3, 30, 24, 3) and grey.shape == (3, 30, 24)
    bgr = cv2.imread(str(folder / "img1.png"))
    np.testing.assert_array_equal(rgb[0], bgr[..., ::-1])
    np.testing.assert_allclose(grey, video.to_grey(rgb))


def test_grey_formula():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=float)
    g = video.to_grey(px)
    np.testing.assert_allclose(g[0, :3], 255 * np.array(video.GREY_WEIGHTS))
    assert g[0, 3] == pytest.approx(0.2989 * 10 + 0.5870 * 20 + 0.1140 * 30, abs=1e-2)
    grey = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(video.to_grey(grey), grey)


# ----------------------------------------------------------------------------------------------
# resize


def test_resize_identity_constant_and_linear():
    img = np.random.default_rng(0).random((40, 30))
    np.testing.assert_allclose(video.resize_bicubic(img, (40, 30)), img, atol=1e-12)
    np.testing.assert_allclose(video.resize_bicubic(np.full((50, 70), 7.0), 112), 7.0)
    ramp = np.add.outer(np.arange(50.0), 2 * np.arange(40.0))
    up = video.resize_bicubic(ramp, (100, 80), antialias=False)
    # Keys' cubic reproduces linear functions away from the mirrored border
    r, c = np.mgrid[0:100, 0:80]
    want = (r + 0.5) / 2 - 0.5 + 2 * ((c + 0.5) / 2 - 0.5)
    np.testing.assert_allclose(up[4:-4, 4:-4], want[4:-4, 4:-4], atol=1e-9)


@pytest.mark.parametrize("shape", [(112, 112), (300, 260), (112, 200)])
def test_resize_matches_pillow_bicubic_inside(shape):
    """Pillow's BICUBIC is the same antialiased Keys kernel; borders differ (Pillow
    renormalises the clipped kernel, MATLAB mirrors)."""
    from PIL import Image

    img = np.random.default_rng(1).random((170, 140)) * 255
    ours = video.resize_bicubic(img, shape)
    pil = np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize(
        (shape[1], shape[0]), Image.BICUBIC))
    np.testing.assert_allclose(ours[6:-6, 6:-6], pil[6:-6, 6:-6], atol=1e-3)


def test_resize_clip_and_colour():
    clip = np.random.default_rng(2).random((5, 40, 30))
    out = video.resize_bicubic(clip, 20)
    assert out.shape == (5, 20, 20)
    np.testing.assert_allclose(out[2], video.resize_bicubic(clip[2], 20))
    colour = np.random.default_rng(3).random((40, 30, 3))
    assert video.resize_bicubic(colour, 20).shape == (20, 20, 3)


def test_preprocess_gives_16_frames_of_112():
    clip = np.random.default_rng(4).integers(0, 256, (9, 150, 130, 3))
    out = video.preprocess(clip)
    assert out.shape == (16, 112, 112)
    assert out.min() >= 0 and out.max() <= 255 and np.array_equal(out, np.round(out))
    with pytest.raises(ValueError, match="clip c1: 1 frame"):
        video.preprocess(clip[:1], name="c1")


# ----------------------------------------------------------------------------------------------
# face crop


def test_face_detection_on_astronaut():
    from skimage import data

    img = video.to_grey(data.astronaut())
    box = video.detect_face(img)
    assert box is not None
    top, left, h, w = box
    cy, cx = top + h / 2, left + w / 2
    assert 90 < cy < 160 and 190 < cx < 260  # the face, not the flag or the shuttle
    clip = np.stack([img, img])
    crop = video.crop_face(clip, name="astro")
    assert crop.shape[0] == 2 and abs(crop.shape[1] - crop.shape[2]) <= 1
    out = video.preprocess(np.stack([data.astronaut()] * 3), face_crop=True)
    assert out.shape == (16, 112, 112)


def test_no_face_is_an_error():
    flat = np.full((3, 120, 120), 128.0)
    with pytest.raises(ValueError, match="clip blank: no face detected"):
        video.crop_face(flat, name="blank")


# ----------------------------------------------------------------------------------------------
# SMIC


def make_smic(root: Path, subset="HS"):
    base = root / "SMIC_all_cropped" / subset
    for subj, cls, clip in [("s1", "negative", "s1_ne_01"), ("s1", "positive", "s1_po_01"),
                            ("s2", "surprise", "s2_sur_01"), ("s2", "negative", "s2_ne_02")]:
        write_frames(base / subj / "micro" / cls / clip, n=3, name="reg_image{}.bmp")
    write_frames(base / "s1" / "non_micro" / "x" / "s1_x_01", n=2)  # not micro: ignored
    (base / "s2" / "micro" / "happy" / "s2_ha_01").mkdir(parents=True)
    (base / "README").mkdir()
    return root / "SMIC_all_cropped"


def test_scan_smic(tmp_path):
    root = make_smic(tmp_path)
    with pytest.warns(video.DataWarning) as rec:
        clips = video.scan_smic(root, "HS")
    messages = " ".join(str(w.message) for w in rec)
    assert "happy" in messages and "README" in messages
    assert [c.key for c in clips] == ["s1/s1_ne_01", "s1/s1_po_01", "s2/s2_ne_02",
                                      "s2/s2_sur_01"]
    assert [c.label for c in clips] == [1, 2, 1, 3]
    assert all(c.database == "SMIC_HS" for c in clips)
    # the subset folder itself, and the folder above SMIC_all_cropped, work too
    with pytest.warns(video.DataWarning):
        assert len(video.scan_smic(root / "HS", "HS")) == 4
        assert len(video.scan_smic(tmp_path, "SMIC_HS")) == 4
    with pytest.raises(FileNotFoundError, match="VIS"):
        video.scan_smic(root, "VIS")
    with pytest.raises(ValueError, match="subset"):
        video.scan_smic(root, "XYZ")


def test_smic_annotations_cross_checked(tmp_path):
    root = make_smic(tmp_path)
    csv = tmp_path / "ann.csv"
    csv.write_text("s01,s01_ne_01,10,12,15,2\n"
                   "s01,s01_po_01,1,2,3,3\n"      # says surprise, folder says positive
                   "s02,s02_sur_01,5,6,9,3\n"
                   "s03,s03_po_07,1,2,3,1\n")     # no folder
    with pytest.warns(video.DataWarning) as rec:
        clips = video.scan_smic(root, "HS", annotations=csv)
    messages = " ".join(str(w.message) for w in rec)
    assert "s1/s1_po_01: annotation says surprise" in messages
    assert "s03_po_07" in messages and "s2/s2_ne_02 is not in the annotation" in messages
    by_key = {c.key: c for c in clips}
    assert (by_key["s1/s1_ne_01"].onset, by_key["s1/s1_ne_01"].offset) == (10, 15)
    assert by_key["s1/s1_po_01"].label == 2


@pytest.mark.skipif(not SMIC_CSV.is_file(), reason=f"{SMIC_CSV} not found")
def test_real_smic_hs_list():
    ann = video.read_smic_annotations(SMIC_CSV)
    assert len(ann) == 164
    labels = [a["label"] for a in ann.values()]
    assert (labels.count(1), labels.count(2), labels.count(3)) == (70, 51, 43)
    assert ann["s1_ne_01"]["onset"] == 559740
    assert all(("_ne_" in a["clip"]) == (a["label"] == 1) for a in ann.values())


def test_onset_offset_frames(tmp_path):
    folder = write_frames(tmp_path / "c", n=10, name="img{}.jpg", start=40)
    info = video.ClipInfo("CASME2", "sub01", "c", 2, folder, onset=42, apex=44, offset=46)
    chosen = info.frame_paths("onset-offset")
    assert [video.frame_number(p) for p in chosen] == [42, 43, 44, 45, 46]
    assert len(info.frame_paths("all")) == 10
    info.onset, info.offset = 100, 120
    with pytest.raises(ValueError, match="sub01/c: 0 frame"):
        info.frame_paths("onset-offset")


# ----------------------------------------------------------------------------------------------
# CASME II


def make_casme2(root: Path) -> tuple[Path, Path]:
    base = root / "CASME2_Cropped" / "Cropped"
    write_frames(base / "sub01" / "EP02_01f", n=3, name="reg_img{}.jpg")
    write_frames(base / "sub01" / "EP19_05f", n=3, name="reg_img{}.jpg")
    write_frames(base / "sub02" / "EP01_11f", n=3, name="reg_img{}.jpg")
    write_frames(base / "sub02" / "EP99_99", n=3, name="reg_img{}.jpg")  # not in the sheet
    sheet = pd.DataFrame({
        "Subject": [1, 1, 1, 2, 2, 3],
        "Filename": ["EP02_01f", "EP03_02", "EP19_05f", "EP01_11f", "EP05_05", "EP07_01"],
        "OnsetFrame": [1, 1, 1, 1, 1, 1],
        "ApexFrame": [2, 2, "/", 2, 2, 2],
        "OffsetFrame": [3, 3, 3, 3, 3, 3],
        "Action Units": ["12", "18", "4+L10", "15", "4", "1+2"],
        "Estimated Emotion": ["happiness", "others", "disgust", "repression", "contempt",
                              "surprise"],
    })
    path = root / "coding.xlsx"
    sheet.to_excel(path, index=False)
    return root / "CASME2_Cropped", path


def test_scan_casme2(tmp_path):
    root, sheet = make_casme2(tmp_path)
    with pytest.warns(video.DataWarning) as rec:
        clips = video.scan_casme2(root, sheet)
    messages = " ".join(str(w.message) for w in rec)
    assert "sub02/EP05_05: emotion 'contempt'" in messages
    assert "sub02/EP99_99" in messages
    assert [(c.key, c.label) for c in clips] == [
        ("sub01/EP02_01f", 2), ("sub01/EP19_05f", 1), ("sub02/EP01_11f", 1),
        ("sub03/EP07_01", 3)]
    assert clips[1].apex is None and clips[0].apex == 2
    # the annotated clip without a folder fails when read, naming it
    with pytest.raises(FileNotFoundError, match="sub03/EP07_01"):
        video.load_clip(clips[3])
    assert video.load_clip(clips[0]).shape == (16, 112, 112)


def test_casme2_sheet_missing_columns(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"Subject": [1], "Filename": ["EP02_01f"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="needs columns \\['Estimated Emotion'\\]"):
        video.read_casme2_annotations(path)
    with pytest.raises(ValueError, match="coding spreadsheet"):
        video.scan_database("CASME2", tmp_path)


@pytest.mark.skipif(not CASME2_SHEET.is_file(), reason=f"{CASME2_SHEET} not found")
def test_real_casme2_sheet():
    table = video.read_casme2_annotations(CASME2_SHEET)
    assert len(table) == 255
    counts = table["label"].value_counts()
    assert (counts[1], counts[2], counts[3]) == (90, 32, 25)  # disgust+repression, happy, surp.
    assert table["subject"].iloc[0] == "sub01" and table["clip"].iloc[0] == "EP02_01f"
    assert table["onset"].notna().all() and table["apex"].isna().sum() >= 1
