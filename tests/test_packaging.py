"""environment.yml (conda-forge) installs the same dependencies as pyproject.toml."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name(s) where they differ
CONDA_NAMES = {"opencv-python-headless": ["py-opencv"],
               "dask[distributed]": ["dask", "distributed"]}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req.strip())
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_matches_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_reqs = dict(_split(r) for r in meta["dependencies"] + meta["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    for d in env["dependencies"]:  # PyPI-only packages in the pip section
        if isinstance(d, dict):
            conda.update(_split(p) for p in d["pip"] if not p.startswith("-e"))
    expected = {}
    for name, spec in pip_reqs.items():
        for conda_name in CONDA_NAMES.get(name, [name]):
            expected[conda_name] = spec
    missing = {n: s for n, s in expected.items() if conda.get(n) != s}
    assert not missing, f"environment.yml lacks or pins differently: {missing}"
    extra = set(conda) - set(expected) - {"python", "pip"}
    assert not extra, f"environment.yml has packages pyproject.toml lacks: {extra}"
    assert conda["python"] == meta["requires-python"]


def test_every_subpackage_is_installed():
    """setuptools' ``packages.find`` only picks up folders with an ``__init__.py``: a subpackage
    without one would be missing from an installed (non-editable) wheel."""
    from setuptools import find_packages

    found = set(find_packages(str(ROOT), include=["tgsr_lib*"]))
    folders = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "tgsr_lib").rglob("*.py") if "__pycache__" not in p.parts}
    assert folders <= found, f"folders with modules but no __init__.py: {folders - found}"
    assert {"tgsr_lib.data", "tgsr_lib.features", "tgsr_lib.model", "tgsr_lib.experiments",
            "tgsr_lib.compare", "tgsr_lib.report"} <= found
    assert (ROOT / "tgsr_lib" / "data" / "paper_table.csv").is_file()  # package data
