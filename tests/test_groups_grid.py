"""Grids on anyone's features: any dimension, any feature groups (no authors' files needed).

A researcher brings optical-flow or deep features with their own grouping into regions; the
grid runner, its cache, the command line (``tgsr grid --groups FILE``) and the report helpers
must give exactly what ``TGSR(kappa, xi, groups)`` fitted one point at a time gives.
"""

import numpy as np
import pandas as pd
import pytest

from tgsr_lib import TGSR
from tgsr_lib.cli import main
from tgsr_lib.compare import metrics, selection
from tgsr_lib.experiments import io, keys
from tgsr_lib.experiments.cache import cached_grid, grid_cache_path
from tgsr_lib.experiments.runner import compute_grid
from tgsr_lib.model.groups import resolve_groups
from tgsr_lib.report import tables

#: 50 features in 7 groups of unequal sizes; ids are neither contiguous nor sorted.
IDS = np.array([30, 4, 17, 9, 52, 1, 23])
SIZES = np.array([4, 9, 6, 12, 3, 8, 8])


def own_features(seed=0):
    """Source (30 samples) and target (18 samples) with 50 columns whose groups are
    interleaved; class c raises the features of one group, the target is shifted."""
    rng = np.random.default_rng(seed)
    groups = rng.permutation(np.repeat(IDS, SIZES))
    d = groups.size

    def domain(n_per_class, shift):
        y = np.repeat([1, 2, 3], n_per_class)
        X = rng.normal(scale=0.6, size=(y.size, d)) + shift
        for c, gid in zip((1, 2, 3), (4, 9, 23), strict=True):
            X[y == c] += 0.8 * (groups == gid)
        return X, y

    Xs, ys = domain(10, 0.0)
    Xt, yt = domain(6, 0.3 * rng.normal(size=d))
    return Xs, ys, Xt, yt, groups


def reference_rows(Xs, ys, Xt, yt, groups, kappas, xis):
    """The grid written out: one TGSR fit per point, scored with the project's metrics."""
    rows = []
    for k in kappas:
        for x in xis:
            model = TGSR(k, x, groups=groups).fit(Xs, ys, Xt)
            pred = model.predict(Xt)
            per_class = metrics.f1_per_class(yt, pred)
            rows.append({"kappa": k, "xi": x, "accuracy": metrics.accuracy(yt, pred),
                         "macro_f1": metrics.macro_f1(yt, pred), "n_iter": model.n_iter_,
                         "uar": metrics.uar(yt, pred),
                         **{f"f1_{c}": per_class.get(c, 0.0) for c in (1, 2, 3)}})
    return pd.DataFrame(rows)


@pytest.fixture
def files(tmp_path):
    """The features as the .npz files a user writes, and the group ids as a .npy file."""
    Xs, ys, Xt, yt, groups = own_features()
    np.savez(tmp_path / "mine_a.npz", X=Xs, y=ys)
    np.savez(tmp_path / "mine_b.npz", X=Xt, y=yt)
    np.save(tmp_path / "groups.npy", groups)
    return {"source": str(tmp_path / "mine_a.npz"), "target": str(tmp_path / "mine_b.npz"),
            "groups": str(tmp_path / "groups.npy")}


def _grid(files, out, *extra, groups=None):
    return main(["grid", "--source", files["source"], "--target", files["target"],
                 "--groups", groups or files["groups"], "--kappa", "1:3", "--xi", "0.1,1",
                 "--out", str(out), "--no-progress", *extra])


# --------------------------------------------------------------------------- command line


def test_cli_grid_with_own_features_and_groups_equals_the_estimator(files, tmp_path, capsys):
    """The issue's acceptance test: every row is TGSR(k, x, groups=g) fitted and scored."""
    out = tmp_path / "grid.csv"
    assert _grid(files, out) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    df = io.read_grid(out)
    Xs, ys, Xt, yt, groups = own_features()
    ref = reference_rows(Xs, ys, Xt, yt, groups, [1, 2, 3], [0.1, 1.0])
    assert list(df.columns) == ["kappa", "xi", "accuracy", "macro_f1", "n_iter", "uar", "f1_1",
                                "f1_2", "f1_3"]
    assert df.kappa.tolist() == ref.kappa.tolist() and df.xi.tolist() == ref.xi.tolist()
    assert df.accuracy.tolist() == ref.accuracy.tolist()  # exactly
    assert df.macro_f1.tolist() == ref.macro_f1.tolist()
    assert df.n_iter.tolist() == ref.n_iter.tolist()
    assert df.macro_f1.nunique() > 1  # the grid is not trivially constant


def test_cli_reference_engine_and_text_group_files_give_the_same_grid(files, tmp_path):
    groups = np.load(files["groups"])
    (tmp_path / "g.txt").write_text("\n".join(str(g) for g in groups) + "\n")
    (tmp_path / "g.csv").write_text(",".join(str(g) for g in groups))
    assert _grid(files, tmp_path / "npy.csv") == 0
    assert _grid(files, tmp_path / "txt.csv", groups=str(tmp_path / "g.txt")) == 0
    assert _grid(files, tmp_path / "ref.csv", "--engine", "reference",
                 groups=str(tmp_path / "g.csv")) == 0
    npy = (tmp_path / "npy.csv").read_bytes()
    assert (tmp_path / "txt.csv").read_bytes() == npy
    assert (tmp_path / "ref.csv").read_bytes() == npy


def test_cli_kappa_all_counts_the_groups(files, tmp_path):
    out = tmp_path / "g.csv"
    assert main(["grid", "--source", files["source"], "--target", files["target"], "--groups",
                 files["groups"], "--kappa", "all", "--xi", "1", "--out", str(out),
                 "--no-progress"]) == 0
    assert io.read_grid(out).kappa.tolist() == list(range(1, IDS.size + 1))


def test_cli_grouping_features(files, tmp_path):
    out = tmp_path / "g.csv"
    assert main(["grid", "--source", files["source"], "--target", files["target"],
                 "--grouping", "features", "--kappa", "5,50", "--xi", "1", "--out", str(out),
                 "--no-progress"]) == 0
    Xs, ys, Xt, yt, _ = own_features()
    ref = reference_rows(Xs, ys, Xt, yt, "features", [5, 50], [1.0])
    pd.testing.assert_frame_equal(io.read_grid(out), ref, check_dtype=False)


def test_cli_select_with_own_groups(files, tmp_path, capsys):
    """--select scores the grid's points with the same groups, without target labels."""
    assert _grid(files, tmp_path / "g.csv", "--select", "source_cv") == 0
    text = capsys.readouterr().out
    assert f"({'groups of ' + files['groups']}): 6 points" in text
    Xs, ys, Xt, _, groups = own_features()
    pick = selection.select_point("source_cv", (Xs, ys), Xt, [1, 2, 3], [0.1, 1.0], groups)
    assert (f"rule source_cv (no target labels): kappa={pick['kappa']} xi={pick['xi']:g} "
            in text)


def _error(capsys, code) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tgsr: error: "), err
    return lines[0].removeprefix("tgsr: error: ")


def test_cli_group_file_errors_are_one_line(files, tmp_path, capsys):
    groups = np.load(files["groups"])
    short = tmp_path / "short.npy"
    np.save(short, groups[:-1])
    assert _error(capsys, _grid(files, tmp_path / "o.csv", groups=str(short))) == (
        f"--groups {short}: groups has 49 entries but the features have 50 columns: give one "
        "group id per feature")
    text = tmp_path / "bad.txt"
    text.write_text("1 2 3\n4 x 6\n")
    assert _error(capsys, _grid(files, tmp_path / "o.csv", groups=str(text))).startswith(
        f"{text}: entry 5 ('x') is not an integer group id: give a .npy, .npz (one array), "
        ".txt or .csv file with one integer group id per feature")
    floats = tmp_path / "half.npy"
    np.save(floats, groups + 0.5)
    assert "is not an integer group id" in _error(
        capsys, _grid(files, tmp_path / "o.csv", groups=str(floats)))
    two = tmp_path / "two.npz"
    np.savez(two, a=groups, b=groups)
    assert _error(capsys, _grid(files, tmp_path / "o.csv", groups=str(two))) == (
        f"{two}: the .npz file holds 2 arrays (a, b); save exactly one, the group id of every "
        "feature")
    missing = tmp_path / "nope.npy"
    assert _error(capsys, _grid(files, tmp_path / "o.csv", groups=str(missing))).startswith(
        f"groups file {missing} does not exist")
    corrupt = tmp_path / "corrupt.npy"
    corrupt.write_bytes(b"\x93NUMPY garbage")
    assert "not a readable .npy groups file" in _error(
        capsys, _grid(files, tmp_path / "o.csv", groups=str(corrupt)))
    # kappa counts the 7 groups of the file
    code = main(["grid", "--source", files["source"], "--target", files["target"], "--groups",
                 files["groups"], "--kappa", "8", "--xi", "1", "--out", str(tmp_path / "o.csv")])
    assert _error(capsys, code) == ("kappa=8 is out of range: it counts kept groups, an integer "
                                    "in 1..7")
    # the authors' grouping needs the authors' 15045 columns
    code = main(["grid", "--source", files["source"], "--target", files["target"], "--kappa",
                 "1", "--xi", "1", "--out", str(tmp_path / "o.csv")])
    assert "the 'authors' grouping is for the authors' 15045-dimensional" in _error(capsys, code)
    assert not (tmp_path / "o.csv").exists()


def test_cli_groups_and_grouping_are_exclusive(files, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        _grid(files, tmp_path / "o.csv", "--grouping", "blocks")
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# --------------------------------------------------------------------------- library


def test_compute_grid_takes_features_of_any_dimension_and_group_ids():
    Xs, ys, Xt, yt, groups = own_features(seed=1)
    ref = reference_rows(Xs, ys, Xt, yt, groups, [1, 4, 7], [0.0, 0.5, 20.0])
    for engine in ("fast", "reference"):
        df = compute_grid((Xs, ys), (Xt, yt), [1, 4, 7], [0.0, 0.5, 20.0], groups, engine,
                          progress=False)
        pd.testing.assert_frame_equal(df, ref, check_dtype=False, check_exact=True)
    # groups= (TGSR's name) is an alias; kappa defaults to 1..K for the K groups
    alias = compute_grid((Xs, ys), (Xt, yt), xis=[0.5], groups=groups, progress=False)
    assert alias.kappa.tolist() == list(range(1, IDS.size + 1))
    assert alias[alias.kappa == 4].macro_f1.item() == ref[(ref.kappa == 4)
                                                          & (ref.xi == 0.5)].macro_f1.item()


def test_group_errors_name_what_to_give():
    Xs, ys, Xt, yt, groups = own_features()
    with pytest.raises(ValueError, match=r"kappa=8 is out of range: .* integer in 1\.\.7"):
        compute_grid((Xs, ys), (Xt, yt), [8], [1.0], groups, progress=False)
    with pytest.raises(ValueError, match="groups has 49 entries but the features have 50"):
        compute_grid((Xs, ys), (Xt, yt), [1], [1.0], groups[:-1], progress=False)
    with pytest.raises(ValueError, match="'authors' grouping is for the authors' 15045"):
        compute_grid((Xs, ys), (Xt, yt), [1], [1.0], progress=False)
    with pytest.raises(ValueError, match="unknown grouping 'faces': use one of authors, "
                                         "blocks, features"):
        compute_grid((Xs, ys), (Xt, yt), [1], [1.0], "faces", progress=False)
    with pytest.raises(ValueError, match="integer group ids"):
        compute_grid((Xs, ys), (Xt, yt), [1], [1.0], groups.astype(str), progress=False)
    with pytest.raises(ValueError, match="not both"):
        compute_grid((Xs, ys), (Xt, yt), [1], [1.0], "blocks", groups=groups, progress=False)


def test_cache_key_holds_the_group_layout(tmp_path):
    Xs, ys, Xt, yt, groups = own_features()
    src, tgt = (Xs, ys), (Xt, yt)
    path = grid_cache_path(src, tgt, [1, 2], [1.0], groups, cache_dir=tmp_path)
    assert path.name.startswith("features_features_custom_")
    relabelled = np.array([{g: i for i, g in enumerate(np.sort(IDS))}[g] for g in groups])
    others = [grid_cache_path(src, tgt, [1, 2], [1.0], g, cache_dir=tmp_path) for g in (
        np.roll(groups, 1),  # another partition of the columns
        np.where(groups == 4, 30, groups),  # two groups merged
        "features")]
    assert len({path, *others}) == 4
    # the same partition with other ids in the same order is the same layout and key
    assert grid_cache_path(src, tgt, [1, 2], [1.0], relabelled, cache_dir=tmp_path) == path
    first = cached_grid(src, tgt, [1, 2], [1.0], groups, cache_dir=tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    pd.testing.assert_frame_equal(cached_grid(src, tgt, [1, 2], [1.0], groups,
                                              cache_dir=tmp_path), first)


def test_named_groupings_keep_their_keys():
    """The committed grids were keyed by the grouping's name: a layout of that name gives the
    same key, a custom layout with the same columns does not."""
    rng = np.random.default_rng(0)
    Xs, Xt = rng.random((6, 15045)), rng.random((3, 15045))
    ys, yt = np.array([1, 2, 3] * 2), np.array([1, 2, 3])
    for name in ("authors", "blocks"):
        layout = resolve_groups(name, 15045)
        by_name = keys.fingerprint(Xs, ys, Xt, yt, [1], [1.0], name, "fast")
        assert keys.fingerprint(Xs, ys, Xt, yt, [1], [1.0], layout, "fast") == by_name
        custom = resolve_groups(layout.group_of_feature(), 15045)
        assert keys.fingerprint(Xs, ys, Xt, yt, [1], [1.0], custom, "fast") != by_name
    assert keys.groups_token(resolve_groups("authors", 15045)) == "authors"


def test_group_selection_names_the_user_groups():
    Xs, ys, Xt, yt, groups = own_features()
    kept = tables.group_selection((Xs, ys), (Xt, yt), 3, [0.1, 10.0], groups)
    assert kept.columns.tolist() == np.sort(IDS).tolist()
    for xi in (0.1, 10.0):
        model = TGSR(3, xi, groups=groups).fit(Xs, ys, Xt)
        assert kept.columns[kept.loc[xi].to_numpy()].tolist() == model.selected_groups_.tolist()


# --------------------------------------------------------------------------- group files


@pytest.mark.parametrize("name, write", [
    ("g.npy", lambda p, g: np.save(p, g)),
    ("g.npz", lambda p, g: np.savez(p, groups=g)),
    ("col.npy", lambda p, g: np.save(p, g[:, None].astype(float))),  # a column of whole floats
    ("g.txt", lambda p, g: p.write_text(" ".join(map(str, g)))),
    ("g.csv", lambda p, g: p.write_text("\n".join(map(str, g)) + "\n")),
    ("semi.csv", lambda p, g: p.write_text(";".join(f"{v}.0" for v in g))),
])
def test_read_groups_file(tmp_path, name, write):
    groups = np.array([5, -2, 5, 7, 100, -2])
    write(tmp_path / name, groups)
    out = io.read_groups_file(tmp_path / name)
    assert out.dtype == np.int64 and out.tolist() == groups.tolist()


def test_read_groups_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.read_groups_file(tmp_path / "nope.npy")
    with pytest.raises(ValueError, match="is a folder"):
        io.read_groups_file(tmp_path)
    (tmp_path / "g.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="unsupported groups file type '.json'"):
        io.read_groups_file(tmp_path / "g.json")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        io.read_groups_file(tmp_path / "empty.txt")
    np.save(tmp_path / "m.npy", np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match=r"must be a vector, one per feature, .* \(3, 2\)"):
        io.read_groups_file(tmp_path / "m.npy")
    np.save(tmp_path / "b.npy", np.array([True, False]))
    with pytest.raises(ValueError, match="must be integers, not bool"):
        io.read_groups_file(tmp_path / "b.npy")
    (tmp_path / "nan.txt").write_text("1 nan 2")
    with pytest.raises(ValueError, match=r"entry 2 \('nan'\) is not an integer"):
        io.read_groups_file(tmp_path / "nan.txt")
