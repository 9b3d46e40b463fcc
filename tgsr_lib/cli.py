"""The ``tgsr`` command line: a thin layer over the library functions.

Examples
--------
Recorded best point of Exp.5::

    tgsr grid --source SMIC_VIS --target SMIC_NIR --kappa 12 --xi 44 --out x.csv

The paper's full grid of Exp.11, and of every experiment with public features::

    tgsr grid --source CASME2 --target SMIC_NIR --kappa 1:85 --xi paper --out exp11.csv
    tgsr grid --experiment computable --out grids.csv

Your own features (any dimension) with your own groups, one integer group id per feature::

    tgsr grid --source mine_a.npz --target mine_b.npz --groups groups.npy --kappa all \
        --xi 0.1,1,10 --out mine.csv
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import sys
import traceback
import warnings

import numpy as np
import pandas as pd

from tgsr_lib import __version__


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


GRID_HELP = """\
Evaluate TGSR at every (kappa, xi) point of one experiment (or several) and write a CSV with
the columns kappa,xi,accuracy,macro_f1,n_iter (accuracy as a fraction), one row per point,
kappa outer and xi inner (the order of the authors' records), then uar (unweighted average
recall, the MEGC metric) and f1_<class> (the F1 of each class of the source and target labels,
e.g. f1_1,f1_2,f1_3 for the authors' labels). With --experiment the CSV gets leading columns
experiment,source,target.

kappa SPEC: 'a:b' (inclusive), a comma list '1,12,40', or 'paper' / 'all' (1..K, every
            number of kept groups; K = 85 for the authors' groupings).
xi SPEC:    'paper' (the 276 values of the paper: 0.001:0.0002:0.01, 0.01:0.002:0.1,
            0.1:0.02:1, 1:0.2:10, 10:2:100, 100:20:1000 in MATLAB's rounding) or a comma list.
Databases:  CASME2, SMIC_VIS, SMIC_NIR (the authors' released features, downloaded and
            sha256-checked, or read from $TGSR_DATA_DIR), SMIC_HS (only if you supply it:
            $TGSR_SMIC_HS_FEATURES), or a path to a .mat/.npz/.h5 feature file with X
            (N, D) and y: the authors' labels 1..3, or your own class names as strings
            (the same kind of label in source and target). Source and target have the same
            D columns: D = 15045 (the authors' LBP-TOP) with --grouping authors|blocks, any D
            with --groups FILE or --grouping features.
Groups:     --grouping authors (85 chunks of 177 columns, reproduces the records), blocks
            (the 85 true facial blocks), features (every column its own group), or --groups
            FILE: one integer group id per feature column, in a .npy, a .npz holding one
            array, or a .txt/.csv file (ids separated by commas, spaces or new lines); ids
            need not be contiguous or sorted. kappa then counts these groups.

A run first says its size and a rough duration; grids of more than {max_points:,} points are
refused unless --yes is given. On a terminal it shows a progress bar, otherwise (a log file,
a batch job) a progress line every --progress-every seconds. Finished points are
checkpointed to OUT.partial.npz (with --experiment: one OUT.expN.<key>.part.csv per finished
experiment) as they finish and whenever the run stops (Ctrl-C, an error, a full disk); rerun
the same command to resume. OUT must be a file name (a folder is refused) and is written
atomically at the end, with the permissions of an ordinary file (umask).

Errors are one line (`tgsr: error: ...`, exit status 2); set TGSR_DEBUG=1 for tracebacks.
"""


def _add_grid(sub) -> None:
    from tgsr_lib.checks import MAX_GRID_POINTS
    from tgsr_lib.experiments.distributed import CONNECT_TIMEOUT
    from tgsr_lib.experiments.progress import PROGRESS_EVERY

    p = sub.add_parser("grid", help="evaluate TGSR over a (kappa, xi) grid",
                       description=GRID_HELP.format(max_points=MAX_GRID_POINTS),
                       formatter_class=_Formatter)
    p.add_argument("--source", help="source database name or feature file")
    p.add_argument("--target", help="target database name or feature file")
    p.add_argument("--experiment", metavar="LIST",
                   help="instead of --source/--target: paper experiment numbers '5,6,9', "
                        "'computable' (5,6,9-12) or 'all' (HS experiments need HS features)")
    p.add_argument("--kappa", default="paper", metavar="SPEC", help="kappa values")
    p.add_argument("--xi", default="paper", metavar="SPEC", help="xi values")
    groups = p.add_mutually_exclusive_group()
    groups.add_argument("--grouping", choices=("authors", "blocks", "features"),
                        default="authors",
                        help="85 consecutive chunks (authors, reproduces the records), true "
                             "facial blocks, or every feature its own group")
    groups.add_argument("--groups", metavar="FILE",
                        help="your own groups: one integer group id per feature column "
                             "(.npy, .npz, .txt or .csv), for features of any dimension")
    p.add_argument("--engine", choices=("fast", "reference"), default="fast",
                   help="fast grid engine or the one-fit-at-a-time reference solver")
    p.add_argument("--out", required=True, metavar="FILE.csv",
                   help="output CSV file (not a folder)")
    p.add_argument("--yes", action="store_true",
                   help=f"compute grids of more than {MAX_GRID_POINTS:,} points")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask distributed scheduler (tcp://host:8786)")
    p.add_argument("--scheduler-timeout", type=float, default=CONNECT_TIMEOUT,
                   metavar="SECONDS", help="seconds to wait for the scheduler before giving up")
    p.add_argument("--no-progress", action="store_true",
                   help="no size line, resume notice or progress")
    p.add_argument("--progress-every", type=float, default=PROGRESS_EVERY, metavar="SECONDS",
                   help="seconds between progress lines when stderr is not a terminal")
    p.add_argument("--select", metavar="RULE",
                   help="also choose (kappa, xi) without target labels with RULE (source_cv, "
                        "iwcv, dev, reverse, mmd; see tgsr_lib.compare.selection; 5-fold "
                        "source CV, so 5x the fits of the grid) and print its pick beside the "
                        "oracle")
    p.set_defaults(func=_run_grid)


def _run_grid(args) -> int:
    from tgsr_lib.data import protocols
    from tgsr_lib.experiments import axes, io

    grouping, n_groups = _groups_option(args)
    # kappa counts groups: checked now when their number is known without the features
    kappas = None if n_groups is None else axes.parse_kappa(args.kappa, n_groups)
    xis = axes.parse_xi(args.xi)
    if args.select:
        from tgsr_lib.compare.selection import check_rule

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
    if args.progress_every < 0:
        raise ValueError(f"--progress-every {args.progress_every:g}: give seconds >= 0")
    out = io.check_writable(args.out)
    jobs = _prepare_jobs(args, pairs, kappas, xis, grouping)
    client = None
    if args.scheduler:
        from tgsr_lib.experiments.distributed import connect

        client = connect(args.scheduler, args.scheduler_timeout)
    try:
        frames = _compute(args, jobs, out, client)
    finally:
        if client is not None:
            client.close()
    if args.experiment:
        io.write_csv_atomic(pd.concat([f for f, _ in frames], ignore_index=True), out)
        for _, part in frames:
            _remove_part(part)
    print(f"wrote {out}")
    return 0


def _groups_option(args):
    """The groups of ``--grouping`` / ``--groups FILE`` and their number (None for
    ``features``: the number of feature columns, known once the features are read)."""
    from tgsr_lib.data import layout

    if args.groups:
        from tgsr_lib.experiments.io import read_groups_file

        ids = read_groups_file(args.groups)
        return ids, int(np.unique(ids).size)
    if args.grouping == "features":
        return "features", None
    return args.grouping, layout.N_GROUPS


def _prepare_jobs(args, pairs, kappas, xis, grouping) -> list:
    """Validate every experiment's inputs before anything runs; refuse huge grids."""
    from tgsr_lib.data.datasets import DataUnavailableError
    from tgsr_lib.experiments import axes, progress, runner

    skip_missing = bool(args.experiment) and args.experiment.strip().lower() == "all"
    where = f"--groups {args.groups}" if args.groups else None
    jobs = []
    for number, source, target in pairs:
        try:
            pair_kappas = kappas
            if pair_kappas is None:  # one group per feature: K = the source's columns
                n_features = np.shape(runner.features_of(source)[0])[-1]
                pair_kappas = axes.parse_kappa(args.kappa, n_features)
            job = runner.prepare_grid(source, target, pair_kappas, xis, grouping, args.engine,
                                      confirm_large=True, groups_name=where)
        except DataUnavailableError as err:
            if not skip_missing:
                raise
            print(f"skipping Exp.{number} ({source} -> {target}): {err}", file=sys.stderr)
            continue
        if number is not None:
            job = dataclasses.replace(job, desc=f"Exp.{number} {job.desc}")
        jobs.append((number, source, target, job))
    if not jobs:
        raise ValueError("no experiment could be computed")
    total = sum(job.n_points for *_, job in jobs)
    n_source = int(np.mean([job.Xs.shape[0] for *_, job in jobs]))
    runner.check_size(total, args.yes, progress.size_estimate(total, args.engine, n_source))
    return jobs


def _compute(args, jobs, out, client) -> list:
    """Run each job; returns ``(grid, part file or None)`` per experiment."""
    from tgsr_lib.experiments import io, runner

    frames = []
    for number, source, target, job in jobs:
        part = None
        if args.experiment:  # one resumable part file per experiment, removed at the end
            part = out.with_name(f"{out.name}.exp{number}.{job.key[:12]}.part.csv")
        if part is not None and part.is_file() and _has_scores(part):
            df = io.read_grid(part)
            if not args.no_progress:
                print(f"{job.desc}: reusing the finished grid {part}", file=sys.stderr)
        else:
            df = runner.run_grid(job, out=part if args.experiment else out,
                                 progress=False if args.no_progress else None, client=client,
                                 progress_every=args.progress_every)
        best = runner.best_row(df, "macro_f1")
        label = f"Exp.{number} " if number else ""
        groups = f"groups of {args.groups}" if args.groups else args.grouping
        print(f"{label}{source} -> {target} ({groups}): {len(df)} points; first max-F1 "
              f"row kappa={int(best.kappa)} xi={best.xi:g}: accuracy={best.accuracy:.8f} "
              f"macro_f1={best.macro_f1:.8f} uar={best.uar:.8f}")
        if args.select:
            _print_selection(args.select, source, target, job.kappas, job.xis, job.grouping,
                             df)
        if args.experiment:
            df.insert(0, "target", target)
            df.insert(0, "source", source)
            df.insert(0, "experiment", number)
        frames.append((df, part))
    return frames


def _has_scores(part) -> bool:
    """Does a finished part file have the ``uar`` column? (Part files of older versions
    lack it and are computed again.)"""
    return "uar" in pd.read_csv(part, nrows=0).columns


def _remove_part(part) -> None:
    try:
        part.unlink()
    except OSError:
        pass


def _print_selection(rule, source, target, kappas, xis, grouping, df) -> None:
    """The label-free rule's pick, with the target scores at that pick and at the oracle."""
    from tgsr_lib.compare.selection import select_point

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
    _add_module_command(sub, "baselines", "compare.baselines",
                        "run the nine baseline methods on experiments")
    _add_module_command(sub, "extract", "features.extract",
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
    """Run the ``tgsr`` command line; returns the exit status.

    Expected errors (bad input, missing or unreadable files, a full disk, an unreachable
    scheduler...) print one line ``tgsr: error: ...`` and return 2, Ctrl-C returns 130; an
    unexpected exception prints one line and returns 1. ``TGSR_DEBUG=1`` adds the traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = os.environ.get("TGSR_DEBUG", "").strip() not in ("", "0")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except KeyboardInterrupt as err:
        _traceback(debug)
        _say(f"tgsr: interrupted{_notes(err)}")
        return 130
    except (ValueError, OSError, RuntimeError, ImportError) as err:  # DataUnavailableError is
        # a RuntimeError; ImportError: a missing optional dependency, named with its extra
        _traceback(debug)
        _say(f"tgsr: error: {_message(err)}{_notes(err)}")
        return 2
    except Exception as err:
        _traceback(debug)
        hint = "" if debug else "; rerun with TGSR_DEBUG=1 for the traceback"
        _say(f"tgsr: error: unexpected {type(err).__name__}: {_message(err)}{_notes(err)}{hint}")
        return 1


def _message(err: BaseException) -> str:
    """One line: an OSError as ``file: reason`` (plus a hint for a full disk)."""
    if isinstance(err, OSError) and err.strerror:
        text = err.strerror if err.filename is None else f"{err.filename}: {err.strerror}"
        if err.errno == errno.ENOSPC:
            text += " (free some space, then rerun the same command)"
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


def _notes(err: BaseException) -> str:
    notes = [" ".join(str(n).split()) for n in getattr(err, "__notes__", ())]
    return "".join(f"; {n}" for n in notes)


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _say(f"tgsr: warning: {' '.join(str(message).split())}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
