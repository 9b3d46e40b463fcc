"""Packaging: the core dependencies and the extras of pyproject.toml, environment.yml
(conda-forge) in step with them, every subpackage installed, and the library working with the
core dependencies alone."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import tomllib
import yaml

from tgsr_lib import _optional

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name(s) where they differ
CONDA_NAMES = {"opencv-python-headless": ["py-opencv"],
               "dask[distributed]": ["dask", "distributed"]}
EXTRAS = {"notebooks", "dask", "video", "baselines", "book", "all", "test"}
# what the library must run without: every extra's packages (and their top-level modules)
OPTIONAL_MODULES = ["matplotlib", "seaborn", "skada", "ot", "cv2", "skimage", "dask",
                    "distributed", "papermill", "nbformat", "nbval", "ipywidgets", "IPython",
                    "ipykernel", "jupyterlab", "openpyxl", "statsmodels", "yaml", "cupy"]


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req.strip())
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_extras_layout():
    """The core is what the library needs; ``all`` is the union of the other extras (not
    ``test``); every package is in exactly one place."""
    meta = _project()
    extras = {name: dict(_split(r) for r in reqs)
              for name, reqs in meta["optional-dependencies"].items()}
    assert set(extras) == EXTRAS
    core = dict(_split(r) for r in meta["dependencies"])
    assert set(core) == {"numpy", "scipy", "numba", "scikit-learn", "h5py", "pooch", "pandas",
                         "tqdm"}
    union = {}
    for name in ("notebooks", "dask", "video", "baselines", "book"):
        assert not set(extras[name]) & set(union), f"extra {name} repeats a package"
        union.update(extras[name])
    assert extras["all"] == union, "the extra 'all' must be the union of the other extras"
    assert not (set(core) | set(union)) & set(extras["test"])
    assert not set(core) & set(union)


def test_optional_modules_name_their_extra():
    """The ImportError advice (``tgsr_lib._optional``) names an extra that installs the
    package."""
    extras = {name: {_split(r)[0] for r in reqs}
              for name, reqs in _project()["optional-dependencies"].items()}
    for module, (dist, extra) in _optional.EXTRAS.items():
        assert dist in extras[extra], (module, dist, extra)
    message = _optional.missing_message("cv2.data", "reading frames")
    assert 'pip install "tgsr[video]"' in message and "opencv-python-headless" in message


def test_environment_matches_pyproject():
    """environment.yml installs the core, every extra and the test tools, with the same lower
    bounds (what ``make test`` installs with pip: ``.[all,test]``)."""
    meta = _project()
    reqs = meta["dependencies"] + meta["optional-dependencies"]["all"] \
        + meta["optional-dependencies"]["test"]
    pip_reqs = dict(_split(r) for r in reqs)
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


def test_make_installs_every_extra():
    """The README's two commands (make reproduce, make test) install what they use."""
    makefile = (ROOT / "Makefile").read_text()
    assert 'pip install --quiet -e ".[all,test]"' in makefile


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


CORE_ONLY = """
import importlib.abc
import sys

BLOCKED = set({blocked!r})


class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None


sys.meta_path.insert(0, Block())

import contextlib
import io

import numpy as np

import tgsr_lib
from tgsr_lib import TGSR, TGSRClassifier, cached_grid, compute_grid, datasets

# TGSR on features of any dimension, with non-contiguous integer group ids
rng = np.random.default_rng(0)
groups = rng.permutation(np.repeat([7, 3, 42, 11, 90], [3, 4, 2, 5, 6]))
Xs = rng.normal(size=(40, groups.size))
ys = np.where(Xs[:, groups == 42].sum(axis=1) > 0, "yes", "no")
Xt = 1.3 * rng.normal(size=(30, groups.size)) + 0.5
model = TGSR(kappa=2, xi=1.0, groups=groups).fit(Xs, ys, Xt)
assert set(model.predict(Xt)) <= {{"no", "yes"}}
assert 1 <= len(model.selected_groups_) <= 2 and set(model.selected_groups_) <= set(groups)
assert model.predict_proba(Xt).shape == (30, 2)

# the same in skada's conventions (no skada needed)
X = np.vstack([Xs, Xt])
y = np.concatenate([(ys == "yes").astype(int), -np.ones(len(Xt), dtype=int)])
domain = np.concatenate([np.ones(len(Xs), dtype=int), -np.ones(len(Xt), dtype=int)])
clf = TGSRClassifier(kappa=2, xi=1.0, groups=groups).fit(X, y, sample_domain=domain)
assert np.array_equal(clf.predict(Xt), (model.predict(Xt) == "yes").astype(int))

# a grid on the authors' 15045-dimensional layout
Fs = rng.normal(size=(12, 15045))
Ft = rng.normal(size=(9, 15045)) + 0.1
grid = compute_grid((Fs, np.tile([1, 2, 3], 4)), (Ft, np.tile([1, 2, 3], 3)), [2, 3], [0.0, 1.0],
                    progress=False)
assert len(grid) == 4 and list(grid.columns[:2]) == ["kappa", "xi"]

# the command line
from tgsr_lib import cli

for argv in (["--help"], ["grid", "--help"], ["baselines", "--help"], ["extract", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            cli.main(argv)
        except SystemExit as stop:
            assert stop.code == 0, (argv, stop.code)
    assert "usage: tgsr" in out.getvalue(), argv

# an extra's feature says which extra to install
from tgsr_lib.features import video
from tgsr_lib.report import plotting

for call, extra in ((lambda: video.read_image("frame.png"), "video"),
                    (lambda: plotting.confusion_matrix([[1]], ["a"]), "notebooks")):
    try:
        call()
    except ImportError as err:
        assert f'pip install "tgsr[{{extra}}]"' in str(err), str(err)
    else:
        raise AssertionError(f"no ImportError without the {{extra}} extra")

assert not BLOCKED & {{m.partition(".")[0] for m in sys.modules}}
print("core only: ok")
"""


def test_library_runs_with_the_core_dependencies_only(tmp_path):
    """With every optional package unimportable, ``import tgsr_lib``, TGSR (custom integer
    groups), TGSRClassifier, compute_grid and ``tgsr ... --help`` work, and the features of an
    extra fail with an ImportError naming it."""
    script = tmp_path / "core_only.py"
    script.write_text(textwrap.dedent(CORE_ONLY.format(blocked=sorted(OPTIONAL_MODULES))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "core only: ok" in res.stdout
