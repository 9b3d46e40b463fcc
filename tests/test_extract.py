"""`tgsr extract` end to end on synthetic frame-folder trees."""

import argparse

import numpy as np
import pytest

from tgsr_lib.data import datasets, layout
from tgsr_lib.features import extract, synthetic


@pytest.fixture(scope="module")
def smic_tree(tmp_path_factory):
    """A small synthetic database written as a SMIC tree (PNG frames)."""
    root = tmp_path_factory.mktemp("smic") / "SMIC_all_cropped"
    db = synthetic.make_database("SYN_VIS", n_per_class=2, n_subjects=2, seed=0)
    synthetic.write_database(db, root, subset="VIS")
    synthetic.make_features(db)
    return root, db


def run(*argv):
    parser = argparse.ArgumentParser()
    extract.configure_parser(parser)
    return extract.run(parser.parse_args([str(a) for a in argv]))


def test_cli_extracts_the_in_memory_features(smic_tree, tmp_path, capsys):
    root, db = smic_tree
    out = tmp_path / "vis.npz"
    rc = run("--database", "SMIC_VIS", "--root", root, "--out", out, "--jobs", 2,
             "--no-progress")
    assert rc == 0
    assert not extract.partial_dir(out).exists()
    feats = datasets.read_feature_file(out)  # what load_features(PATH) uses
    assert feats.X.shape == (6, layout.FEATURE_DIM)
    got = extract.read_extracted(out)
    order = [list(db.clip).index(c) for c in got["clip"]]
    assert np.array_equal(got["X"], db.features[order])
    assert np.array_equal(got["y"], db.y[order])
    assert list(got["subject"]) == list(db.subject[order])
    assert "wrote" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".h5", ".mat"])
def test_other_formats(smic_tree, tmp_path, suffix):
    root, db = smic_tree
    out = tmp_path / f"vis{suffix}"
    assert run("--database", "SMIC_VIS", "--root", root, "--out", out, "--no-progress") == 0
    got = extract.read_extracted(out)
    assert got["X"].shape == (6, layout.FEATURE_DIM)
    assert sorted(got["clip"]) == sorted(db.clip)
    assert datasets.load_features(str(out)).X.shape == (6, layout.FEATURE_DIM)


def test_bad_clip_is_reported_and_resume_works(smic_tree, tmp_path, capsys):
    import shutil

    src, _ = smic_tree
    root = tmp_path / "tree"
    shutil.copytree(src, root)
    bad = root / "VIS" / "s1" / "micro" / "surprise" / "s1_sur_99"
    bad.mkdir(parents=True)
    (bad / "img1.png").write_bytes(b"broken")
    (bad / "img2.png").write_bytes(b"broken")
    empty = root / "VIS" / "s2" / "micro" / "positive" / "s2_po_98"
    empty.mkdir(parents=True)
    out = tmp_path / "vis.npz"
    rc = run("--database", "SMIC_VIS", "--root", root, "--out", out, "--no-progress")
    err = capsys.readouterr().err
    assert rc == 1
    assert "2 clip(s) failed" in err
    assert "s1/s1_sur_99: ValueError: clip s1/s1_sur_99: unreadable image" in err
    assert "s2/s2_po_98: ValueError: clip s2/s2_po_98: no image frames" in err
    assert datasets.read_feature_file(out).X.shape == (6, layout.FEATURE_DIM)
    assert len(list(extract.partial_dir(out).glob("*.npy"))) == 6
    # fix one, drop the other, rerun: the 6 finished clips are reused
    shutil.rmtree(bad)
    shutil.rmtree(empty)
    rc = run("--database", "SMIC_VIS", "--root", root, "--out", out, "--no-progress")
    assert rc == 0
    assert "reused 6 clip(s)" in capsys.readouterr().err
    # other settings on kept clips are refused
    rc = run("--database", "SMIC_VIS", "--root", root, "--out", tmp_path / "x.npz",
             "--no-progress")
    assert rc == 0
    part = extract.partial_dir(tmp_path / "y.npz")
    part.mkdir()
    (part / "settings.json").write_text('{"database": "SMIC_VIS", "P": 4}')
    rc = run("--database", "SMIC_VIS", "--root", root, "--out", tmp_path / "y.npz",
             "--no-progress")
    assert rc == 2 and "--restart" in capsys.readouterr().err


def test_usage_errors(tmp_path, capsys):
    assert run("--database", "CASME2", "--root", tmp_path, "--out", tmp_path / "c.npz") == 2
    assert "coding spreadsheet" in capsys.readouterr().err
    assert run("--database", "SMIC_HS", "--root", tmp_path, "--out", tmp_path / "c.csv") == 2
    assert run("--database", "SMIC_HS", "--root", tmp_path / "nope",
               "--out", tmp_path / "c.npz") == 2
    assert "does not exist" in capsys.readouterr().err


def test_all_clips_failing(tmp_path, capsys):
    folder = tmp_path / "HS" / "s1" / "micro" / "negative" / "s1_ne_01"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(b"x")
    rc = run("--database", "SMIC_HS", "--root", tmp_path, "--out", tmp_path / "o.npz",
             "--no-progress")
    assert rc == 2 and "no clip could be extracted" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_parser_defaults():
    parser = argparse.ArgumentParser()
    extract.configure_parser(parser)
    args = parser.parse_args(["--database", "SMIC_NIR", "--root", "r", "--out", "o.npz"])
    assert (args.size, args.n_frames, args.P, args.R, args.frames) == (112, 16, 8, 3.0, "all")
    assert not args.face_crop and not args.no_progress and args.jobs >= 1


def test_too_few_frames_after_tim(smic_tree, tmp_path, capsys):
    root, _ = smic_tree
    rc = run("--database", "SMIC_VIS", "--root", root, "--out", tmp_path / "o.npz",
             "--n-frames", 5, "--no-progress")
    assert rc == 2 and "(2R+1)" in capsys.readouterr().err
