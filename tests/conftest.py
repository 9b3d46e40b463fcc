"""Shared fixtures. The authors' files come from TGSR_DATA_DIR; when it is unset and the
project's ``../shared`` mirror exists beside the repository, that mirror is used."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data" / "Seeking_Salient_Facial_Region"
SHARED = REPO.parent / "shared"

if not os.environ.get("TGSR_DATA_DIR") and MIRROR.is_dir():
    os.environ["TGSR_DATA_DIR"] = str(MIRROR)


def _have_data() -> bool:
    from tgsr_lib.data import datasets

    try:
        datasets.fetch(datasets.feature_path("SMIC_VIS"))
        return True
    except Exception:
        return False


HAVE_DATA = _have_data()
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
