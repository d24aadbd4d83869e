"""Execute a plan: build the jobs, prepare the run directory, solve them
(resuming what an interrupted run completed), report progress."""

from __future__ import annotations

import dataclasses
import time

import equinox as eqx
import jax
import numpy as np
import xarray as xr

from .._errors import Interrupted, ScenarioError
from .._scenario.build import build, label_problem, non_finite
from .._scenario.sweep import SweepPoint
from .._solve.batching import Job, run_jobs
from .._solve.core import CompileClock, Trajectory
from .._solve.polish import polish
from .._solve.settings import SolveSettings
from .._solve.sharding import OneDevice, ShardParticles
from .._solve.simulate import simulate
from .._store.analysis import reference_distance
from .._store.checkpoints import CheckpointFile
from .._store.points import (
    Outcome,
    merge_twins,
    point_text,
    prepare_dir,
    read_again,
    read_saved,
    reference_dataset,
    saved_results,
    solve_dataset,
    with_critical_point,
    write_part,
    write_point,
    write_reference,
)
from .._system import AbstractParticleSystem
from .interrupt import check as check_interrupt
from .manifest import Manifest
from .plan import RunPlan, solve_label, solve_name
from .progress import Mode, Reporter


def _finite(state) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(x)))) for x in jax.tree.leaves(state)
               if eqx.is_inexact_array(x))


def _twin_settings(twin, settings: SolveSettings) -> SolveSettings:
    # twins without particles (kernel flows) run on one device under shard=particles
    if isinstance(settings.shard, ShardParticles) and not isinstance(twin, AbstractParticleSystem):
        return dataclasses.replace(settings, shard=OneDevice())
    return settings


def build_jobs(points: list[SweepPoint], where: str, *, twins: bool = True) -> list[Job]:
    """Each point's network solve and its twins' (``key``: flat index and
    variable prefix), refusing a point whose data or initial state is not
    finite (``where``: the scenario file, for the message)."""
    jobs = []
    for point in points:
        b = build(point.scenario)
        problem = non_finite(b, point.scenario.dtype) or label_problem(b)
        if problem is not None:
            label = f"point {point.label()}: " if len(points) > 1 else ""
            raise ScenarioError(f"{where}: {label}{problem}")
        jobs.append(Job((point.flat_index, ""), b.system, b.state0, b.monitors, b.settings,
                        b.noise_key))
        if twins:  # twins see the network's batches
            jobs.extend(Job((point.flat_index, prefix), t.system, t.state0, t.monitors,
                            _twin_settings(t.system, t.settings), b.noise_key)
                        for prefix, t in b.twins.items())
    return jobs


def _run_references(plan: RunPlan, reporter: Reporter, needed: frozenset[int] | None = None,
                    writes: frozenset[int] | None = None) -> list[xr.Dataset | None]:
    """Solve the reference runs (networks only) not already in ``reference/``;
    return every reference's results as read back. A shard solves only the
    references its points ``needed`` and writes only those it ``writes``
    (one writer per file); the others it keeps in memory (``None`` for the
    references it does not need)."""
    refs = plan.refs
    needed = frozenset(range(len(refs))) if needed is None else needed
    writes = needed if writes is None else writes
    path = [plan.reference_path(r) for r in refs]
    saved = saved_results(path, [r for r in refs if r.flat_index in needed])
    for _ in saved:
        reporter.solve_done()
    reporter.set_phase(f"solving the reference run{'s' * (len(refs) > 1)}")
    kept: dict[int, xr.Dataset] = {}

    def on_done(job: Job, traj: Trajectory) -> None:
        ref = refs[job.key[0]]
        if ref.flat_index in writes:
            write_reference(plan, ref, traj)
        else:
            kept[ref.flat_index] = reference_dataset(ref, traj)
        reporter.solve_done()

    run_jobs(build_jobs(refs, plan.where, twins=False), on_done, batch=plan.scenario.sweep.batch,
             skip=frozenset((flat, "") for flat in set(saved) | (set(range(len(refs))) - needed)))
    return [kept[r.flat_index] if r.flat_index in kept else
            read_again(saved, path, r) if r.flat_index in needed else None for r in refs]


def execute(plan: RunPlan, jobs: list[Job], manifest: Manifest, *, progress: Mode,
            force: bool, only: frozenset[int] | None = None,
            ref_writes: frozenset[int] | None = None, tidy: bool = True,
            ready=None) -> Outcome:
    """Solve every job of ``plan``; raises :class:`mfsim.Interrupted` (saying
    what was kept) on Ctrl-C or SIGTERM.

    A shard solves the points ``only`` (flat indices; ``None``: all), writes
    the reference runs ``ref_writes`` (``None``: every one its points need)
    and, without ``tidy`` (other shards are writing here), leaves the
    directory's other files alone; its :class:`Outcome` holds its points.
    ``ready()`` is called once the directory is prepared (a shard then
    shares it with the others).

    Each solve of a point with twins is persisted as soon as it finishes
    (``parts/``), so an interrupted run keeps every finished network and twin
    solve; the point is assembled from its parts as read back, in an
    interrupted and an uninterrupted run alike."""
    points, refs, sweep, out_dir = plan.points, plan.refs, plan.sweep, plan.out_dir
    mine = [p for p in points if only is None or p.flat_index in only]
    try:  # prepare the directory, read back what an interrupted run saved
        prepare_dir(plan, manifest, force=force, tidy=tidy)
        if ready is not None:
            ready()
        point_path = {p.flat_index: plan.point_path(p) for p in points}
        # a sweep's points written by an interrupted run of this scenario
        saved = saved_results(point_path, mine) if sweep else {}
        resumed = frozenset(saved)

        solves: dict[int, list[str]] = {p.flat_index: [] for p in points}  # prefixes, in job order
        for job in jobs:
            solves[job.key[0]].append(job.key[1])
        split = {p.flat_index for p in mine if len(solves[p.flat_index]) > 1}
        parts: dict[int, dict[str, xr.Dataset]] = {p.flat_index: {} for p in points}
        for flat in sorted(split - resumed):  # the finished solves of unfinished points
            for prefix in solves[flat]:
                ds = read_saved(plan.part_path(points[flat], prefix), point_text(points[flat]))
                if ds is not None:
                    parts[flat][prefix] = ds
    except KeyboardInterrupt:
        raise Interrupted(f"{plan.where}: interrupted while reading what was saved in "
                          f"{out_dir}; it is kept; run the same command again to resume") from None
    reused = frozenset((flat, prefix) for flat, found in parts.items() for prefix in found)
    trajectories: dict[int, Trajectory] = {}
    point_ds: dict[int, xr.Dataset] = {}
    ref_ds: list[xr.Dataset] = []
    own_refs = frozenset(range(len(refs))) if only is None else frozenset(
        plan.ref_of[flat] for flat in only) if refs else frozenset()
    own_jobs = [job for job in jobs if only is None or job.key[0] in only]
    reporter = Reporter(plan.where, progress, points=len(mine),
                        solves=len(own_jobs) + len(own_refs),
                        points_done=len(resumed), sweep=sweep,
                        solves_done=sum(len(solves[f]) for f in resumed) + len(reused),
                        spin=not plan.scenario.output.checkpoint_every)

    def finish(flat: int) -> None:
        """Every solve of the point is in: assemble and persist it."""
        point, found = points[flat], parts[flat]
        ds = merge_twins(found[""], {prefix: found[prefix] for prefix in solves[flat][1:]})
        if refs:
            ref = refs[plan.ref_of[flat]]
            ds = reference_distance(ds, ref_ds[plan.ref_of[flat]], label=ref.label())
        point_ds[flat] = ds
        if sweep:
            write_point(plan, point, ds)
            for prefix in found:  # the point holds them now
                manifest.remove(plan.part_path(point, prefix))
        reporter.point_done()

    def on_done(job: Job, traj: Trajectory) -> None:
        flat, prefix = job.key
        point = points[flat]
        if not prefix:
            trajectories[flat] = traj
        ds = solve_dataset(traj, prefix, point, sweep=sweep)
        if not prefix and point.scenario.solver.polish and _finite(traj.final_state):
            ds = with_critical_point(ds, polish(job.system, traj.final_state))
        parts[flat][prefix] = write_part(plan, point, prefix, ds) if flat in split else ds
        reporter.solve_done()
        if len(parts[flat]) == len(solves[flat]):
            finish(flat)
        check_interrupt()  # a safe point: this solve is saved

    def kept() -> str:
        if not sweep:  # one point: its finished solves, by name, and the checkpoint
            if point_ds:
                return "every solve saved"
            what = [f"{solve_label(prefix)} solve saved" for prefix in parts[0]] if split else []
            what += ["checkpoints kept"] if every else []
            return ", ".join(what) or "nothing saved"
        what = f"{len(resumed) + len(point_ds)} of {len(mine)} points saved"
        partial = sum(len(parts[flat]) for flat in split if flat not in point_ds
                      and flat not in resumed)
        if partial:
            what += f" (and {partial} finished solve{'s' * (partial > 1)} of unfinished points)"
        return what

    compiling, start = CompileClock(), time.perf_counter()
    every = plan.scenario.output.checkpoint_every
    skip = frozenset(job.key for job in jobs if job.key[0] in resumed
                     or (only is not None and job.key[0] not in only)) | reused
    reporter.begin()
    try:
        # the reference runs first: each point's distance to its reference is then
        # part of the point's results as soon as the point finishes
        ref_ds.extend(_run_references(plan, reporter, own_refs, ref_writes) if refs else [])
        for flat in sorted(split - resumed):  # interrupted after its last solve
            if len(parts[flat]) == len(solves[flat]):
                finish(flat)
        if sweep:
            reporter.set_phase("solving (networks first, then twins)" if split else "solving")
            # a shard batches its own points (a vmapped solve's results do not
            # depend on the batch's size: tests/test_cluster.py)
            run_jobs(own_jobs, on_done, batch=plan.scenario.sweep.batch, skip=skip)
        else:
            for job in jobs:  # one run: progress in solver time (a bar for the network)
                if job.key in skip:
                    continue
                reporter.set_phase(f"solving the {solve_label(job.key[1])}")
                name = solve_name(job.key[1])
                store = CheckpointFile(out_dir / f"checkpoint-{name}.npz") if every else None
                on_done(job, simulate(
                    job.system, job.state0, job.settings, monitors=job.monitors,
                    # a bar in solver time where checkpoints make segments; else the
                    # reporter's status (never a callback inside the compiled solve)
                    progress=(progress == "bar" and job.key[1] == "" and bool(every)) or (
                        progress != "none" and reporter.reached), checkpoint_every=every,
                    checkpoint=store, checkpoint_tag=plan.resolved_text,
                    noise_key=job.noise_key))
    except KeyboardInterrupt:
        reporter.close()
        raise Interrupted(f"{plan.source or out_dir}: interrupted; {kept()} in {out_dir}; run "
                          "the same command again to resume") from None
    except BaseException:
        reporter.close()
        raise
    if sweep:  # every point as written: resumed and uninterrupted runs combine the same bits
        ordered = [read_again(saved, point_path, p) for p in mine]
    else:
        ordered = [point_ds[p.flat_index] for p in mine]
    return Outcome(ordered, tuple(trajectories.get(p.flat_index) for p in mine), resumed,
                   reused, time.perf_counter() - start, compiling.seconds,
                   reporter)
