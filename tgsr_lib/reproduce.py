"""Run every notebook headless with papermill: ``python -m tgsr_lib.reproduce``.

Executed notebooks go to ``results/notebooks/`` (ignored by git), figures to ``figures/``.
Grids come from the cache in ``notebooks/cache/grids`` (computed when missing); ``--recompute``
recomputes them here, each grid once: several notebooks read the same grids, and a grid
recomputed by one is read by the next (``TGSR_RECOMPUTED_SINCE``, see
:func:`tgsr_lib.experiments.cache.cached_grid`). Each notebook's time and the total are
printed. Extra papermill parameters apply to every notebook that declares them::

    python -m tgsr_lib.reproduce --recompute
    python -m tgsr_lib.reproduce --only 04 -p fixed_xi 1.0 -p fixed_kappa 20

The notebooks need every extra: ``pip install "tgsr[all]"``.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

from tgsr_lib._optional import require


def notebooks(folder: Path, only: list[str] | None = None) -> list[Path]:
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.name.startswith(o) for o in only)]
    return found


def declared_parameters(path: Path) -> set[str]:
    """Names assigned in a notebook's cell tagged ``parameters``."""
    nbformat = require("nbformat", "reading notebooks")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            return {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    return set()


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def absolute_data_dir() -> None:
    """Make a relative ``TGSR_DATA_DIR`` absolute, against the directory the command was
    started in: the kernels run in the notebooks' folder, where it would mean another
    place."""
    value = os.environ.get("TGSR_DATA_DIR")
    if value:
        os.environ["TGSR_DATA_DIR"] = os.path.abspath(os.path.expanduser(value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tgsr_lib.reproduce",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--notebooks", default="notebooks", help="folder of the notebooks")
    parser.add_argument("--out", default="results/notebooks", help="executed notebooks")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 02 04")
    parser.add_argument("--recompute", action="store_true",
                        help="recompute every grid instead of reading the cache")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="papermill parameter (Python literal)")
    args = parser.parse_args(argv)

    pm = require("papermill", "running the notebooks")
    absolute_data_dir()
    folder = Path(args.notebooks).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    extra = {name: _value(value) for name, value in args.parameter}
    start = time.time()
    if args.recompute:
        extra["recompute"] = True
        # the kernels inherit it: a grid recomputed by one notebook is read by the next
        from tgsr_lib.experiments.cache import RECOMPUTED_SINCE

        os.environ[RECOMPUTED_SINCE] = repr(start)
    failed = []
    for nb in notebooks(folder, args.only):
        declared = declared_parameters(nb)
        params = {k: v for k, v in extra.items() if k in declared}
        print(f"running {nb.name} {params or ''}", flush=True)
        t0 = time.time()
        try:
            pm.execute_notebook(str(nb), str(out / nb.name), parameters=params,
                                cwd=str(folder), kernel_name="python3", progress_bar=False)
        except Exception as err:  # report every failing notebook, then fail
            print(f"FAILED {nb.name}: {type(err).__name__}: {str(err)[:2000]}", file=sys.stderr)
            failed.append(nb.name)
        print(f"  {nb.name}: {time.time() - t0:.0f} s", flush=True)
    print(f"executed notebooks in {out} in {time.time() - start:.0f} s; figures in "
          f"{folder.parent / 'figures'}")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
