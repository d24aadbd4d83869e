"""Run a scenario: plan, execute, store (:mod:`mfsim._runner`)."""

from __future__ import annotations

import contextlib
import os

import jax

from .._errors import Interrupted, MfsimError
from .._scenario.load import load_scenario
from .._scenario.schema import Scenario
from .._scenario.sweep import apply_overrides
from .._store.finished import RunResult, point_statuses
from .._store.io import recording
from .._store.lazy_xarray import xr
from .._store.points import point_text, read_complete, read_saved, store, write_error
from .execute import build_jobs, execute
from .lock import run_lock
from .manifest import Manifest
from .plan import RunPlan, check_output_dir, make_plan, needs_float64, output_key
from .preload import FIGURE_MODULES, STORE_MODULES, preload_during_solve
from .progress import Mode
from .shards import Shard, ShardResult, partition, reference_writers, require_sweep
from .task_errors import clear_failure, note_failure
from .timings import Timings
from .workers import run_workers


def _mode(progress) -> Mode:
    """``progress``: True (a bar), False (silent), or a mode of
    :class:`mfsim._runner.progress.Reporter`."""
    if progress is True:
        return "bar"
    if progress is False or progress is None:
        return "none"
    return progress


def run_scenario(
    scenario: Scenario | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    progress: bool | Mode = False,
    force: bool = False,
    overrides: dict | None = None,
    figures: bool = True,
    memory_check: bool = True,
    shard: Shard | None = None,
    workers: int | None = None,
    plugins: tuple[str, ...] = (),
    timings: Timings | None = None,
    keep: bool = True,
) -> RunResult | ShardResult:
    """Run a scenario (object or file path) and write its run directory.

    ``overrides`` replace dotted keys (``{"system.width": 256}``); a list
    value makes that key a sweep axis.

    The directory gets ``scenario.toml`` (first), ``results.nc``,
    ``provenance.json`` and figures; a sweep also gets ``points/`` (each
    point's results, written as soon as the point finishes) and
    ``summary.csv`` (final values, minima and the time of each minimum, per
    point). With ``sweep.reference`` the reference runs are solved first
    (``reference/``) and every point records ``ref_distance``. A failed
    solve still writes everything, with its status and failure time in the
    results.

    Run again once complete, the same call reads the results back and
    solves, builds and draws nothing (``RunResult.complete``; ``force``
    solves again, ``mfsim plot`` redraws). Interrupted (SIGINT, SIGTERM:
    :class:`mfsim.Interrupted`; or killed), the same call resumes: the
    points already written are read back, not solved again, and a single
    run continues from its last checkpoint (``output.checkpoint_every``);
    the results are bitwise those of an
    uninterrupted run. ``force`` discards what the directory holds (another
    scenario's results are never overwritten without it) and solves
    everything again.

    Before anything is built or written, ``memory_check`` compares an
    estimate of the memory the run needs (:mod:`mfsim._scenario.memory`)
    with the device's and refuses a run that cannot fit.

    ``shard`` (a sweep): solve only that shard's points
    (:mod:`mfsim._runner.shards`) into the run directory, beside other
    shards running at the same time, and return a :class:`ShardResult`
    without combining; :func:`mfsim.merge` combines. ``workers`` (a sweep):
    solve it in that many worker processes, then merge
    (:mod:`mfsim._runner.workers`): the same results, bit for bit; each
    worker imports ``plugins`` (the command's ``--plugin`` modules) first.

    ``timings`` (:class:`mfsim._runner.timings.Timings`; default a clock
    started now) collects where the run's time went, by phase; the
    provenance records it. Without ``keep`` the run writes no point files,
    no results, summary or provenance (its directory is discarded afterwards:
    :func:`run` without ``out``); the dataset returned is the same.
    """
    source, timings = None, Timings() if timings is None else timings
    try:
        with timings.phase("plan"):
            if not isinstance(scenario, Scenario):
                source = str(scenario)
                scenario = load_scenario(scenario)
            scenario = apply_overrides(scenario, overrides or {}, source or "<scenario>")

        # a float64 run needs JAX's 64-bit mode: switched on for this call only
        def x64():
            return jax.enable_x64(True) if needs_float64(scenario) else contextlib.nullcontext()

        with x64():
            with timings.phase("plan"):
                plan = make_plan(scenario, source, out=out, force=force,
                                 memory_check=memory_check, overrides=overrides)
                # a rerun of a finished run reads it back: nothing built, solved or drawn
                done = read_complete(plan) if not force and shard is None else None
            if done is not None:
                return done
            # before anything is written (worker processes build their own)
            with timings.phase("build"):
                jobs = build_jobs(plan.points, plan.where,
                                  crossover=plan.scenario.crossover) if not (
                    workers and workers > 1) else []
            if shard is not None:
                require_sweep(plan, "--shard")
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(f"{source or '<scenario>'}: interrupted before anything was "
                          "written") from None
    with x64():
        if shard is not None:
            return _run_shard(plan, jobs, shard, progress=_mode(progress), force=force,
                              out=out)
        if workers is not None and workers > 1:
            try:
                return run_workers(plan, workers, progress=_mode(progress), force=force,
                                   figures=figures, plugins=tuple(plugins)).result
            except OSError as e:
                raise write_error(e, plan.out_dir) from None
        return _run_here(plan, jobs, progress=_mode(progress), force=force, out=out,
                         figures=figures, timings=timings, keep=keep)


def _run_here(plan: RunPlan, jobs, *, progress: Mode, force: bool, out, figures: bool,
              timings: Timings, keep: bool) -> RunResult:
    """The run in this process (:func:`run_scenario` without shard or workers)."""
    try:
        with run_lock(plan.out_dir):
            manifest = Manifest(plan.out_dir)
            # again, under the lock: a run that finished meanwhile may have
            # made this directory another scenario's
            try:
                check_output_dir(plan.out_dir, plan.resolved_text, force=force)
            except MfsimError as e:
                raise MfsimError(f"{plan.where}: {output_key(plan.scenario, out)}: "
                                 f"{e}") from None
            # xarray's and matplotlib's imports overlap a solve (mfsim._runner.preload)
            preload_during_solve(STORE_MODULES + (FIGURE_MODULES if figures else ()))
            with recording(manifest.record):  # every file written is named first
                outcome = execute(plan, jobs, manifest, progress=progress, force=force,
                                  persist=keep)
                timings.solves(outcome.solve_time, outcome.compile_time, outcome.store_time)
                try:
                    return store(plan, manifest, outcome, figures=figures, timings=timings,
                                 persist=keep)
                except KeyboardInterrupt:
                    raise Interrupted(
                        f"{plan.where}: interrupted while writing the results; every "
                        f"solve is saved in {plan.out_dir}; run the same command again "
                        "to finish") from None
                finally:
                    outcome.reporter.close()
    except OSError as e:  # a full disk, a read-only directory: one line, files kept
        raise write_error(e, plan.out_dir) from None


def _run_shard(plan: RunPlan, jobs, shard: Shard, *, progress: Mode, force: bool,
               out) -> ShardResult:
    """One shard of a sweep (:func:`run_scenario` with ``shard``)."""
    try:
        result = _solve_shard(plan, jobs, shard, progress=progress, force=force, out=out)
    except Exception as e:  # noqa: BLE001 (recorded for mfsim status, then raised as it was)
        note_failure(plan.out_dir, shard, e)
        raise
    clear_failure(plan.out_dir, shard)
    return result


def shard_indices_missing(plan: RunPlan, count: int) -> list[int]:
    """The shards (of ``count``) holding a point whose file is not written."""
    missing = {p.flat_index for p in plan.points
               if read_saved(plan.point_path(p), point_text(p)) is None}
    if not missing:
        return []
    with jax.enable_x64(True) if needs_float64(plan.scenario) else contextlib.nullcontext():
        jobs = build_jobs(plan.points, plan.where, crossover=plan.scenario.crossover)
    return [i for i, flats in enumerate(partition(jobs, count)) if missing & set(flats)]


def _solve_shard(plan: RunPlan, jobs, shard: Shard, *, progress: Mode, force: bool,
                 out) -> ShardResult:
    shards = partition(jobs, shard.count)
    only = frozenset(shards[shard.index])
    writers = reference_writers(plan.ref_of, shards)
    ref_writes = frozenset(r for r, w in enumerate(writers) if w == shard.index)
    try:
        with run_lock(plan.out_dir, shared=True) as hold:
            if hold.exclusive:  # alone here: the directory may be (re)made this scenario's
                try:
                    check_output_dir(plan.out_dir, plan.resolved_text, force=force)
                except MfsimError as e:
                    raise MfsimError(f"{plan.where}: {output_key(plan.scenario, out)}: "
                                     f"{e}") from None
            manifest = Manifest(plan.out_dir, writer=shard.name)
            with recording(manifest.record):
                outcome = execute(plan, jobs, manifest, progress=progress, force=force,
                                  only=only, ref_writes=ref_writes, tidy=hold.exclusive,
                                  ready=hold.share)
                outcome.reporter.close()
    except OSError as e:
        raise write_error(e, plan.out_dir) from None
    mine = [p for p in plan.points if p.flat_index in only]
    statuses = tuple(point_statuses(ds) for ds in outcome.ordered)
    return ShardResult(shard, plan.out_dir, tuple(p.label() for p in mine), statuses,
                       tuple(float(ds.attrs["t_final"]) for ds in outcome.ordered),
                       tuple(p.label() for p in mine if p.flat_index in outcome.resumed))


def run(scenario: Scenario | dict | str | os.PathLike, *, out: str | os.PathLike | None = None,
        progress: bool = False, force: bool = False, **overrides) -> xr.Dataset:
    """Run a scenario and return its results as one xarray Dataset.

    ``scenario``: a file path, a :class:`Scenario`, or a dict shaped like the
    TOML file. Keyword arguments override keys, ``__`` standing for the dot:
    ``mfsim.run("scenarios/quickstart.toml", system__width=[64, 256], seed=3)``
    (a list makes the key a sweep axis, exactly as ``--set`` does).

    With ``out`` the run directory (results, resolved scenario, provenance,
    figures) is written there, as by ``mfsim run --out``; without it nothing
    is kept on disk.
    """
    if isinstance(scenario, dict):
        from .._scenario.load import validate_scenario

        scenario = validate_scenario(scenario)
    dotted = {key.replace("__", "."): value for key, value in overrides.items()}
    if out is not None:
        return run_scenario(scenario, out=out, progress=progress, force=force,
                            overrides=dotted).dataset
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mfsim-run-") as tmp:
        return run_scenario(scenario, out=tmp, progress=progress, overrides=dotted,
                            figures=False, keep=False).dataset
