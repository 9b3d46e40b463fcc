"""The README's claims table is the one notebook 10 generates, never typed by hand."""

import json

from .conftest import REPO

START, END = "<!-- claims-table:start -->", "<!-- claims-table:end -->"
TABLE = REPO / "figures" / "claims_table.md"
SUMMARY = REPO / "figures" / "claims_summary.md"
NOTEBOOK = REPO / "notebooks" / "10_claims.ipynb"


def readme_table() -> str:
    text = (REPO / "README.md").read_text()
    assert text.count(START) == 1 and text.count(END) == 1, "README needs one pair of markers"
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def notebook_tables() -> list[str]:
    """Every Markdown output of notebook 10 that is a claims table."""
    nb = json.loads(NOTEBOOK.read_text())
    out = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md is not None:
                md = "".join(md) if isinstance(md, list) else md
                if md.startswith("| # | claim of the paper |"):
                    out.append(md.strip())
    return out


def test_readme_embeds_the_generated_summary():
    assert readme_table() == SUMMARY.read_text().strip()


def test_the_tables_are_the_notebooks_output():
    assert notebook_tables() == [SUMMARY.read_text().strip(), TABLE.read_text().strip()]


def test_readme_links_notebook_10():
    text = (REPO / "README.md").read_text()
    assert "notebooks/10_claims.ipynb" in text
    assert "| [`10_claims`](notebooks/10_claims.ipynb) |" in text
