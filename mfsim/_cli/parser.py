"""The command line's arguments: one subcommand each."""

from __future__ import annotations

import argparse

from .common import Parser, plugin_option, positive


def parser() -> argparse.ArgumentParser:
    """The ``mfsim`` command's parser (a bad argument: one line, status 2)."""
    from .. import __version__

    p = Parser(prog="mfsim", description="Simulate lazy and active training of networks.")
    p.add_argument("-V", "--version", action="version", version=f"mfsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in (_run, _cluster, _check, _plot, _catalog):
        add(sub)
    return p


def _run(sub) -> None:
    run = sub.add_parser("run", help="run a scenario file and write its run directory")
    run.add_argument("scenario", help="a scenario .toml file, or the name of a shipped one "
                     "(mfsim list scenarios)")
    run.add_argument("--out", help="output directory (default: [output].dir or runs/<name>)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar (shown on a terminal) and no summary")
    run.add_argument("--force", action="store_true",
                     help="discard what the output directory holds (another scenario's results, or "
                          "this scenario's completed points) and run from scratch")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a key (e.g. system.width=256); a list value "
                          "(system.width=[64,256]) makes it a sweep axis; bare words are "
                          "strings (system.activation=[relu,tanh]); repeatable")
    run.add_argument("--no-memory-check", action="store_true",
                     help="run even when the memory estimate exceeds the device's memory")
    run.add_argument("--timings", action="store_true",
                     help="print where the time went: import, plan, build, compile, solve, "
                          "store, figures, exit (provenance.json records it either way)")
    run.add_argument("--no-compile-cache", action="store_true",
                     help="compile without JAX's persistent compilation cache (on by default: "
                          "$MFSIM_COMPILE_CACHE, else ~/.cache/mfsim/jax; README)")
    spread = run.add_mutually_exclusive_group()
    spread.add_argument("--workers", type=positive, metavar="N",
                        help="a sweep: solve it in N worker processes (whole batch groups "
                             "each), then combine; the same results as one process")
    spread.add_argument("--shard", metavar="I/N",
                        help="a sweep: solve only shard I of N (I = 0 .. N-1, e.g. "
                             "$SLURM_ARRAY_TASK_ID/N) into the run directory, without "
                             "combining (mfsim merge combines)")
    plugin_option(run)


def _cluster(sub) -> None:
    merge = sub.add_parser("merge", help="combine the points the shards of a sweep completed "
                                         "into results.nc, summary.csv and figures")
    merge.add_argument("run_dir")
    merge.add_argument("--quiet", action="store_true", help="no summary line")
    status = sub.add_parser("status", help="count a sweep's points done, failed and missing "
                                           "in its run directory")
    status.add_argument("run_dir")
    submit = sub.add_parser("submit", help="submit a sweep as shards through submitit: a SLURM "
                                           "job array and a merge job, or local processes")
    submit.add_argument("scenario", nargs="?")
    submit.add_argument("--resubmit-missing", metavar="RUN_DIR",
                        help="instead of a scenario: submit again the shards of this run "
                             "directory whose points are missing, with its first submission's "
                             "options (those given here replace them)")
    submit.add_argument("--executor", choices=["slurm", "local"],
                        help="slurm (a job array and a merge job) or local (processes here)")
    submit.add_argument("--shards", type=positive, metavar="N",
                        help="array tasks (default: local, the CPU count; slurm, one per point "
                             "up to 100)")
    submit.add_argument("--out", help="the run directory (default: [output].dir or runs/<name>; "
                                      "on a filesystem the nodes share)")
    submit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="as for run")
    submit.add_argument("--force", action="store_true", help="as for run")
    submit.add_argument("--quiet", action="store_true",
                        help="as for run: no summary line (the job ids are in "
                             "<run dir>/submitit)")
    submit.add_argument("--no-compile-cache", action="store_true",
                        help="as for run: each task compiles without the persistent cache")
    submit.add_argument("--partition")
    submit.add_argument("--account")
    submit.add_argument("--qos")
    submit.add_argument("--time", type=positive, metavar="MINUTES",
                        help="each task's time limit (default 60); a task that reaches it is "
                             "requeued and resumes")
    submit.add_argument("--requeues", type=positive, metavar="N",
                        help="a task that reaches its time limit is requeued up to N times "
                             "(default 3), resuming from the points written")
    submit.add_argument("--gpus-per-task", type=positive, metavar="G")
    submit.add_argument("--cpus-per-task", type=positive, metavar="C")
    submit.add_argument("--mem-gb", type=float, metavar="GB")
    submit.add_argument("--array-parallelism", type=positive, metavar="K",
                        help="at most K tasks of the array at once")
    submit.add_argument("--setup", action="append", default=[], metavar="LINE",
                        help="a shell line run before each task (module load ..., source "
                             "venv/bin/activate); repeatable")
    submit.add_argument("--folder", help="submitit's files (scripts, logs; default: "
                                         "<run dir>/submitit)")
    plugin_option(submit)
    plugin_option(merge)
    plugin_option(status)


def _check(sub) -> None:
    check = sub.add_parser("check", help="validate a scenario file without running it")
    check.add_argument("scenario")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="as for run")
    check.add_argument("--no-memory-check", action="store_true",
                       help="as for run (the points are then not built)")
    plugin_option(check)


def _plot(sub) -> None:
    plot = sub.add_parser("plot", help="redraw the figures of a run directory, or draw "
                                       "chosen variables against time or sweep axes")
    plot.add_argument("run_dir")
    plot.add_argument("names", nargs="*", metavar="VARIABLE",
                      help="draw only these: a figure of the run (loss, stability, vs_width, "
                           "...; see --list) or a variable against time")
    plot.add_argument("--list", action="store_true",
                      help="name the figures the run gets and why, and what is not drawn")
    plot.add_argument("--format", default="png", choices=["png", "svg", "pdf"],
                      help="png, or a vector format for a paper")
    plot.add_argument("--var", action="append", default=[], metavar="NAME",
                      help="draw only this variable (repeat for several; 'loss' is the loss "
                           "figure): against time, or with --x against a sweep axis")
    plot.add_argument("--x", metavar="AXIS", help="with --var: final values against this "
                                                  "sweep axis")
    plot.add_argument("--y", metavar="AXIS", help="with --var and --x: a phase diagram over "
                                                  "the two sweep axes")
    plot.add_argument("--xscale", default="auto", choices=["auto", "linear", "log"])
    plot.add_argument("--yscale", default="auto", choices=["auto", "linear", "log"])
    plot.add_argument("--out", metavar="FILE", help="with --var: write the one figure here "
                                                    "(format from the suffix)")
    plugin_option(plot)


def _catalog(sub) -> None:
    from .._scenario.catalog import CATEGORIES

    listing = sub.add_parser("list", help="systems, tasks, monitors, solvers, twins and "
                                          "shipped scenarios, with one-line descriptions")
    listing.add_argument("category", nargs="*",
                         help=f"what to list: {', '.join(CATEGORIES)} (default: everything)")
    plugin_option(listing)
    keys = sub.add_parser("keys", help="print the scenario-file reference (Markdown): every "
                                       "key with its meaning, type, default and allowed values")
    keys.add_argument("section", nargs="?",
                      help="one section (top, task, system, solver, save, monitors, compare, "
                           "sweep, output) or one kind (two_layer, teacher, kernel, ...)")
    plugin_option(keys)
