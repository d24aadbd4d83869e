"""``mfsim merge``, ``mfsim status`` and ``mfsim submit``: sweeps spread over
processes and machines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .._errors import MfsimError, clean
from .common import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK, listing, plugin_paths, set_values
from .run import twin_report


def cmd_merge(args) -> int:
    from .._store.merge import incomplete, merge

    merged = merge(args.run_dir)
    code, lines = incomplete(merged)
    for line in lines:
        print(line, file=sys.stderr)
    if not (args.quiet or merged.missing):
        twins = twin_report(merged.result)
        print(f"{clean(str(merged.result.out_dir))}: merged {len(merged.result.labels)} points "
              "into results.nc, summary.csv and figures" + (f"; {twins}" if twins else ""))
    return code


def _single_run_status(run_dir: Path) -> str | None:
    """``mfsim status`` of a run directory holding one run (None: a sweep):
    complete with each solve's status (network, then each twin) and where
    it ended, or interrupted with its checkpoints kept, or not started."""
    import xarray as xr

    from .._runner.plan import solve_label
    from .._store.merge import run_plan
    from .._store.points import CHECKPOINT_GLOB
    from .._store.results import RESULTS_FILE

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


def cmd_status(args) -> int:
    from .._store.merge import run_status
    from .._store.results import SUBMISSION_FILE

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
            print(f"  {what}: {listing(labels)}")
    for shard, why in st.stopped.items():
        print(f"  shard {shard} stopped: {why}")
    for twin, labels in st.twins_failed.items():  # results about the twin, not failures
        print(f"  {twin} failed at {len(labels)} of the points written: {listing(labels)}")
    if st.missing and (Path(args.run_dir) / SUBMISSION_FILE).is_file():
        print(f"  mfsim submit --resubmit-missing {clean(args.run_dir)} submits the shards of "
              "the missing points again (once the submission's jobs have ended)")
    return EXIT_OK


_RECORDED = ("executor", "partition", "account", "qos", "gpus_per_task", "cpus_per_task",
             "mem_gb", "array_parallelism", "folder")


def _cluster_options(args) -> dict:
    """The :class:`Cluster` fields the command line gives (those not given are
    left out: a resubmission keeps what its first submission asked)."""
    given = {name: getattr(args, name) for name in _RECORDED if getattr(args, name) is not None}
    if args.time is not None:
        given["time_min"] = args.time
    if args.shards is not None:
        given["shards"] = args.shards
    if args.setup:
        given["setup"] = tuple(args.setup)
    if args.plugin:
        given["plugins"] = tuple(plugin_paths(args.plugin))
    if args.no_compile_cache:
        given["compile_cache"] = False
    if args.requeues is not None:
        given["requeues"] = args.requeues
    return given


def cmd_submit(args) -> int:
    import contextlib

    import jax

    from .._runner.plan import make_plan, needs_float64
    from .._runner.submit import Cluster, submit
    from .._scenario.load import load_scenario
    from .._scenario.sweep import apply_overrides

    if (args.scenario is None) == (args.resubmit_missing is None):
        raise MfsimError("mfsim submit: give a scenario, or --resubmit-missing RUN_DIR "
                         "(one of the two)")
    if args.resubmit_missing is not None:
        return _resubmit(args)
    if args.executor is None:
        raise MfsimError("mfsim submit: --executor is needed: slurm or local")
    scenario = apply_overrides(load_scenario(args.scenario), set_values(args), args.scenario)
    with jax.enable_x64(True) if needs_float64(scenario) else contextlib.nullcontext():
        plan = make_plan(scenario, args.scenario, out=args.out, force=args.force,
                         memory_check=False, overrides=set_values(args))
    options = _cluster_options(args)
    options.setdefault("shards", (os.cpu_count() or 1) if args.executor == "local" else 100)
    options.setdefault("time_min", 60)
    sub = submit(plan, Cluster(**options, cwd=os.getcwd()), force=args.force)
    return _submitted(args, clean(args.scenario), sub)


def _resubmit(args) -> int:
    from .._runner.submit import resubmit_missing
    from .._store.merge import run_plan

    if args.out is not None or args.set or args.force:
        raise MfsimError("mfsim submit --resubmit-missing: --out, --set and --force belong to a "
                         "new submission (the run directory holds its resolved scenario)")
    run_dir = Path(args.resubmit_missing)
    plan = run_plan(run_dir)
    sub = resubmit_missing(plan, _cluster_options(args))
    if sub is None:
        if not args.quiet:
            print(f"{clean(str(run_dir))}: no point is missing: nothing to resubmit "
                  f"(mfsim merge {clean(str(run_dir))} combines them)")
        return EXIT_OK
    return _submitted(args, clean(str(run_dir)), sub)


def _submitted(args, what: str, sub) -> int:
    """Report a submission (SLURM: the job ids; local: the merged run)."""
    where = clean(str(sub.out_dir))
    if sub.merged is None:
        if not args.quiet:
            n = len(sub.task_ids)
            print(f"{what}: submitted job array {sub.task_ids[0].split('_')[0]} "
                  f"({n} shard{'s' if n > 1 else ''}) and merge job {sub.merge_id} (after the "
                  f"array); results in {where}/, logs in {clean(str(sub.folder))}/; "
                  f"mfsim status {where}")
        return EXIT_OK
    merged = sub.merged
    if merged.missing or merged.failed:
        print(f"mfsim: {where}: the network failed at {len(merged.failed)}, "
              f"{len(merged.missing)} missing of {len(merged.result.labels)} points",
              file=sys.stderr)
        return EXIT_INCOMPLETE if merged.missing else EXIT_FAILED
    if not args.quiet:
        twins = twin_report(merged.result)
        n = len(sub.task_ids)
        print(f"{what}: {n} local shard{'s' if n > 1 else ''} done and merged; "
              f"results in {where}/" + (f"; {twins}" if twins else ""))
    return EXIT_OK
