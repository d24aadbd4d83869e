"""``mfsim merge``, ``mfsim status`` and ``mfsim submit``: sweeps spread over
processes and machines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .._errors import clean
from .common import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK, listing, plugin_paths, set_values
from .run import twin_report


def cmd_merge(args) -> int:
    from .._store.merge import merge

    merged = merge(args.run_dir)
    where, n = clean(str(merged.result.out_dir)), len(merged.result.labels)
    if merged.failed:
        print(f"mfsim: {where}: the network failed at {len(merged.failed)} points: "
              f"{listing(merged.failed)}", file=sys.stderr)
    if merged.missing:
        print(f"mfsim: {where}: {len(merged.missing)} of {n} points missing (NaN, status "
              f"missing, in the results): {listing(merged.missing)}; rerun their shards, "
              "then merge again", file=sys.stderr)
        return EXIT_INCOMPLETE
    if not args.quiet:
        twins = twin_report(merged.result)
        print(f"{where}: merged {n} points into results.nc, summary.csv and figures"
              + (f"; {twins}" if twins else ""))
    return EXIT_FAILED if merged.failed else EXIT_OK


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
    for twin, labels in st.twins_failed.items():  # results about the twin, not failures
        print(f"  {twin} failed at {len(labels)} of the points written: {listing(labels)}")
    return EXIT_OK


def cmd_submit(args) -> int:
    import contextlib

    import jax

    from .._runner.plan import make_plan, needs_float64
    from .._runner.submit import Cluster, submit
    from .._scenario.load import load_scenario
    from .._scenario.sweep import apply_overrides

    scenario = apply_overrides(load_scenario(args.scenario), set_values(args), args.scenario)
    with jax.enable_x64(True) if needs_float64(scenario) else contextlib.nullcontext():
        plan = make_plan(scenario, args.scenario, out=args.out, force=args.force,
                         memory_check=False, overrides=set_values(args))
    default = (os.cpu_count() or 1) if args.executor == "local" else 100
    cluster = Cluster(executor=args.executor, shards=args.shards or default,
                      time_min=args.time, partition=args.partition, account=args.account,
                      qos=args.qos, gpus_per_task=args.gpus_per_task,
                      cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb,
                      array_parallelism=args.array_parallelism, folder=args.folder,
                      setup=tuple(args.setup), plugins=tuple(plugin_paths(args.plugin)),
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
        twins = twin_report(merged.result)
        print(f"{clean(args.scenario)}: {len(sub.task_ids)} local shards done and merged; "
              f"results in {where}/" + (f"; {twins}" if twins else ""))
    return EXIT_OK
