"""Scheduling many solves: same-structure problems share one ``vmap``'ed solve.

A sweep is a list of :class:`Job` s. Jobs whose systems, states and monitors
have equal structure (:func:`mfsim.batch_signature`) and equal solver
settings form a group; a group is solved in chunks of ``batch`` problems by
:func:`mfsim.simulate_batch` (one compilation per group: a short last chunk is
padded with copies so that it reuses the compiled solve), or one by one by
:func:`mfsim.simulate` when ``batch == 1`` (same-shape problems still share
one compilation through JAX's cache).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import equinox as eqx
import jax
import numpy as np

from ._monitors.base import AbstractMonitor
from ._simulate import Trajectory, batch_signature, simulate, simulate_batch
from ._system import AbstractSystem

# On CPU a vmapped solve pays for a batched while-loop (every problem runs as
# many steps as the slowest, and masked updates touch all states): measured
# worthwhile only for small problems, where per-step overhead dominates.
CPU_BATCH_MAX_STATE_BYTES = 64 * 1024
CPU_MAX_BATCH = 64
ACCELERATOR_BATCH_BYTES = 2 * 1024**3  # states x ~30 (solver stages, monitors, saves)


@dataclass(frozen=True)
class Job:
    """One solve: ``simulate(system, state0, monitors=monitors, **kwargs)``."""

    key: Hashable
    system: AbstractSystem
    state0: object
    monitors: tuple[AbstractMonitor, ...]
    kwargs: dict = field(default_factory=dict)


def _settings_key(kwargs: dict) -> tuple:
    items = []
    for k, v in sorted(kwargs.items()):
        if isinstance(v, np.ndarray | jax.Array):
            v = (np.asarray(v).dtype.str, np.asarray(v).tobytes())
        items.append((k, v))
    return tuple(items)


def state_bytes(state) -> int:
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state) if eqx.is_array(x))


def auto_batch_size(state, n_jobs: int, platform: str | None = None) -> int:
    """Problems per vmapped solve, from the device and the size of one state."""
    platform = platform or jax.devices()[0].platform
    size = max(state_bytes(state), 1)
    if platform == "cpu":
        return min(n_jobs, CPU_MAX_BATCH) if size <= CPU_BATCH_MAX_STATE_BYTES else 1
    return max(1, min(n_jobs, ACCELERATOR_BATCH_BYTES // (30 * size)))


def group_jobs(jobs: Sequence[Job]) -> list[list[Job]]:
    """Jobs grouped by structure and solver settings, in order of first appearance."""
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        sig = (batch_signature(job.system, job.state0, job.monitors),
               _settings_key(job.kwargs))
        groups.setdefault(sig, []).append(job)
    return list(groups.values())


def run_jobs(jobs: Sequence[Job], on_done: Callable[[Job, Trajectory], None], *,
             batch: int | str = "auto") -> None:
    """Solve every job, calling ``on_done(job, trajectory)`` as each finishes."""
    for group in group_jobs(jobs):
        size = (auto_batch_size(group[0].state0, len(group)) if batch == "auto"
                else min(int(batch), len(group)))
        if size <= 1:
            for job in group:
                on_done(job, simulate(job.system, job.state0, monitors=job.monitors,
                                      **job.kwargs))
            continue
        for start in range(0, len(group), size):
            chunk = list(group[start:start + size])
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            trajs = simulate_batch(
                [j.system for j in padded], [j.state0 for j in padded],
                monitors=[j.monitors for j in padded], **padded[0].kwargs)
            for job, traj in zip(chunk, trajs):
                on_done(job, traj)
