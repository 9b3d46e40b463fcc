"""The project's facts page (book/facts.md) names every registered file with its hash and the
constants the code uses, and the book builds it."""

from pathlib import Path

from tgsr_lib.data import datasets, layout
from tgsr_lib.experiments.axes import paper_xis
from tgsr_lib.model import ialm

BOOK = Path(__file__).resolve().parents[1] / "book"
FACTS = (BOOK / "facts.md").read_text(encoding="utf-8")


def test_every_registered_file_with_its_hash():
    for rel, digest in datasets.REGISTRY.items():
        assert f"| `{rel}` | `{digest}` |" in FACTS


def test_constants_match_the_code():
    assert (ialm.MU0, ialm.RHO, ialm.MU_MAX, ialm.TOL) == (1e-3, 1.1, 1e15, 1e-8)
    assert "mu0 = 1e-3, rho = 1.1, mu_max = 1e15, stop when max |D - C| < 1e-8" in FACTS
    xis = paper_xis()
    assert f"{xis.size} values" in FACTS and f"({len(set(xis.tolist()))} distinct)" in FACTS
    starts = layout.histogram_table().groupby("scale").offset.min().tolist()
    assert "starting at dimensions " + ", ".join(map(str, starts[:-1])) + f" and {starts[-1]}" \
        in FACTS
    assert f"{layout.FEATURE_DIM} = {layout.N_BINS} bins" in FACTS


def test_linked_from_the_book():
    index = (BOOK / "index.md").read_text(encoding="utf-8")
    assert "\nfacts\n" in index
    assert '"facts.md"' in (BOOK / "build.py").read_text(encoding="utf-8")
