"""``mfsim check`` and ``mfsim run``, and what they say of a run or a sweep."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .._errors import clean
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    STARTED,
    loaded,
    plugin_paths,
    set_values,
)


def cmd_check(args) -> int:
    import contextlib

    import jax

    from .._runner.execute import build_jobs
    from .._runner.plan import make_plan, needs_float64
    from .._scenario.load import load_scenario
    from .._scenario.sweep import apply_overrides

    scenario = apply_overrides(load_scenario(args.scenario), set_values(args), args.scenario)
    # what run checks before writing anything: points, memory, output directory, and
    # every point built (its data and initial state finite in its dtype), unless the
    # memory check is off (a scenario for a larger machine: not built here)
    with jax.enable_x64(True) if needs_float64(scenario) else contextlib.nullcontext():
        plan = make_plan(scenario, args.scenario, out=None, force=False,
                         memory_check=not args.no_memory_check)
        if not args.no_memory_check:
            build_jobs(plan.refs, plan.where, twins=False)
            build_jobs(plan.points, plan.where, crossover=plan.scenario.crossover)
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
    from .._scenario.twins import TWIN_LEGENDS, selected

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
    from .._scenario.memory import available_bytes, default_platform, format_bytes, point_estimates

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


def finished_already(args):
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

    from .._store.finished import finished_run, input_digest

    overrides = set_values(args)
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


def cmd_run(args) -> int:
    from .._runner.timings import Timings

    timings = Timings.since_process_start()  # a finished run's: nothing else imported
    code, ended = _run_and_report(args, timings)
    if args.timings:  # after the summary: the last line waited for
        timings.add("exit", time.perf_counter() - ended)
        print("timings (wall clock, this process; mfsim run --help):")
        print("\n".join(timings.lines()))
    return code


def _run_and_report(args, timings) -> tuple[int, float]:
    """Run (or read back) the scenario and print its summary: the exit code
    and when the run itself ended."""
    start = STARTED  # the whole command's time: imports included
    # a bar redraws in place: only on a terminal; into a log file (a batch
    # job), one line per phase and a status line at least every 30 s
    progress = "none" if args.quiet else ("bar" if sys.stderr.isatty() else "lines")
    result = args.finished
    if result is None:
        from .._runner.run import run_scenario
        from .._runner.shards import Shard, ShardResult

        loaded()
        timings.imports_done()
        shard = Shard.parse(args.shard) if args.shard is not None else None
        if shard is not None:  # a worker of `mfsim run --workers`: stop with its parent
            from .._runner.workers import follow_parent

            follow_parent()
        result = run_scenario(args.scenario, out=args.out, progress=progress,
                              force=args.force, overrides=set_values(args),
                              memory_check=not args.no_memory_check, shard=shard,
                              workers=args.workers, plugins=tuple(plugin_paths(args.plugin)),
                              timings=timings)
        if isinstance(result, ShardResult):
            ended = time.perf_counter()
            return _shard_summary(args, result, ended - start), ended
    ended = time.perf_counter()
    if result.sweep:
        return _sweep_summary(args, result, ended - start), ended
    return _single_summary(args, result, ended - start), ended


def _single_summary(args, result, total: float) -> int:
    """A single run's outcome: one line, or the failure on stderr (exit 3)."""
    traj, ds = result.trajectory, result.dataset
    status, t_final = result.statuses[0][""], result.t_finals[0]
    where = clean(str(result.out_dir))
    twins = twin_report(result)
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


def twin_report(result) -> str:
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
    twins = twin_report(result)
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
