import numpy as np
import pytest
import scipy.io

from tgsr_lib.data import datasets
from tgsr_lib.data.layout import FEATURE_DIM

from .conftest import requires_data


@requires_data
@pytest.mark.parametrize("name, counts", [("CASME2", (73, 32, 25)), ("SMIC_VIS", (23, 28, 20)),
                                          ("SMIC_NIR", (23, 28, 20))])
def test_released_features(name, counts):
    X, y, classes = datasets.load_features(name)
    assert X.shape == (sum(counts), FEATURE_DIM)
    assert tuple(np.bincount(y)[1:]) == counts
    assert classes == ("negative", "positive", "surprise")
    np.testing.assert_allclose(X.sum(axis=1), 255.0, rtol=0, atol=1e-9)


@requires_data
def test_record_layout():
    rec = datasets.load_record("SMIC_VIS", "SMIC_NIR")
    assert list(rec.columns) == ["kappa", "xi", "accuracy", "macro_f1"]
    assert len(rec) == 85 * 276
    assert rec.kappa.iloc[0] == 1 and rec.kappa.iloc[-1] == 85
    assert len(datasets.available_records()) == 12
    with pytest.raises(ValueError, match="unknown database"):
        datasets.load_record("CASME2", "SAMM")


def test_unknown_database():
    with pytest.raises(ValueError, match="unknown database 'SMIC'"):
        datasets.load_features("SMIC")


def test_missing_local_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("TGSR_DATA_DIR", str(tmp_path))
    with pytest.raises(datasets.DataUnavailableError, match="TGSR_DATA_DIR"):
        datasets.load_features("SMIC_VIS")


def test_no_network_message(tmp_path, monkeypatch):
    monkeypatch.delenv("TGSR_DATA_DIR", raising=False)
    monkeypatch.setenv("TGSR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(datasets, "BASE_URL", "http://127.0.0.1:9/unreachable/")
    with pytest.raises(datasets.DataUnavailableError) as err:
        datasets.fetch(datasets.feature_path("SMIC_NIR"))
    msg = str(err.value)
    assert "TGSR_DATA_DIR" in msg and "127.0.0.1:9/unreachable/data/3class" in msg


@requires_data
def test_corrupt_file_refused_with_both_hashes(tmp_path, monkeypatch):
    rel = datasets.feature_path("SMIC_VIS")
    good = datasets.fetch(rel)
    bad = tmp_path / rel
    bad.parent.mkdir(parents=True)
    data = bytearray(good.read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setenv("TGSR_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError) as err:
        datasets.fetch(rel)
    assert datasets.REGISTRY[rel] in str(err.value)
    assert datasets.sha256(bad) in str(err.value)


def test_hs_not_public(tmp_path, monkeypatch):
    monkeypatch.setenv("TGSR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(datasets.HS_ENV, raising=False)
    with pytest.raises(datasets.DataUnavailableError, match="never published"):
        datasets.load_features("SMIC_HS")


def _fake(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, FEATURE_DIM)), np.array([1, 2, 3] * (n // 3))


def test_user_formats_roundtrip(tmp_path, monkeypatch):
    import h5py

    X, y = _fake()
    np.savez(tmp_path / "f.npz", X=X, y=y)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["X"] = X
        f["y"] = y
    scipy.io.savemat(tmp_path / "f.mat", {"MINE_micro_feature": X.T, "MINE_micro_label": y[None]})
    with h5py.File(tmp_path / "v73.mat", "w") as f:  # MATLAB v7.3 stores (15045, N)
        f["MINE_micro_feature"] = X.T
        f["MINE_micro_label"] = y[None].astype(float)
    for name in ("f.npz", "f.h5", "f.mat", "v73.mat"):
        Xr, yr, _ = datasets.load_features(str(tmp_path / name))
        np.testing.assert_array_equal(Xr, X)
        np.testing.assert_array_equal(yr, y)
    monkeypatch.setenv(datasets.HS_ENV, str(tmp_path / "f.npz"))
    assert datasets.load_features("SMIC_HS").X.shape == X.shape


def test_own_features_of_any_dimension_and_labels(tmp_path):
    """Your own database: any number of columns, your own integer class ids."""
    X, y = _fake()
    np.savez(tmp_path / "own.npz", X=X[:, :100], y=y + 3)
    own = datasets.load_features(str(tmp_path / "own.npz"))
    assert own.X.shape == (y.size, 100) and set(own.y) == set(y + 3)
    assert own.class_names == tuple(str(v) for v in np.unique(y + 3))
    np.savez(tmp_path / "columns.npz", X=X[:, :100].T, y=y)  # one column per sample
    assert datasets.load_features(str(tmp_path / "columns.npz")).X.shape == (y.size, 100)


@pytest.mark.parametrize("mutate, message", [
    (lambda X, y: (np.where(np.arange(X.shape[1]) == 5, np.nan, X), y), "NaN or inf"),
    (lambda X, y: (X, y[:-1]), "labels"),
    (lambda X, y: (X, y + 0.5), "numeric labels must be integers"),
])
def test_bad_user_files(tmp_path, mutate, message):
    X, y = mutate(*_fake())
    np.savez(tmp_path / "bad.npz", X=X, y=y)
    with pytest.raises(ValueError, match=message):
        datasets.load_features(str(tmp_path / "bad.npz"))


def test_unreadable_file(tmp_path):
    (tmp_path / "junk.mat").write_text("not a mat file")
    with pytest.raises(ValueError, match="junk.mat"):
        datasets.read_feature_file(tmp_path / "junk.mat")
    with pytest.raises(FileNotFoundError):
        datasets.read_feature_file(tmp_path / "missing.npz")
    np.savez(tmp_path / "keys.npz", A=np.zeros(3))
    with pytest.raises(ValueError, match="expected arrays 'X' and 'y'"):
        datasets.read_feature_file(tmp_path / "keys.npz")
