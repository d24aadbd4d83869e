"""Each point's solves in, each point out: the network's and its twins'
trajectories become the point's results as they finish, persisted at once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import equinox as eqx
import jax
import numpy as np

from .._solve.batching import Job
from .._solve.core import Trajectory
from .._solve.polish import polish
from .._store.analysis import reference_distance
from .._store.lazy_xarray import xr
from .._store.points import (
    merge_twins,
    point_text,
    read_saved,
    saved_results,
    solve_dataset,
    with_critical_point,
    write_part,
    write_point,
)
from .interrupt import check as check_interrupt
from .manifest import Manifest
from .plan import RunPlan, solve_label
from .progress import Reporter


def _finite(state) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(x)))) for x in jax.tree.leaves(state)
               if eqx.is_inexact_array(x))


@dataclass
class SavedBefore:
    """What an interrupted run of this scenario left: the points written
    (``saved``: flat index -> path, for a sweep), and the finished solves of
    unfinished points (``parts``: flat index -> prefix -> results)."""

    saved: dict
    parts: dict[int, dict[str, xr.Dataset]]
    reused: frozenset[tuple[int, str]] = field(init=False)  # (flat index, prefix) of those parts

    def __post_init__(self):
        self.reused = frozenset((flat, prefix) for flat, found in self.parts.items()
                                for prefix in found)

    @property
    def resumed(self) -> frozenset[int]:
        return frozenset(self.saved)


def read_before(plan: RunPlan, jobs: list[Job], mine) -> SavedBefore:
    """The points of ``mine`` an interrupted run wrote, and the parts of
    its unfinished points that have several solves."""
    point_path = {p.flat_index: plan.point_path(p) for p in plan.points}
    saved = saved_results(point_path, mine) if plan.sweep else {}
    solves = solves_of(plan, jobs)
    parts: dict[int, dict[str, xr.Dataset]] = {p.flat_index: {} for p in plan.points}
    for point in mine:
        flat = point.flat_index
        if len(solves[flat]) > 1 and flat not in saved:
            for prefix in solves[flat]:
                ds = read_saved(plan.part_path(point, prefix), point_text(point))
                if ds is not None:
                    parts[flat][prefix] = ds
    return SavedBefore(saved, parts)  # (the assembler adds the solves to come to parts)


def solves_of(plan: RunPlan, jobs: list[Job]) -> dict[int, list[str]]:
    """Each point's solves (variable prefixes, the network's ``""`` first)."""
    solves: dict[int, list[str]] = {p.flat_index: [] for p in plan.points}
    for job in jobs:
        solves[job.key[0]].append(job.key[1])
    return solves


@dataclass
class PointAssembler:
    """Collects the solves of each point as they finish: each is persisted
    at once (``parts/`` where a point has several solves), and a point whose
    solves are all in is assembled (twins merged, the distance to its
    reference run added) and, in a sweep, written as its point file.
    ``references``: each reference run's results, in order."""

    plan: RunPlan
    manifest: Manifest
    reporter: Reporter
    solves: dict[int, list[str]]
    parts: dict[int, dict[str, xr.Dataset]]
    split: frozenset[int]
    references: list[xr.Dataset] = field(default_factory=list)
    points: dict[int, xr.Dataset] = field(default_factory=dict)
    trajectories: dict[int, Trajectory] = field(default_factory=dict)
    # seconds spent turning solves into datasets and writing them (the run's "store")
    store_seconds: float = 0.0
    # write each point's file (a run in a directory it may resume from); else
    # the points stay in memory only (mfsim.run without a directory)
    persist: bool = True

    def solved(self, job: Job, traj: Trajectory) -> None:
        """One solve finished: persist it; assemble its point once complete."""
        begin = time.perf_counter()
        flat, prefix = job.key
        point = self.plan.points[flat]
        if not prefix:
            self.trajectories[flat] = traj
        ds = solve_dataset(traj, prefix, point, sweep=self.plan.sweep)
        if not prefix and point.scenario.solver.polish and _finite(traj.final_state):
            polishing = time.perf_counter()
            ds = with_critical_point(ds, polish(job.system, traj.final_state))
            begin += time.perf_counter() - polishing  # a solve, not storing
        self.parts[flat][prefix] = (write_part(self.plan, point, prefix, ds)
                                    if flat in self.split else ds)
        self.reporter.solve_done()
        self.finish_if_complete(flat)
        self.store_seconds += time.perf_counter() - begin
        check_interrupt()  # a safe point: this solve is saved

    def finish_if_complete(self, flat: int) -> None:
        """Assemble and persist point ``flat`` if every solve of it is in."""
        found = self.parts[flat]
        if len(found) < len(self.solves[flat]) or flat in self.points:
            return
        plan, point = self.plan, self.plan.points[flat]
        ds = merge_twins(found[""], {prefix: found[prefix]
                                     for prefix in self.solves[flat][1:]})
        if plan.refs:
            ref = plan.refs[plan.ref_of[flat]]
            ds = reference_distance(ds, self.references[plan.ref_of[flat]], label=ref.label())
        self.points[flat] = ds
        if plan.sweep and self.persist:
            write_point(plan, point, ds)
            for prefix in found:  # the point holds them now
                self.manifest.remove(plan.part_path(point, prefix))
        self.reporter.point_done()

    def kept(self, before: SavedBefore, mine, checkpoints: bool) -> str:
        """What an interruption now leaves saved, in words."""
        if not self.plan.sweep:  # one point: its finished solves, by name, and the checkpoint
            if self.points:
                return "every solve saved"
            what = [f"{solve_label(prefix)} solve saved"
                    for prefix in self.parts[0]] if self.split else []
            what += ["checkpoints kept"] if checkpoints else []
            return ", ".join(what) or "nothing saved"
        what = f"{len(before.resumed) + len(self.points)} of {len(mine)} points saved"
        partial = sum(len(self.parts[flat]) for flat in self.split if flat not in self.points
                      and flat not in before.resumed)
        if partial:
            what += f" (and {partial} finished solve{'s' * (partial > 1)} of unfinished points)"
        return what
