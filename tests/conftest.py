"""Shared fixtures. The authors' files come from TGSR_DATA_DIR; when it is unset and the
project's ``../shared`` mirror exists beside the repository, that mirror is used. A relative
TGSR_DATA_DIR is resolved against the directory pytest was started in (the notebooks' kernels
run in ``notebooks/``).

Without the authors' files the session stops at once with one message, unless
``TGSR_TESTS_WITHOUT_DATA=1`` asks for the tests that need no data (the others skip)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data" / "Seeking_Salient_Facial_Region"
SHARED = REPO.parent / "shared"

if not os.environ.get("TGSR_DATA_DIR") and MIRROR.is_dir():
    os.environ["TGSR_DATA_DIR"] = str(MIRROR)
elif os.environ.get("TGSR_DATA_DIR"):
    os.environ["TGSR_DATA_DIR"] = os.path.abspath(os.path.expanduser(os.environ["TGSR_DATA_DIR"]))

WITHOUT_DATA_ENV = "TGSR_TESTS_WITHOUT_DATA"


def _data_problem() -> str | None:
    """Why the authors' files cannot be read (None when they can)."""
    from tgsr_lib.data import datasets

    try:
        datasets.fetch(datasets.feature_path("SMIC_VIS"))
        return None
    except Exception as err:
        return f"{type(err).__name__}: {err}"


DATA_PROBLEM = _data_problem()
HAVE_DATA = DATA_PROBLEM is None


def missing_data_message(problem: str) -> str:
    from tgsr_lib.data.datasets import REPOSITORY

    return (
        "the tests need the authors' files (LBP-TOP features and recorded grids) and cannot "
        f"read them: {problem}\n"
        f"Set TGSR_DATA_DIR to a local copy of {REPOSITORY} (same relative paths; a relative "
        "path is taken from the directory pytest starts in), or allow the download from "
        f"GitHub; or set {WITHOUT_DATA_ENV}=1 to run only the tests that need no data."
    )


def pytest_configure(config):
    if not HAVE_DATA and os.environ.get(WITHOUT_DATA_ENV, "") in ("", "0"):
        raise pytest.UsageError(missing_data_message(DATA_PROBLEM))
requires_data = pytest.mark.skipif(
    not HAVE_DATA, reason="the authors' files are unavailable: set TGSR_DATA_DIR to a local copy"
)


@pytest.fixture(scope="session")
def vis():
    from tgsr_lib.data import datasets

    return datasets.load_features("SMIC_VIS")


@pytest.fixture(scope="session")
def nir():
    from tgsr_lib.data import datasets

    return datasets.load_features("SMIC_NIR")


@pytest.fixture(scope="session")
def casme2():
    from tgsr_lib.data import datasets

    return datasets.load_features("CASME2")


def _notebook_needs_data(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return any(word in text for word in ("import datasets", "datasets,", "tables", "explorer"))


def pytest_collection_modifyitems(config, items):
    """With TGSR_TESTS_WITHOUT_DATA=1 and no data, nbval skips the notebooks that read the
    authors' files (the synthetic ones still run)."""
    if HAVE_DATA:
        return
    skip = pytest.mark.skip(reason=f"{WITHOUT_DATA_ENV}=1 and the authors' files are unavailable")
    needs: dict[Path, bool] = {}
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            if path not in needs:
                needs[path] = _notebook_needs_data(path)
            if needs[path]:
                item.add_marker(skip)
