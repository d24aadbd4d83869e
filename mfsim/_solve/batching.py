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
from dataclasses import dataclass

import equinox as eqx
import jax

from .._monitors.base import AbstractMonitor
from .._system import AbstractSystem
from .core import Trajectory
from .segments import AbstractCheckpointStore
from .settings import SolveSettings
from .sharding import sweep_multiple
from .simulate import batch_signature, simulate, simulate_batch
from .start import Start
from .stopping import StopWhen

# On CPU a vmapped adaptive solve costs about as much per problem and per
# step as separate solves (XLA:CPU's batched small matmuls are no faster than
# a loop of them) and runs every problem for as many steps as the slowest,
# so it never pays; a fixed-step batch (one stacked solve, no masking) pays
# while the state is small. So on CPU only fixed-step solves of states up to
# CPU_BATCH_MAX_STATE_BYTES are batched; on an accelerator every batch that
# fits in ACCELERATOR_BATCH_BYTES is. The figures behind these limits:
# bench/sweep_batching.py, bench/RESULTS.md "sweep_batching" and "GPU record".
CPU_BATCH_MAX_STATE_BYTES = 12 * 1024
CPU_MAX_BATCH = 64
ACCELERATOR_BATCH_BYTES = 2 * 1024**3  # states x ~30 (solver stages, monitors, saves)


@dataclass(frozen=True)
class Job:
    """One solve: ``simulate(system, job.start, settings, monitors)``
    (``noise_key``: the run's randomness after ``state0``: batches, noise),
    in segments of ``checkpoint_every`` save points checkpointed to
    ``checkpoint`` where given, ended by its stopping rule ``stop`` where
    given (such jobs are solved alone)."""

    key: Hashable
    system: AbstractSystem
    state0: object
    monitors: tuple[AbstractMonitor, ...]
    settings: SolveSettings
    noise_key: object = None
    checkpoint: AbstractCheckpointStore | None = None
    checkpoint_every: int = 0
    checkpoint_tag: str = ""
    stop: StopWhen | None = None

    @property
    def start(self):
        """Where the solve starts: ``state0``, with its noise key if any."""
        return self.state0 if self.noise_key is None else Start(self.state0, self.noise_key)


def state_bytes(state) -> int:
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state) if eqx.is_array(x))


def auto_batch_size(state, n_jobs: int, platform: str | None = None, *,
                    adaptive: bool = True) -> int:
    """Problems per vmapped solve, from the device, the size of one state and
    whether the solve is adaptive (see the measurements above)."""
    platform = platform or jax.devices()[0].platform
    size = max(state_bytes(state), 1)
    if platform == "cpu":
        small = size <= CPU_BATCH_MAX_STATE_BYTES and not adaptive
        return min(n_jobs, CPU_MAX_BATCH) if small else 1
    return max(1, min(n_jobs, ACCELERATOR_BATCH_BYTES // (30 * size)))


def group_jobs(jobs: Sequence[Job]) -> list[list[Job]]:
    """Jobs grouped by structure and solver settings, in order of first appearance."""
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        sig = (batch_signature(job.system, job.state0, job.monitors), job.settings.key(),
               None if job.stop is None else job.stop.describe())
        groups.setdefault(sig, []).append(job)
    return list(groups.values())


def run_jobs(jobs: Sequence[Job], on_done: Callable[[Job, Trajectory], None], *,
             batch: int | str = "auto", skip: frozenset = frozenset(),
             on_start: Callable[[list[Job]], None] | None = None) -> None:
    """Solve every job, calling ``on_start(jobs)`` before each solve (of one
    job or a batch) and ``on_done(job, trajectory)`` as each finishes.

    Jobs whose key is in ``skip`` (done by an interrupted run) are not solved;
    the batch size is still chosen from every job, so that the remaining ones
    are solved by the same compiled program as in an uninterrupted run."""
    on_start = on_start or (lambda jobs: None)
    for group in group_jobs(jobs):
        settings = group[0].settings
        size = (auto_batch_size(group[0].state0, len(group), adaptive=settings.adaptive)
                if batch == "auto" else min(int(batch), len(group)))
        layout = settings.shard
        if group[0].checkpoint_every or group[0].stop is not None or layout.one_at_a_time:
            # in segments, stopped by a rule (a batched solve has no events yet), or
            # each solve spread over the devices: one at a time
            size = 1
        elif layout.batch_multiple:  # whole batches on every device
            k = sweep_multiple()
            size = k * -(-min(len(group), max(size, CPU_MAX_BATCH)) // k)
        group = [job for job in group if job.key not in skip]
        if not group:
            continue
        if size <= 1:
            for job in group:
                on_start([job])
                on_done(job, simulate(job.system, job.start, job.settings, job.monitors,
                                      checkpoint_every=job.checkpoint_every,
                                      checkpoint=job.checkpoint,
                                      checkpoint_tag=job.checkpoint_tag, stop=job.stop))
            continue
        for start in range(0, len(group), size):
            chunk = list(group[start:start + size])
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            on_start(chunk)
            trajs = simulate_batch([j.system for j in padded], [j.start for j in padded],
                                   settings, [j.monitors for j in padded])
            for job, traj in zip(chunk, trajs):
                on_done(job, traj)
