"""Execute a plan: build the jobs, prepare the run directory, solve them
(resuming what an interrupted run completed), report progress."""

from __future__ import annotations

import dataclasses
import time

from .._errors import Interrupted, ScenarioError
from .._scenario.build import (
    build,
    crossover_problem,
    label_problem,
    non_finite,
    stop_problem,
)
from .._scenario.crossover import CrossoverConfig
from .._scenario.sweep import SweepPoint
from .._solve.batching import Job, run_jobs
from .._solve.core import CompileClock, Trajectory
from .._solve.settings import SolveSettings
from .._solve.sharding import OneDevice, ShardParticles
from .._store.checkpoints import CheckpointFile
from .._store.lazy_xarray import xr
from .._store.points import (
    Outcome,
    prepare_dir,
    read_again,
    reference_dataset,
    saved_results,
    write_reference,
)
from .._system import AbstractParticleSystem
from .assemble import PointAssembler, read_before, solves_of
from .manifest import Manifest
from .plan import RunPlan, solve_label, solve_name
from .progress import Mode, Reporter


def _twin_settings(twin, settings: SolveSettings) -> SolveSettings:
    # twins without particles (kernel flows) run on one device under shard=particles
    if isinstance(settings.shard, ShardParticles) and not isinstance(twin, AbstractParticleSystem):
        return dataclasses.replace(settings, shard=OneDevice())
    return settings


def build_jobs(points: list[SweepPoint], where: str, *, twins: bool = True,
               crossover: CrossoverConfig | None = None) -> list[Job]:
    """Each point's network solve and its twins' (``key``: flat index and
    variable prefix), refusing a point whose data or initial state is not
    finite, or that does not record what the sweep's ``crossover`` reads
    (``where``: the scenario file, for the message; the sweep's points share
    their monitors, so that is checked on the first point only)."""
    jobs = []
    for i, point in enumerate(points):
        b = build(point.scenario)
        problem = (non_finite(b, point.scenario.dtype) or label_problem(b) or stop_problem(b)
                   or (crossover_problem(b, crossover) if crossover is not None and i == 0
                       else None))
        if problem is not None:
            label = f"point {point.label()}: " if len(points) > 1 else ""
            raise ScenarioError(f"{where}: {label}{problem}")
        jobs.append(Job((point.flat_index, ""), b.system, b.state0, b.monitors, b.settings,
                        b.noise_key, stop=b.stop))
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
            ready=None, persist: bool = True) -> Outcome:
    """Solve every job of ``plan``; raises :class:`mfsim.Interrupted` (saying
    what was kept) on Ctrl-C or SIGTERM.

    A shard solves the points ``only`` (flat indices; ``None``: all), writes
    the reference runs ``ref_writes`` (``None``: every one its points need)
    and, without ``tidy`` (other shards are writing here), leaves the
    directory's other files alone; its :class:`Outcome` holds its points.
    ``ready()`` is called once the directory is prepared (a shard then
    shares it with the others). Without ``persist`` no point or part file
    is written (a run whose directory is discarded: nothing resumes there).

    One path for a sweep and a single run (a sweep of one point): the
    references first, then every job through :func:`run_jobs` (a single
    run's solves one at a time, checkpointed in segments, with their
    progress), each solve persisted as it finishes and each point assembled
    once its solves are in (:class:`.assemble.PointAssembler`), in an
    interrupted and an uninterrupted run alike."""
    mine = [p for p in plan.points if only is None or p.flat_index in only]
    try:  # prepare the directory, read back what an interrupted run saved
        prepare_dir(plan, manifest, force=force, tidy=tidy)
        if ready is not None:
            ready()
        before = read_before(plan, jobs, mine)
    except KeyboardInterrupt:
        raise Interrupted(f"{plan.where}: interrupted while reading what was saved in "
                          f"{plan.out_dir}; it is kept; run the same command again to "
                          "resume") from None
    solves = solves_of(plan, jobs)
    own_refs = frozenset(range(len(plan.refs))) if only is None else frozenset(
        plan.ref_of[flat] for flat in only) if plan.refs else frozenset()
    own_jobs = [job for job in jobs if only is None or job.key[0] in only]
    every = plan.scenario.output.checkpoint_every
    reporter = Reporter(plan.where, progress, points=len(mine),
                        solves=len(own_jobs) + len(own_refs), points_done=len(before.resumed),
                        sweep=plan.sweep, solves_done=sum(len(solves[f]) for f in before.resumed)
                        + len(before.reused), spin=not every)
    points = PointAssembler(plan, manifest, reporter, solves, before.parts, frozenset(
        p.flat_index for p in mine if persist and len(solves[p.flat_index]) > 1),
                            persist=persist)
    skip = frozenset(job.key for job in jobs if job.key[0] in before.resumed
                     or (only is not None and job.key[0] not in only)) | before.reused
    compiling, start = CompileClock(), time.perf_counter()
    reporter.begin()
    try:
        # the reference runs first: each point's distance to its reference is then
        # part of the point's results as soon as the point finishes
        points.references.extend(_run_references(plan, reporter, own_refs, ref_writes)
                                 if plan.refs else [])
        for flat in sorted(points.split - before.resumed):  # interrupted after its last solve
            points.finish_if_complete(flat)
        if plan.sweep:
            reporter.set_phase("solving (networks first, then twins)" if points.split
                               else "solving")
        # a shard batches its own points (a vmapped solve's results do not
        # depend on the batch's size: tests/test_cluster.py)
        run_jobs(own_jobs if plan.sweep else [_alone(plan, job, progress, reporter)
                                              for job in own_jobs],
                 points.solved, batch=plan.scenario.sweep.batch, skip=skip,
                 on_start=None if plan.sweep else lambda js: reporter.set_phase(
                     f"solving the {solve_label(js[0].key[1])}"))
    except KeyboardInterrupt:
        reporter.close()
        raise Interrupted(f"{plan.source or plan.out_dir}: interrupted; "
                          f"{points.kept(before, mine, bool(every))} in {plan.out_dir}; run "
                          "the same command again to resume") from None
    except BaseException:
        reporter.close()
        raise
    point_path = {p.flat_index: plan.point_path(p) for p in plan.points}
    # a sweep's points as written: resumed and uninterrupted runs combine the same bits
    # a point solved now is combined as it is in memory (equal to its file
    # read back: tests/test_resume.py), one resumed as read from its file
    ordered = [points.points[p.flat_index] if p.flat_index in points.points
               else read_again(before.saved, point_path, p) for p in mine]
    return Outcome(ordered, tuple(points.trajectories.get(p.flat_index) for p in mine),
                   before.resumed, before.reused, time.perf_counter() - start,
                   compiling.seconds, reporter, points.store_seconds)


def _alone(plan: RunPlan, job: Job, progress: Mode, reporter: Reporter) -> Job:
    """A single run's solve: checkpointed in segments (``output.checkpoint_every``
    save points) to ``checkpoint-<solve>.npz``; progress as a bar in solver
    time where checkpoints make segments, else the reporter's status (never
    a callback inside the compiled solve)."""
    every = plan.scenario.output.checkpoint_every
    shown = (progress == "bar" and job.key[1] == "" and bool(every)) or (
        progress != "none" and reporter.reached)
    store = CheckpointFile(plan.out_dir / f"checkpoint-{solve_name(job.key[1])}.npz") if (
        every) else None
    return dataclasses.replace(job, settings=dataclasses.replace(job.settings, progress=shown),
                               checkpoint=store, checkpoint_every=every,
                               checkpoint_tag=plan.resolved_text)
