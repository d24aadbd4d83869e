"""One solve, whole: the argument of the compiled solves."""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
from jaxtyping import Array


class Problem(eqx.Module):
    """Everything one compiled solve reads (built by
    :meth:`mfsim.SolveSettings.problem`; times already in the run's dtype).

    - ``system``, ``y0``, ``monitors``: what evolves, from where, and what
      is recorded.
    - ``ts``: the shared save times; ``own_ts``: those of the monitors that
      have their own, in order.
    - ``t0``, ``t1``, ``dt0``: the interval and the first step.
    - ``solver``, ``controller``: diffrax objects (the controller with its
      minimum step for the dtype); ``max_steps``; ``divergence``: the bound
      on ``max |state| / max(1, max |state0|)``.
    - ``state0``: the run's initial state where this solve continues it from
      ``y0`` at ``t0`` (a checkpointed segment; ``None``: ``y0``); monitors
      measure from it.
    - ``noise_key``: the run's randomness beyond its initial state (batches,
      Brownian motion); ``noise``: Langevin noise, a Brownian motion over
      ``span`` (the run's whole interval, so that segments draw the same path).
    - ``solver_state``: an optimizer's state carried over from the previous
      segment (the final one is returned).
    - ``progress``: a tqdm bar of the solver time.
    - ``stop``: a :class:`~mfsim._solve.stopping.StopRule` ending the solve
      early (``None``: none).
    """

    system: Any
    y0: Any
    monitors: tuple
    ts: Array
    own_ts: tuple
    t0: Array
    t1: Array
    dt0: Array | None
    solver: Any
    controller: Any
    divergence: Array
    span: tuple
    max_steps: int = eqx.field(static=True)
    progress: bool = eqx.field(static=True, default=False)
    state0: Any = None
    noise_key: Any = None
    solver_state: Any = None
    noise: Any = None
    stop: Any = None

    def member(self, system, y0, monitors, noise_key) -> Problem:
        """This solve for another member of a batch (the same times,
        solver and guards)."""
        return dataclasses.replace(self, system=system, y0=y0, monitors=monitors,
                                   noise_key=noise_key)

    def segment(self, y, ts, own_ts, t0, t1, state0, solver_state) -> Problem:
        """The part of this solve from ``y`` at ``t0`` to ``t1`` (a
        checkpointed segment of the run that started at ``state0``)."""
        return dataclasses.replace(self, y0=y, ts=ts, own_ts=own_ts, t0=t0, t1=t1,
                                   state0=state0, solver_state=solver_state, progress=False)
