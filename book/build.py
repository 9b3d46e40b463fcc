"""Build the book: the executed notebooks as a static website in ``_build/html``.

``python book/build.py`` (what ``make book`` runs) takes each notebook from
``results/notebooks`` (written by ``make reproduce``) and, where that folder lacks it, the
committed one in ``notebooks/`` (stored outputs), stages them with ``book/conf.py``,
``book/index.md`` and ``book/facts.md`` (the facts the project relies on) in
``_build/book_src`` and runs Sphinx (myst-nb, no execution). The landing page quotes the
README's "What is reproduced" section. Open ``_build/html/index.html``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


def pick_notebooks(executed: Path, committed: Path) -> dict[str, Path]:
    """name -> the notebook to show: the executed one when it exists, else the committed
    one."""
    names = {p.name for p in committed.glob(NOTEBOOK_GLOB)}
    names |= {p.name for p in executed.glob(NOTEBOOK_GLOB)} if executed.is_dir() else set()
    return {n: (executed / n if (executed / n).is_file() else committed / n)
            for n in sorted(names)}


def readme_section(readme: Path, heading: str = "What is reproduced") -> str:
    """The README's section whose ``##`` heading starts with ``heading`` (without the heading
    line), or a pointer to the README when there is none."""
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    match = re.search(rf"^## {re.escape(heading)}[^\n]*\n(.*?)(?=^## |\Z)", text,
                      flags=re.M | re.S)
    if match is None:
        return "See the repository's README.md.\n"
    return match.group(1).strip() + "\n"


def source_note(chosen: dict[str, Path], executed: Path) -> str:
    ran = sorted(n for n, p in chosen.items() if p.parent == executed)
    stored = sorted(n for n, p in chosen.items() if p.parent != executed)
    lines = []
    if ran:
        lines.append(f"Executed by `make reproduce` (results/notebooks): {', '.join(ran)}.")
    if stored:
        lines.append("As committed, with their stored outputs (run `make reproduce` to refresh "
                     f"them): {', '.join(stored)}.")
    return "\n\n".join(lines) + "\n"


def _write_if_changed(path: Path, data: bytes) -> None:
    """Sphinx rebuilds a page when its source is newer: rewrite only what changed."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def stage(stage_dir: Path, chosen: dict[str, Path], executed: Path) -> None:
    """Sphinx's source folder: conf.py, index.md, facts.md, the two generated includes,
    notebooks/."""
    book = ROOT / "book"
    for name in ("conf.py", "index.md", "facts.md"):
        _write_if_changed(stage_dir / name, (book / name).read_bytes())
    _write_if_changed(stage_dir / "_readme_reproduced.md",
                      readme_section(ROOT / "README.md").encode())
    _write_if_changed(stage_dir / "_source.md", source_note(chosen, executed).encode())
    nb_dir = stage_dir / "notebooks"
    for name, src in chosen.items():
        _write_if_changed(nb_dir / name, src.read_bytes())
    for old in nb_dir.glob("*.ipynb"):
        if old.name not in chosen:
            old.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executed", type=Path, default=ROOT / "results" / "notebooks",
                        help="executed notebooks (make reproduce); default results/notebooks")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="committed notebooks, used where --executed lacks one")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "_build",
                        help="where book_src/, doctrees/ and html/ go (default _build)")
    parser.add_argument("--verbose", action="store_true", help="Sphinx's full output")
    args = parser.parse_args(argv)

    executed = args.executed.resolve()
    chosen = pick_notebooks(executed, args.notebooks.resolve())
    if not chosen:
        print(f"no notebooks found in {args.notebooks}", file=sys.stderr)
        return 1
    build = args.build_dir.resolve()
    src, html = build / "book_src", build / "html"
    stage(src, chosen, executed)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-d", str(build / "doctrees"),
           str(src), str(html)]
    if not args.verbose:
        cmd.insert(3, "-q")
    rc = subprocess.call(cmd)
    if rc == 0:
        print(f"book: {html / 'index.html'} ({len(chosen)} notebooks)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
