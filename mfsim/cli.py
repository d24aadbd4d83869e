"""Command line: ``mfsim run``, ``mfsim check``, ``mfsim plot``, ``mfsim list``,
``mfsim keys``; for sweeps spread over processes and machines ``mfsim merge``,
``mfsim status`` and ``mfsim submit``.

Exit status: 0 success (a twin that diverges is a result about the twin,
said on stdout, not a failure); 2 bad input (one line on stderr, no
traceback, no output directory created); 3 a network's solve failed
numerically, at the run or at some point of a sweep (partial results kept);
4 a merge found points still missing (combined as NaN, named on stderr); 130
interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import warnings
from pathlib import Path

# every piece of a user's input that is printed goes through clean (no terminal injection)
from ._errors import clean
from ._scenario.plugins import load_plugins

_STARTED = time.perf_counter()  # (the launcher imports this module first)

EXIT_OK, EXIT_USAGE, EXIT_FAILED, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2 (argparse's default prints usage)
        print(f"mfsim: {clean(message)} (see 'mfsim --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _plugin_option(parser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import this module first (a name importable from the working "
                             "directory, or a .py file): it may register systems, tasks and "
                             "monitors with mfsim.register_entries; repeatable. Scenario files "
                             "never load code")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="mfsim", description="Simulate lazy and active training of networks.")
    p.add_argument("-V", "--version", action="version", version=f"mfsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    run.add_argument("--no-compile-cache", action="store_true",
                     help="compile without JAX's persistent compilation cache (on by default: "
                          "$MFSIM_COMPILE_CACHE, else ~/.cache/mfsim/jax; README)")
    spread = run.add_mutually_exclusive_group()
    spread.add_argument("--workers", type=_positive, metavar="N",
                        help="a sweep: solve it in N worker processes (whole batch groups "
                             "each), then combine; the same results as one process")
    spread.add_argument("--shard", metavar="I/N",
                        help="a sweep: solve only shard I of N (I = 0 .. N-1, e.g. "
                             "$SLURM_ARRAY_TASK_ID/N) into the run directory, without "
                             "combining (mfsim merge combines)")
    _plugin_option(run)
    merge = sub.add_parser("merge", help="combine the points the shards of a sweep completed "
                                         "into results.nc, summary.csv and figures")
    merge.add_argument("run_dir")
    merge.add_argument("--quiet", action="store_true", help="no summary line")
    status = sub.add_parser("status", help="count a sweep's points done, failed and missing "
                                           "in its run directory")
    status.add_argument("run_dir")
    submit = sub.add_parser("submit", help="submit a sweep as shards through submitit: a SLURM "
                                           "job array and a merge job, or local processes")
    submit.add_argument("scenario")
    submit.add_argument("--executor", required=True, choices=["slurm", "local"])
    submit.add_argument("--shards", type=_positive, metavar="N",
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
    submit.add_argument("--time", type=_positive, default=60, metavar="MINUTES",
                        help="each task's time limit (default 60); a task that reaches it is "
                             "requeued and resumes")
    submit.add_argument("--gpus-per-task", type=_positive, metavar="G")
    submit.add_argument("--cpus-per-task", type=_positive, metavar="C")
    submit.add_argument("--mem-gb", type=float, metavar="GB")
    submit.add_argument("--array-parallelism", type=_positive, metavar="K",
                        help="at most K tasks of the array at once")
    submit.add_argument("--setup", action="append", default=[], metavar="LINE",
                        help="a shell line run before each task (module load ..., source "
                             "venv/bin/activate); repeatable")
    submit.add_argument("--folder", help="submitit's files (scripts, logs; default: "
                                         "<run dir>/submitit)")
    _plugin_option(submit)
    _plugin_option(merge)
    _plugin_option(status)
    check = sub.add_parser("check", help="validate a scenario file without running it")
    check.add_argument("scenario")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="as for run")
    check.add_argument("--no-memory-check", action="store_true",
                       help="as for run (the points are then not built)")
    _plugin_option(check)
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
    from ._scenario.catalog import CATEGORIES

    listing = sub.add_parser("list", help="systems, tasks, monitors, solvers, twins and "
                                          "shipped scenarios, with one-line descriptions")
    listing.add_argument("category", nargs="*",
                         help=f"what to list: {', '.join(CATEGORIES)} (default: everything)")
    _plugin_option(listing)
    keys = sub.add_parser("keys", help="print the scenario-file reference (Markdown): every "
                                       "key with its meaning, type, default and allowed values")
    keys.add_argument("section", nargs="?",
                      help="one section (top, task, system, solver, save, monitors, compare, "
                           "sweep, output) or one kind (two_layer, teacher, kernel, ...)")
    _plugin_option(keys)
    # the old name of `keys` (runs it, with a deprecation note); not listed
    _plugin_option(plot)
    return p


def _plugin_paths(names: list[str]) -> list[str]:
    """``--plugin`` values for other processes: a ``.py`` file by its absolute path."""
    return [str(Path(n).resolve()) if n.endswith(".py") else n for n in names]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {clean(text)!r}")
    return value


def _overrides(args) -> dict:
    from ._scenario.assignment import parse_assignment

    return dict(parse_assignment(text) for text in args.set)


def _shipped_or_path(name: str) -> str:
    """A shipped scenario's name (``quickstart``, as ``mfsim list scenarios``
    shows it) stands for its file, unless a file of that name exists here."""
    import difflib

    from ._errors import MfsimError
    from ._scenario.catalog import SCENARIO_DIR, shipped_scenarios

    stem = name.removesuffix(".toml")
    if Path(name).exists() or "/" in name or not stem.replace("_", "").isalnum():
        return name
    shipped = SCENARIO_DIR / f"{stem}.toml"
    if shipped.is_file():
        return str(shipped)
    names = [n.removesuffix(".toml") for n, _ in shipped_scenarios()]
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise MfsimError(f"{clean(name)}: no such file, and no shipped scenario of that name{hint}; "
                     "mfsim list scenarios names them")


def _cmd_check(args) -> int:
    import contextlib

    import jax

    from ._runner.execute import build_jobs
    from ._runner.plan import make_plan, needs_float64
    from ._scenario.load import load_scenario
    from ._scenario.sweep import apply_overrides

    scenario = apply_overrides(load_scenario(args.scenario), _overrides(args), args.scenario)
    # what run checks before writing anything: points, memory, output directory, and
    # every point built (its data and initial state finite in its dtype), unless the
    # memory check is off (a scenario for a larger machine: not built here)
    with jax.enable_x64(True) if needs_float64(scenario) else contextlib.nullcontext():
        plan = make_plan(scenario, args.scenario, out=None, force=False,
                         memory_check=not args.no_memory_check)
        if not args.no_memory_check:
            build_jobs(plan.refs, plan.where, twins=False)
            build_jobs(plan.points, plan.where)
    points = plan.points
    sweep = f", {len(points)} sweep points" if plan.sweep else ""
    print(f"{clean(args.scenario)}: ok (scenario {scenario.name!r}{sweep}); "
          f"{_solve_count(plan)}")
    for line in _memory_lines(plan):
        print(f"  {line}")
    return EXIT_OK


def _solve_count(plan) -> str:
    """How many solves a run of ``plan`` makes: each point's network and
    twins, and the reference runs."""
    from ._scenario.twins import TWIN_LEGENDS, selected

    per = [[TWIN_LEGENDS[t.prefix] for t in selected(p.scenario.compare)] for p in plan.points]
    n = sum(1 + len(t) for t in per) + len(plan.refs)
    names = ["the network", *(f"its {t}" for t in per[0])]
    what = (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]) if len(
        {tuple(t) for t in per}) == 1 else "the network and its twins"
    at = " at each point" if plan.sweep else ""
    refs = f", and {len(plan.refs)} reference run{'s' * (len(plan.refs) > 1)}" if plan.refs else ""
    return f"{n} solve{'s' * (n > 1)}: {what}{at}{refs}"


def _memory_lines(plan, shown: int = 8) -> list[str]:
    """The memory estimate of each point (and reference run), largest first,
    against the device's memory."""
    from ._scenario.memory import available_bytes, default_platform, format_bytes, point_estimates

    platform = default_platform()
    found = point_estimates(plan.points + plan.refs, batch=plan.scenario.sweep.batch,
                            platform=platform)
    head = (f"memory estimate (this {platform} device has "
            f"{format_bytes(available_bytes(platform))})")
    refs = {id(r) for r in plan.refs}

    def line(point, est) -> str:
        big = est.largest
        what = f"{format_bytes(est.total)} (largest: {big.what}, {format_bytes(big.bytes)})"
        if id(point) in refs:
            return f"reference run {clean(point.label())}: {what}"
        return f"{clean(point.label())}: {what}" if plan.sweep else what

    if not plan.sweep and len(found) == 1:
        return [f"{head}: {line(*found[0])}"]
    lines = [f"{head}, per point, largest first:"]
    lines += [f"  {line(p, e)}" for p, e in found[:shown]]
    if len(found) > shown:
        lines.append(f"  ... and {len(found) - shown} more, down to "
                     f"{format_bytes(found[-1][1].total)}")
    return lines


def _finished_already(args):
    """The quick path of a rerun: the finished run of exactly this input
    (the scenario file's bytes, the --set values, mfsim's code) read back
    from the directory it would write, before anything is validated or JAX
    imported (:func:`mfsim._store.finished.finished_run`); ``None``
    otherwise (then the run path decides, and reads a finished run back
    too). Not with --force, --plugin (a plugin may change what the input
    means), --shard or --workers."""
    if args.force or args.plugin or args.shard is not None or args.workers:
        return None
    import tomllib

    from ._store.finished import finished_run, input_digest

    overrides = _overrides(args)
    if args.out is not None:
        out = Path(args.out)
    else:
        try:
            raw = tomllib.loads(Path(args.scenario).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError,
                ValueError):
            return None  # the run path says what is wrong
        output = raw.get("output") if isinstance(raw.get("output"), dict) else {}
        out = overrides.get("output.dir", output.get("dir"))
        out = Path(out) if isinstance(out, str) else Path("runs") / str(
            overrides.get("name", raw.get("name", "")))
        if not out.resolve().is_relative_to(Path.cwd().resolve()):
            return None
    asked = input_digest(args.scenario, overrides)
    return None if asked is None else finished_run(out, input_sha256=asked)


def _cmd_run(args) -> int:
    start = _STARTED  # the whole command's time: imports included
    # a bar redraws in place: only on a terminal; into a log file (a batch
    # job), one line per phase and a status line at least every 30 s
    progress = "none" if args.quiet else ("bar" if sys.stderr.isatty() else "lines")
    result = args.finished
    if result is None:
        from ._runner.run import run_scenario
        from ._runner.shards import Shard, ShardResult

        _loaded()
        shard = Shard.parse(args.shard) if args.shard is not None else None
        if shard is not None:  # a worker of `mfsim run --workers`: stop with its parent
            from ._runner.workers import follow_parent

            follow_parent()
        result = run_scenario(args.scenario, out=args.out, progress=progress,
                              force=args.force, overrides=_overrides(args),
                              memory_check=not args.no_memory_check, shard=shard,
                              workers=args.workers, plugins=tuple(_plugin_paths(args.plugin)))
        if isinstance(result, ShardResult):
            return _shard_summary(args, result, time.perf_counter() - start)
    traj, ds = result.trajectory, result.dataset
    if result.sweep:
        return _sweep_summary(args, result, time.perf_counter() - start)
    status, t_final = result.statuses[0][""], result.t_finals[0]
    where = clean(str(result.out_dir))
    twins = _twin_report(result)
    if not result.succeeded:  # the network's solve: the run failed
        end = result.ends[0].get("", f"t = {t_final:.6g}")
        print(f"mfsim: {clean(args.scenario)}: the network's solve stopped at {end} "
              f"({status}); partial results kept in {where}", file=sys.stderr)
        if twins and not args.quiet:
            print(f"{clean(args.scenario)}: {twins}")
        return EXIT_FAILED
    if not args.quiet:
        last = {k: float(ds[k][-1]) for k in ("train_loss", "test_loss") if k in ds}
        summary = ", ".join(f"{k} {v:.4g}" for k, v in last.items())
        total = time.perf_counter() - start
        if result.complete:
            how = (f"already complete in {where}/: read back in {total:.1f} s, nothing solved "
                   "(mfsim plot redraws the figures, --force solves again)")
        elif traj is not None:  # the whole command: imports, twins and figures included
            stats = traj.stats
            how = (f"done in {total:.1f} s (the network's solve {stats['wall_time']:.2f} s, "
                   f"compile {stats['compile_time']:.2f} s, {stats['num_steps']} steps)")
        else:
            how = (f"resumed and done in {total:.1f} s (the network's solve read back from an "
                   "interrupted run)")
        print(f"{clean(args.scenario)}: {how}; at t={t_final:.4g}: {summary}"
              + (f"; {twins}" if twins else "")
              + ("" if result.complete else f"\nresults in {where}/"))
    return EXIT_OK


def _twin_report(result) -> str:
    """The twins that did not succeed, each with the points and where it
    stopped ("linearized twin: diverged at [lr=3] step 106, ..."); "" if none."""
    return _solve_report(result, [s for s in result.failures if s != "network"])


def _solve_report(result, solves) -> str:
    """What became of the ``solves`` (``network``, ``linearized twin``...)
    that did not succeed, by reason, with the points and where each stopped."""
    sweep = result.sweep
    said = []
    for solve in solves:
        failures = result.failures.get(solve, [])
        if not failures:
            continue
        by_reason: dict[str, list] = {}
        for f in failures:
            by_reason.setdefault(f.reason, []).append(f)
        parts = []
        for reason, found in by_reason.items():
            if sweep:
                at = ", ".join(f"[{clean(f.point)}] {f.where}".rstrip() for f in found[:6])
                more = f" and {len(found) - 6} more" if len(found) > 6 else ""
                parts.append(f"{clean(reason)} at {len(found)} of {len(result.labels)} points "
                             f"({at}{more})")
            else:
                parts.append(f"{clean(reason)} at {found[0].where}")
        said.append(f"{solve}: " + "; ".join(parts))
    return "; ".join(said)


def _shard_summary(args, result, total: float) -> int:
    where = clean(str(result.out_dir))
    for label in result.failed:
        print(f"mfsim: {clean(args.scenario)}: shard {result.shard}: point {clean(label)} "
              "failed", file=sys.stderr)
    if not args.quiet:
        again = f" ({len(result.resumed)} read back)" if result.resumed else ""
        print(f"{clean(args.scenario)}: shard {result.shard}: {len(result.labels)} points done "
              f"in {total:.1f} s{again}; mfsim merge {where} combines the shards")
    return EXIT_FAILED if result.failed else EXIT_OK


def _listing(labels, limit: int = 10) -> str:
    shown = ", ".join(f"[{clean(label)}]" for label in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _cmd_merge(args) -> int:
    from ._store.merge import merge

    merged = merge(args.run_dir)
    where, n = clean(str(merged.result.out_dir)), len(merged.result.labels)
    if merged.failed:
        print(f"mfsim: {where}: the network failed at {len(merged.failed)} points: "
              f"{_listing(merged.failed)}", file=sys.stderr)
    if merged.missing:
        print(f"mfsim: {where}: {len(merged.missing)} of {n} points missing (NaN, status "
              f"missing, in the results): {_listing(merged.missing)}; rerun their shards, "
              "then merge again", file=sys.stderr)
        return EXIT_INCOMPLETE
    if not args.quiet:
        twins = _twin_report(merged.result)
        print(f"{where}: merged {n} points into results.nc, summary.csv and figures"
              + (f"; {twins}" if twins else ""))
    return EXIT_FAILED if merged.failed else EXIT_OK


def _single_run_status(run_dir: Path) -> str | None:
    """``mfsim status`` of a run directory holding one run (None: a sweep):
    complete with each solve's status (network, then each twin) and where
    it ended, or interrupted with its checkpoints kept, or not started."""
    import xarray as xr

    from ._runner.plan import solve_label
    from ._store.merge import run_plan
    from ._store.points import CHECKPOINT_GLOB
    from ._store.results import RESULTS_FILE

    if run_plan(run_dir).sweep:
        return None
    head = f"{clean(str(run_dir))}: one run"
    results = run_dir / RESULTS_FILE
    if results.is_file():
        with xr.open_dataset(results, engine="h5netcdf") as ds:
            attrs = dict(ds.attrs)
        solves = []
        for key in sorted((k for k in attrs if k.endswith("status")), key=len):
            prefix = key[: -len("status")]
            who = solve_label(prefix)
            at = attrs.get(f"{prefix}t_final")
            where = f" at t = {float(at):g}" if at is not None else ""
            solves.append(f"{who}: {clean(str(attrs[key]))}{where}")
        return f"{head}, complete; " + "; ".join(solves)
    kept = sorted(run_dir.glob(CHECKPOINT_GLOB))
    if kept:
        return (f"{head}, interrupted ({len(kept)} checkpoint file(s) kept): "
                f"mfsim run {clean(str(run_dir / 'scenario.toml'))} --out "
                f"{clean(str(run_dir))} resumes it")
    return f"{head}, not finished: no results and no checkpoint yet"


def _cmd_status(args) -> int:
    from ._store.merge import run_status

    single = _single_run_status(Path(args.run_dir))
    if single is not None:
        print(single)
        return EXIT_OK
    st = run_status(args.run_dir)
    n = len(st.done) + len(st.failed) + len(st.missing)
    print(f"{clean(str(st.out_dir))}: {n} points: {len(st.done)} done, {len(st.failed)} "
          f"failed (the network's solve), {len(st.missing)} missing")
    for what, labels in (("failed", st.failed), ("missing", st.missing)):
        if labels:
            print(f"  {what}: {_listing(labels)}")
    for twin, labels in st.twins_failed.items():  # results about the twin, not failures
        print(f"  {twin} failed at {len(labels)} of the points written: {_listing(labels)}")
    return EXIT_OK


def _cmd_submit(args) -> int:
    import contextlib

    import jax

    from ._runner.plan import make_plan, needs_float64
    from ._runner.submit import Cluster, submit
    from ._scenario.load import load_scenario
    from ._scenario.sweep import apply_overrides

    scenario = apply_overrides(load_scenario(args.scenario), _overrides(args), args.scenario)
    with jax.enable_x64(True) if needs_float64(scenario) else contextlib.nullcontext():
        plan = make_plan(scenario, args.scenario, out=args.out, force=args.force,
                         memory_check=False, overrides=_overrides(args))
    default = (os.cpu_count() or 1) if args.executor == "local" else 100
    cluster = Cluster(executor=args.executor, shards=args.shards or default,
                      time_min=args.time, partition=args.partition, account=args.account,
                      qos=args.qos, gpus_per_task=args.gpus_per_task,
                      cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb,
                      array_parallelism=args.array_parallelism, folder=args.folder,
                      setup=tuple(args.setup), plugins=tuple(_plugin_paths(args.plugin)),
                      cwd=os.getcwd(), compile_cache=not args.no_compile_cache)
    sub = submit(plan, cluster, force=args.force)
    where = clean(str(sub.out_dir))
    if sub.merged is None:
        if not args.quiet:
            print(f"{clean(args.scenario)}: submitted job array "
                  f"{sub.task_ids[0].split('_')[0]} ({len(sub.task_ids)} shards) and merge job "
                  f"{sub.merge_id} (after the array); results in {where}/, logs in "
                  f"{clean(str(sub.folder))}/; mfsim status {where}")
        return EXIT_OK
    merged = sub.merged
    if merged.missing or merged.failed:
        print(f"mfsim: {where}: the network failed at {len(merged.failed)}, "
              f"{len(merged.missing)} missing of {len(merged.result.labels)} points",
              file=sys.stderr)
        return EXIT_INCOMPLETE if merged.missing else EXIT_FAILED
    if not args.quiet:
        twins = _twin_report(merged.result)
        print(f"{clean(args.scenario)}: {len(sub.task_ids)} local shards done and merged; "
              f"results in {where}/" + (f"; {twins}" if twins else ""))
    return EXIT_OK


def _sweep_summary(args, result, total: float) -> int:
    """A sweep's outcome: a point fails when its network's solve does (one
    line each on stderr, exit 3); the twins' failures are results, said
    with the rest on stdout."""
    where = clean(str(result.out_dir))
    network = result.failures.get("network", [])
    for f in network:
        print(f"mfsim: {clean(args.scenario)}: point {clean(f.point)}: the network's solve "
              f"stopped at {f.where} ({clean(f.status)})", file=sys.stderr)
    n = len(result.labels)
    twins = _twin_report(result)
    if not args.quiet:
        if result.complete:
            head = (f"already complete in {where}/: {n} points read back in {total:.1f} s, "
                    "nothing solved (mfsim plot redraws the figures, --force solves again)")
        else:
            again = (f", {len(result.resumed)} of them read back from an interrupted run "
                     "(resumed)") if result.resumed else ""
            head = f"{n} points done in {total:.1f} s{again}"
        nets = f"network: success at {n - len(network)} of {n} points" + (
            ", " + _solve_report(result, ["network"]).removeprefix("network: ")
            if network else "")
        print(f"{clean(args.scenario)}: {head}; {nets}" + (f"; {twins}" if twins else "")
              + ("" if result.complete else
                 f"\nresults in {where}/ (summary.csv: final values per point)"))
    if network:
        print(f"mfsim: {clean(args.scenario)}: the network failed at {len(network)} of {n} "
              f"points; all results kept in {where}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _cmd_plot(args) -> int:
    from ._errors import MfsimError
    from ._runner.lock import run_lock
    from ._runner.manifest import Manifest
    from ._store.io import recording
    from ._store.points import draw_figures
    from ._store.results import RESULTS_FILE, open_results

    run_dir = Path(args.run_dir)
    if not (run_dir / RESULTS_FILE).is_file():
        raise MfsimError(f"{run_dir}: no {RESULTS_FILE} here; is this a run directory?")
    ds = open_results(run_dir)
    from .plotting import left_out, plan

    planned = plan(ds)
    if args.list:
        for figure in planned:
            print(clean(f"{figure.stem}.{args.format}: {figure.reason}"))
        for line in left_out(ds):
            print(clean(f"  not drawn: {line}"))
        return EXIT_OK
    stems = {figure.stem for figure in planned}
    figures_asked = [n for n in args.names if n in stems]
    args.var = list(args.var) + [n for n in args.names if n not in stems]
    chosen = args.var or args.x or args.y or args.out or "auto" not in (args.xscale,
                                                                         args.yscale)
    if chosen:
        return _plot_chosen(args, ds, run_dir)
    # the figures are the run directory's: named in its manifest, never while a run writes
    with run_lock(run_dir), recording(Manifest(run_dir).record):
        figures = draw_figures(ds, run_dir, ds.attrs.get("scenario"), [args.format],
                               names=figures_asked or None)
    for path in figures:
        print(clean(str(path)))
    return EXIT_OK


def _plot_chosen(args, ds, run_dir: Path) -> int:
    """``mfsim plot --var ...``: the chosen figures, into the run directory
    (or ``--out``)."""
    from ._errors import MfsimError
    from ._runner.lock import run_lock
    from ._runner.manifest import Manifest
    from ._store.io import recording
    from ._store.points import inside
    from .plotting import chosen_figures, save_figure

    if not args.var:
        raise MfsimError("mfsim plot: --x, --y, --xscale, --yscale and --out choose how to draw "
                         "the variables named with --var NAME; name at least one")
    names = [n.strip() for value in args.var for n in value.split(",") if n.strip()]
    try:
        figures = chosen_figures(ds, names, x=args.x, y=args.y, xscale=args.xscale,
                                 yscale=args.yscale, title=ds.attrs.get("scenario"))
    except ValueError as err:
        raise MfsimError(f"{run_dir}: {err}") from None
    if args.out:
        if len(figures) != 1:
            raise MfsimError(f"--out names one file; these options draw {len(figures)} figures "
                             "(name one --var, or leave --out off)")
        out = Path(args.out)
        if out.suffix.lstrip(".") not in ("png", "svg", "pdf"):
            raise MfsimError(f"--out {clean(str(out))}: the suffix picks the format; allowed "
                             ".png, .svg, .pdf")
        paths = [save_figure(figures[0][1], out, title=ds.attrs.get("scenario"))]
    else:
        with run_lock(run_dir), recording(Manifest(run_dir).record):
            paths = [save_figure(fig, inside(run_dir, f"{stem}.{args.format}"),
                                 title=ds.attrs.get("scenario")) for stem, fig in figures]
    for path in paths:
        print(clean(str(path)))
    return EXIT_OK


def _cmd_list(args) -> int:
    from ._errors import MfsimError
    from ._scenario.catalog import CATEGORIES, format_catalog

    for category in args.category:
        if category not in CATEGORIES:
            raise MfsimError(f"list: unknown category {category!r}; allowed: "
                             f"{', '.join(CATEGORIES)}")
    # as this very code listed it before (no JAX import), unless entries were added
    print(format_catalog(args.category or CATEGORIES, cached=_shipped_entries(args)), end="")
    return EXIT_OK


def _shipped_entries(args) -> bool:
    """Whether the registry can hold only mfsim's own entries: no --plugin,
    and nothing registered in this process (a script calling main)."""
    registry = sys.modules.get("mfsim._scenario.registry")
    return not args.plugin and (registry is None or registry.built_in_only())


def _reference_page(args) -> str:
    """The scenario-key reference page; without plugins, as this very code
    made it before (:mod:`mfsim._store.derived_cache`: no registry, no JAX)."""
    def make() -> str:
        from ._scenario.keys import keys_markdown

        return keys_markdown()

    if not _shipped_entries(args):
        return make()
    from ._store.derived_cache import cached_text

    return cached_text("keys", make)


def _cmd_keys(args) -> int:
    from ._errors import MfsimError
    from ._scenario.reference_page import section_of

    page = _reference_page(args)
    if args.section is None:
        print(page, end="")
        return EXIT_OK
    try:
        print(section_of(page, args.section), end="")
    except ValueError as err:
        raise MfsimError(f"keys: {clean(str(err))}") from None
    return EXIT_OK


_SHOWN: list[str] = []  # the transient line on the terminal, if one is shown


def _loading(line: str) -> None:
    """Say at once, on a terminal, what the command waits for (JAX takes
    seconds to import); :func:`_loaded` erases it."""
    sys.stderr.write(line)
    sys.stderr.flush()
    _SHOWN.append(line)


def _loaded() -> None:
    """Erase :func:`_loading`'s line: what follows (a refusal, the bar)
    starts on a clean line."""
    if _SHOWN:
        _SHOWN.clear()
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # JAX's 64-bit mode stays as a Python script finds it: each command switches
    # it on, scoped, for a scenario that needs float64 (as mfsim.run does), so a
    # float32 run here equals the same run from the API, bit for bit
    from ._errors import MfsimError, MfsimWarning
    from ._store.compile_cache import disable_compile_cache, enable_compile_cache

    commands = {"run": _cmd_run, "check": _cmd_check, "plot": _cmd_plot, "list": _cmd_list,
                "keys": _cmd_keys, "merge": _cmd_merge,
                "status": _cmd_status, "submit": _cmd_submit}
    # SIGTERM (a batch scheduler's stop) ends a run like Ctrl-C: completed
    # points and checkpoints are on disk, and the message says how to resume
    from ._runner import interrupt

    interrupt.begin()
    try:
        previous = signal.signal(signal.SIGTERM, interrupt.on_signal)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    # notes (a renamed key, a corrupt file solved again): one line each, like
    # every message of the command
    show = warnings.showwarning

    noted = set()

    def note(message, category, *rest, **kw):
        # every warning is one line of the command's (a library's too: numpy's
        # "overflow encountered in cast" printed its source line above the
        # message that says what to change), each said once
        text = clean(str(message))
        if not issubclass(category, MfsimWarning):
            text = f"{category.__name__}: {text}"
        if text not in noted:
            noted.add(text)
            print(f"mfsim: note: {text}", file=sys.stderr)

    warnings.showwarning = note
    try:
        if args.command in ("run", "check", "submit"):
            args.scenario = _shipped_or_path(args.scenario)
        if args.command == "run":  # a rerun of a finished run: read back, no JAX
            args.finished = _finished_already(args)
        quick = args.command == "run" and args.finished is not None
        if args.command == "run" and not (quick or args.quiet) and sys.stderr.isatty():
            _loading(f"mfsim: {clean(args.scenario)}: loading mfsim and JAX ...")
        if args.command in ("run", "submit") and args.no_compile_cache and not quick:
            disable_compile_cache()
        elif args.command in ("run", "submit") and not quick:
            enable_compile_cache()  # before anything compiles
        load_plugins(args.plugin)
        code = commands[args.command](args)
        interrupt.finish()  # a signal from here on cannot raise
        return code
    except MfsimError as e:
        interrupt.finish()
        _loaded()
        print(f"mfsim: {clean(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        interrupt.finish()
        _loaded()
        print(f"mfsim: {clean(str(e))}" if str(e) else
              "mfsim: interrupted (what was already written is kept)", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        _loaded()  # whatever ended the command, the line goes
        warnings.showwarning = show
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_SECOND = b"mfsim: interrupted again: exiting now (completed points and checkpoints are kept)\n"


def _watch_signals() -> None:
    """A daemon thread woken by the C-level signal handler (through
    ``signal.set_wakeup_fd``), even while the main thread waits inside a
    compiled solve: the first SIGINT/SIGTERM is recorded, so the run stops
    at its next safe point even if Python's KeyboardInterrupt is swallowed;
    a second one exits at once (every file is written atomically, so
    nothing half-written is left)."""
    import threading

    from ._runner.interrupt import request, take_redelivered

    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write)
    stops = {int(signal.SIGINT), int(signal.SIGTERM)}

    def watch():
        count = 0
        while True:
            for number in os.read(read, 64):
                if number in stops and not take_redelivered():
                    count += 1
                    request()
                    if count >= 2:
                        os.write(2, _SECOND)
                        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="mfsim-signals", daemon=True).start()


def entry() -> None:
    """The ``mfsim`` command. An interrupted run leaves with ``os._exit``:
    its results are on disk and flushed, and compiled computations the
    interrupt left running on XLA's threads must not meet the interpreter's
    teardown (that ended in a segmentation fault)."""

    from ._runner import interrupt

    _watch_signals()
    sys.unraisablehook = interrupt.unraisable_hook
    signal.signal(signal.SIGINT, interrupt.on_signal)
    signal.signal(signal.SIGTERM, interrupt.on_signal)
    try:
        code = main()
    except KeyboardInterrupt:  # before the command started (parsing its arguments)
        interrupt.finish()
        print("mfsim: interrupted before the command started; nothing was written",
              file=sys.stderr)
        code = EXIT_INTERRUPTED
    # the command has returned (a late signal is only recorded): ignore both
    # signals, so that nothing interrupts or kills the exit
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.flush()
    sys.stderr.flush()
    if code == EXIT_INTERRUPTED:
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
