"""Execute a plan: build the jobs, prepare the run directory, solve them
(resuming what an interrupted run completed), report progress."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass

import xarray as xr

from .._analysis import reference_distance
from .._checkpoint import CheckpointFile
from .._errors import Interrupted
from .._interrupt import check as check_interrupt
from .._scenario.build import build
from .._scenario.sweep import SweepPoint
from .._solve.batching import Job, run_jobs
from .._solve.core import CompileTimer, SolveSettings, Trajectory
from .._solve.simulate import simulate
from .._system import AbstractParticleSystem
from .plan import RunPlan
from .store import (
    point_dataset,
    prepare_dir,
    read_again,
    saved_results,
    write_point,
    write_reference,
)


@dataclass(frozen=True)
class Outcome:
    """What the solves produced: each point's results (``ordered``; for a
    sweep as written to disk), the network's trajectory per point solved now
    (``None`` for a resumed point), the flat indices resumed, and timings."""

    ordered: list[xr.Dataset]
    trajectories: tuple
    resumed: frozenset
    solve_time: float
    compile_time: float


def _twin_settings(twin, settings: SolveSettings) -> SolveSettings:
    # twins without particles (kernel flows) run on one device under shard=particles
    if settings.shard == "particles" and not isinstance(twin, AbstractParticleSystem):
        return dataclasses.replace(settings, shard="none")
    return settings


def _jobs(points: list[SweepPoint], *, twins: bool = True) -> list[Job]:
    jobs = []
    for point in points:
        b = build(point.scenario)
        jobs.append(Job((point.flat_index, ""), b.system, b.state0, b.monitors, b.settings))
        if twins:
            jobs.extend(Job((point.flat_index, prefix), twin, state0, b.twin_monitors,
                            _twin_settings(twin, b.settings))
                        for prefix, (twin, state0) in b.twins.items())
    return jobs


def _run_references(plan: RunPlan) -> list[xr.Dataset]:
    """Solve the reference runs (networks only) not already in ``reference/``;
    return every reference's results as read back."""
    refs = plan.refs
    path = [plan.reference_path(r) for r in refs]
    saved = saved_results(path, refs)

    def on_done(job: Job, traj: Trajectory) -> None:
        write_reference(plan, refs[job.key[0]], traj)

    run_jobs(_jobs(refs, twins=False), on_done, batch=plan.scenario.sweep.batch,
             skip=frozenset((flat, "") for flat in saved))
    return [read_again(saved, path, r) for r in refs]


def _progress_bar(total: int, enabled: bool, initial: int = 0):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="point", desc="sweep")


def execute(plan: RunPlan, *, progress: bool, force: bool) -> Outcome:
    """Solve every job of ``plan``; raises :class:`mfsim.Interrupted` (saying
    what was kept) on Ctrl-C or SIGTERM."""
    points, refs, sweep, out_dir = plan.points, plan.refs, plan.sweep, plan.out_dir
    jobs = _jobs(points)
    prepare_dir(out_dir, plan.resolved_text, sweep=sweep, refs=bool(refs), force=force)
    point_path = {p.flat_index: plan.point_path(p) for p in points}
    # a sweep's points written by an interrupted run of this scenario
    saved = saved_results(point_path, points) if sweep else {}
    resumed = frozenset(saved)

    pending = Counter(job.key[0] for job in jobs)  # solves left per point
    done: dict[int, dict[str, Trajectory]] = {p.flat_index: {} for p in points}
    point_ds: dict[int, xr.Dataset] = {}
    ref_ds: list[xr.Dataset] = []
    bar = _progress_bar(len(points), progress and sweep, initial=len(resumed))

    def on_done(job: Job, traj: Trajectory) -> None:
        flat, prefix = job.key
        done[flat][prefix] = traj
        pending[flat] -= 1
        if pending[flat]:
            return
        trajs = done[flat]
        point = points[flat]
        ds = point_dataset(point.scenario, trajs[""],
                           {k: v for k, v in trajs.items() if k}, point if sweep else None)
        if refs:
            ref = refs[plan.ref_of[flat]]
            ds = reference_distance(ds, ref_ds[plan.ref_of[flat]], label=ref.label())
        point_ds[flat] = ds
        if sweep:
            write_point(plan, point, ds)
        if bar is not None:
            bar.update(1)
        check_interrupt()  # a safe point: this point is saved

    CompileTimer.listen()
    compile_before, start = CompileTimer.total, time.perf_counter()
    every = plan.scenario.output.checkpoint_every
    try:
        # the reference runs first: each point's distance to its reference is then
        # part of the point's results as soon as the point finishes
        ref_ds.extend(_run_references(plan) if refs else [])
        if sweep:
            run_jobs(jobs, on_done, batch=plan.scenario.sweep.batch,
                     skip=frozenset(job.key for job in jobs if job.key[0] in resumed))
        else:
            for job in jobs:  # one run: the network shows a progress bar of its solve
                name = job.key[1].rstrip("_") or "network"
                store = CheckpointFile(out_dir / f"checkpoint-{name}.npz") if every else None
                on_done(job, simulate(
                    job.system, job.state0, job.settings, monitors=job.monitors,
                    progress=progress and job.key[1] == "", checkpoint_every=every,
                    checkpoint=store, checkpoint_tag=plan.resolved_text))
    except KeyboardInterrupt:
        if sweep:
            what = f"{len(resumed) + len(point_ds)} of {len(points)} points saved"
        else:
            what = "solved segments checkpointed" if every else "nothing saved"
        raise Interrupted(f"{plan.source or out_dir}: interrupted; {what} in {out_dir}; run "
                          "the same command again to resume") from None
    finally:
        if bar is not None:
            bar.close()
    if sweep:  # every point as written: resumed and uninterrupted runs combine the same bits
        ordered = [read_again(saved, point_path, p) for p in points]
    else:
        ordered = [point_ds[p.flat_index] for p in points]
    return Outcome(ordered, tuple(done[p.flat_index].get("") for p in points), resumed,
                   time.perf_counter() - start, CompileTimer.total - compile_before)
