"""The ``tgsr`` command line: a thin layer over the library functions.

Examples
--------
Recorded best point of Exp.5::

    tgsr grid --source SMIC_VIS --target SMIC_NIR --kappa 12 --xi 44 --out x.csv

The paper's full grid of Exp.11, and of every experiment with public features::

    tgsr grid --source CASME2 --target SMIC_NIR --kappa 1:85 --xi paper --out exp11.csv
    tgsr grid --experiment computable --out grids.csv
"""

from __future__ import annotations

import argparse
import sys
import warnings

import pandas as pd

from . import __version__


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


GRID_HELP = """\
Evaluate TGSR at every (kappa, xi) point of one experiment (or several) and write a CSV with
the columns kappa,xi,accuracy,macro_f1,n_iter (accuracy as a fraction), one row per point,
kappa outer and xi inner (the order of the authors' records). With --experiment the CSV gets
leading columns experiment,source,target.

kappa SPEC: 'a:b' (inclusive), a comma list '1,12,40', or 'paper' (1..85).
xi SPEC:    'paper' (the 276 values of the paper: 0.001:0.0002:0.01, 0.01:0.002:0.1,
            0.1:0.02:1, 1:0.2:10, 10:2:100, 100:20:1000 in MATLAB's rounding) or a comma list.
Databases:  CASME2, SMIC_VIS, SMIC_NIR (the authors' released features, downloaded and
            sha256-checked, or read from $TGSR_DATA_DIR), SMIC_HS (only if you supply it:
            $TGSR_SMIC_HS_FEATURES), or a path to a .mat/.npz/.h5 feature file.

Long runs show a progress bar, checkpoint finished points to OUT.partial.npz and resume from
it when rerun with the same arguments; OUT is written atomically at the end.
"""


def _add_grid(sub) -> None:
    p = sub.add_parser("grid", help="evaluate TGSR over a (kappa, xi) grid",
                       description=GRID_HELP, formatter_class=_Formatter)
    p.add_argument("--source", help="source database name or feature file")
    p.add_argument("--target", help="target database name or feature file")
    p.add_argument("--experiment", metavar="LIST",
                   help="instead of --source/--target: paper experiment numbers '5,6,9', "
                        "'computable' (5,6,9-12) or 'all' (HS experiments need HS features)")
    p.add_argument("--kappa", default="paper", metavar="SPEC", help="kappa values")
    p.add_argument("--xi", default="paper", metavar="SPEC", help="xi values")
    p.add_argument("--grouping", choices=("authors", "blocks"), default="authors",
                   help="85 consecutive chunks (authors, reproduces the records) or true "
                        "facial blocks")
    p.add_argument("--engine", choices=("fast", "reference"), default="fast",
                   help="fast grid engine or the one-fit-at-a-time reference solver")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="output CSV")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask distributed scheduler (tcp://host:8786)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--select", metavar="RULE",
                   help="also choose (kappa, xi) without target labels with RULE (source_cv, "
                        "iwcv, dev, reverse, mmd; see tgsr_lib.selection; 5-fold source CV, so "
                        "5x the fits of the grid) and print its pick beside the oracle")
    p.set_defaults(func=_run_grid)


def _run_grid(args) -> int:
    from . import grid, protocols
    from .datasets import DataUnavailableError

    kappas = grid.parse_kappa(args.kappa)
    xis = grid.parse_xi(args.xi)
    if args.select:
        from .selection import check_rule

        check_rule(args.select)
    if args.experiment:
        if args.source or args.target:
            raise ValueError("give either --experiment or --source/--target, not both")
        experiments = protocols.parse_experiments(args.experiment)
        pairs = [(e.number, e.source, e.target) for e in experiments]
    else:
        if not (args.source and args.target):
            raise ValueError("give --source and --target (or --experiment)")
        exp = protocols.find_experiment(args.source, args.target)
        pairs = [(exp.number if exp else None, args.source, args.target)]
    client = None
    if args.scheduler:
        from dask.distributed import Client

        client = Client(args.scheduler)
    progress = False if args.no_progress else None
    frames = []
    skip_missing = bool(args.experiment) and args.experiment.strip().lower() == "all"
    for number, source, target in pairs:
        try:
            df = grid.compute_grid(source, target, kappas, xis, grouping=args.grouping,
                                   engine=args.engine, progress=progress, client=client,
                                   out=None if args.experiment else args.out)
        except DataUnavailableError as err:
            if not skip_missing:
                raise
            print(f"skipping Exp.{number} ({source} -> {target}): {err}", file=sys.stderr)
            continue
        best = grid.best_row(df, "macro_f1")
        label = f"Exp.{number} " if number else ""
        print(f"{label}{source} -> {target} ({args.grouping}): {len(df)} points; first max-F1 "
              f"row kappa={int(best.kappa)} xi={best.xi:g}: accuracy={best.accuracy:.8f} "
              f"macro_f1={best.macro_f1:.8f}")
        if args.select:
            _print_selection(args.select, source, target, kappas, xis, args.grouping, df)
        if args.experiment:
            df.insert(0, "target", target)
            df.insert(0, "source", source)
            df.insert(0, "experiment", number)
        frames.append(df)
    if args.experiment:
        if not frames:
            raise ValueError("no experiment could be computed")
        grid.write_csv_atomic(pd.concat(frames, ignore_index=True), args.out)
    print(f"wrote {args.out}")
    return 0


def _print_selection(rule, source, target, kappas, xis, grouping, df) -> None:
    """The label-free rule's pick, with the target scores at that pick and at the oracle."""
    from .selection import select_point

    pick = select_point(rule, source, target, kappas, xis, grouping)
    row = df[(df.kappa == pick["kappa"]) & (df.xi == pick["xi"])].iloc[0]
    oracle = df.loc[df.macro_f1.idxmax()]
    print(f"  rule {rule} (no target labels): kappa={pick['kappa']} xi={pick['xi']:g} "
          f"({pick['score_name']}={pick['score']:.4f}) -> target accuracy={row.accuracy:.8f} "
          f"macro_f1={row.macro_f1:.8f}")
    print(f"  oracle (target labels):        kappa={int(oracle.kappa)} xi={oracle.xi:g} "
          f"-> target accuracy={oracle.accuracy:.8f} macro_f1={oracle.macro_f1:.8f}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tgsr", formatter_class=_Formatter,
        description="TGSR (Transfer Group Sparse Regression, ICPR 2022) for cross-database "
                    "micro-expression recognition: grids, baselines, feature extraction.",
        epilog=__doc__.split("Examples\n--------\n", 1)[1],
    )
    parser.add_argument("--version", action="version", version=f"tgsr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_grid(sub)
    _add_module_command(sub, "baselines", "baselines",
                        "run the nine baseline methods on experiments")
    _add_module_command(sub, "extract", "extract",
                        "extract LBP-TOP features from SMIC / CASME II frame folders")
    return parser


def _add_module_command(sub, name: str, module: str, help_text: str) -> None:
    """A subcommand whose options and runner live in ``tgsr_lib.<module>``
    (``configure_parser(parser)`` and ``run(args) -> int``)."""
    from importlib import import_module

    mod = import_module(f".{module}", __package__)
    p = sub.add_parser(name, help=help_text, formatter_class=_Formatter)
    mod.configure_parser(p)
    p.set_defaults(func=mod.run)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("tgsr: interrupted; finished points are checkpointed, rerun the same command to "
              "resume", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, PermissionError, RuntimeError) as err:
        print(f"tgsr: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
