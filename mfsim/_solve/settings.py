"""How a solve runs: :class:`SolveSettings`, the objects the solves carry
(solver, step-size controller, interval, save times, guards, device layout,
noise), and the precision a run's dtype can meet."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .langevin import Langevin
from .optimizers import stochastic
from .problem import Problem
from .save_times import save_times as make_save_times
from .save_times import snap_to_steps
from .sharding import AbstractLayout, OneDevice
from .solvers import whole_steps, with_dtmin

DIVERGENCE = 1e8  # default bound on max |state| / max(1, max |state0|)


class SolveSettings(eqx.Module):
    """How a solve runs: the diffrax solver and step-size controller (objects),
    the first step ``dt0``, the interval, the save times (snapped to the step
    grid of a fixed-step solve), the step budget, the divergence bound and the
    device layout. Build it with :meth:`of` from a solver object (a
    scenario's solver entry does, from its table); the scheduler and the
    solves carry this object, never a name or a dict of options.
    """

    solver: diffrax.AbstractSolver
    controller: diffrax.AbstractStepSizeController
    dt0: float | None
    ts: np.ndarray
    t0: float
    t1: float
    max_steps: int = 100_000
    divergence: float = 1e8
    shard: AbstractLayout = OneDevice()
    noise: Langevin | None = None
    progress: bool | Callable[[float, float], None] = eqx.field(static=True, default=False)

    @classmethod
    def of(cls, solver: diffrax.AbstractSolver, *, t1: float, t0: float = 0.0,
           controller: diffrax.AbstractStepSizeController | None = None,
           dt: float | None = None, rtol: float = 1e-6, atol: float = 1e-9,
           adaptive: bool | None = None, save_times=None, n_save: int = 101,
           max_steps: int = 100_000, divergence: float = DIVERGENCE,
           shard: AbstractLayout = OneDevice(), noise: Langevin | None = None,
           progress: bool | Callable[[float, float], None] = False) -> SolveSettings:
        """Settings of a solve with ``solver``, a diffrax solver object
        (``diffrax.Tsit5()``, ``diffrax.Euler()``: gradient descent with
        learning rate ``tau dt``; :func:`mfsim.sgd`, :func:`mfsim.adam`).

        - ``t1``, ``t0``: the interval.
        - ``controller``: a diffrax step-size controller; default a PID
          controller at ``rtol``/``atol`` for an adaptive solve (the default
          for a solver with an error estimate), a constant step ``dt``
          otherwise (``adaptive = False``, or a solver without one: Euler).
        - ``dt``: the fixed step; for an adaptive solve the first step
          (``None``: chosen by diffrax).
        - ``save_times`` (default ``n_save`` even times): where monitors are
          evaluated, snapped to the step grid of a fixed-step solve.
        - ``max_steps``: the solve stops (its status says so) after this
          many steps.
        - ``divergence``: the solve stops (status ``diverged``) when an
          entry of the state exceeds ``divergence * max(1, max |state0|)``,
          and (status ``non-finite state``) at NaN or Inf, both checked
          after every step inside the compiled loop; an adaptive solve whose
          step falls below eps max(|t0|, |t1|) / 1000 stops with status
          ``step-size collapse``.
        - ``shard``: where the arrays live: :class:`mfsim.ShardParticles`
          splits the particle axis of the state over every JAX device,
          :class:`mfsim.ShardSweep` the problems of a batch
          (:func:`mfsim.simulate_batch`); :class:`mfsim.OneDevice` (default).
        - ``noise``: :class:`mfsim.Langevin` noise and weight decay: an SDE
          (``diffrax.Euler()`` is then Euler-Maruyama; ``diffrax.SRA1()``
          and ``diffrax.ShARK()`` integrate its additive noise at order 1.5).
        - ``progress``: a progress bar (tqdm) of the solver time during a
          solve (``True``), or a callable ``progress(t_reached, t1)``, called
          after each checkpointed segment (at the start and the end of an
          unsegmented solve); batches show none.

        Names such as ``"tsit5"`` are for scenario files (their solver
        entries build these settings)."""
        if not isinstance(shard, AbstractLayout):
            raise TypeError(f"shard must be a layout object (mfsim.OneDevice(), mfsim."
                            f"ShardParticles(), mfsim.ShardSweep()); got {shard!r}")
        if not isinstance(solver, diffrax.AbstractSolver):
            raise TypeError(f"solver must be a diffrax solver object (diffrax.Tsit5(), "
                            f"diffrax.Euler(), mfsim.sgd()); got {solver!r}: names are for "
                            "scenario files")
        can_adapt = isinstance(solver, diffrax.AbstractAdaptiveSolver)
        if adaptive is None:
            adaptive = can_adapt
        if adaptive and not can_adapt and controller is None:
            raise ValueError(f"{type(solver).__name__} has no error estimate: it takes fixed "
                             "steps (give dt, leave adaptive unset)")
        if adaptive and not (rtol > 0 and atol > 0):
            raise ValueError(f"rtol and atol must be positive; got rtol={rtol}, atol={atol}")
        dt0 = dt
        default = diffrax.PIDController(rtol=rtol, atol=atol) if adaptive else (
            diffrax.ConstantStepSize())
        controller = default if controller is None else controller
        if isinstance(controller, diffrax.ConstantStepSize):
            if not (dt0 is not None and dt0 > 0):
                raise ValueError(f"a fixed-step solve needs a positive dt; got {dt0}")
            if not whole_steps(t1 - t0, dt0):
                raise ValueError(f"t1 - t0 = {t1 - t0:g} is not a whole number of steps dt = "
                                 f"{dt0:g}: a fixed-step solve takes full steps only")
        settings = cls(solver, controller, dt0, np.zeros(0), t0, t1, int(max_steps),
                       float(divergence), shard, noise, progress)
        return settings.with_save_times(make_save_times(t1, n_save, t0=t0) if save_times is None
                                        else save_times)

    def with_save_times(self, ts) -> SolveSettings:
        """These settings saving at ``ts`` (snapped to the step grid of a
        fixed-step solve, and validated)."""
        return dataclasses.replace(self, ts=self.checked(ts, "save_times"))

    @property
    def adaptive(self) -> bool:
        return isinstance(self.controller, diffrax.AbstractAdaptiveStepSizeController)

    def key(self) -> tuple:
        """Hashable: solves with equal keys can share a compiled (batched) solve."""
        return (repr(self.solver), repr(self.controller), self.dt0, self.t0, self.t1,
                self.ts.dtype.str, self.ts.tobytes(), self.max_steps, self.divergence,
                self.shard, repr(self.noise))

    @property
    def stochastic(self) -> bool:
        """Whether the solve draws from the run's noise key (batches, Brownian motion)."""
        return stochastic(self.solver) or self.noise is not None

    def checked(self, ts, what: str) -> np.ndarray:
        """``ts`` snapped to the step grid of a fixed-step solve, and validated."""
        ts = np.asarray(ts, dtype=float)
        if isinstance(self.controller, diffrax.ConstantStepSize):
            ts = snap_to_steps(ts, self.t0, self.dt0)
        if (ts.ndim != 1 or ts.size == 0 or ts[0] < self.t0 or ts[-1] > self.t1
                or np.any(np.diff(ts) < 0)):
            raise ValueError(
                f"{what} must be non-decreasing within [t0, t1] = [{self.t0}, {self.t1}]")
        return ts

    def own_times(self, monitors, cast) -> tuple:
        """The save times of the monitors that have their own, in order."""
        return tuple(cast(self.checked(m.save_times(), f"{type(m).__name__} save times"))
                     for m in monitors if m.save_times() is not None)

    def check_precision(self, y0) -> None:
        """Refuse (ValueError) a relative tolerance the run's dtype cannot
        meet: below PRECISION_ULPS eps of the initial state's dtype (float32:
        4.8e-7), an adaptive solve shrinks its steps to max_steps without
        meeting it."""
        rtol = getattr(self.controller, "rtol", None)
        if not self.adaptive or rtol is None:
            return
        dtype = _run_dtype(y0)
        floor = PRECISION_ULPS * float(jnp.finfo(dtype).eps)
        if float(rtol) < floor:
            raise ValueError(precision_refusal("rtol", float(rtol), jnp.dtype(dtype).name,
                                               floor))

    def problem(self, system, y0, monitors, *, noise_key=None, progress: bool = False,
                stop=None) -> Problem:
        """The :class:`Problem` of a solve of ``system`` from ``y0`` with
        these settings (times cast to the run's dtype); ``stop``: a stopping
        rule (:class:`~mfsim._solve.stopping.StopRule`)."""
        cast = self.caster(y0)
        t0, t1 = cast(self.t0), cast(self.t1)
        return Problem(system, y0, tuple(monitors), cast(self.ts), self.own_times(monitors, cast),
                       t0, t1, cast(self.dt0), self.solver, self.controller_for(y0),
                       cast(self.divergence), (t0, t1), self.max_steps, progress,
                       noise_key=noise_key, noise=self.noise, stop=stop)

    def controller_for(self, y0):
        """The step-size controller, with its minimum step for the run's dtype."""
        return with_dtmin(self.controller, self.t0, self.t1, _run_dtype(y0))

    @staticmethod
    def caster(y0):
        """Casts times to the run's dtype: the dtype of the initial state."""
        dtype = _run_dtype(y0)
        return lambda x: None if x is None else jnp.asarray(x, dtype)


# the smallest relative tolerance an adaptive solve is asked to meet, in units of
# the dtype's eps (float32: 4.8e-7; the default rtol 1e-6 is above it)
PRECISION_ULPS = 4


def precision_refusal(key: str, rtol: float, dtype: str, floor: float, *,
                      named: bool = True) -> str:
    """The one line refusing a tolerance ``dtype`` cannot meet (``named``:
    it starts with the key)."""
    # a scenario's refusal names its key in the error's context (not named)
    way = ('dtype = "float64"' if not named else
           "a float64 state (jax.config.update('jax_enable_x64', True), dtype=jnp.float64)")
    return ((f"{key} = " if named else "") + f"{rtol:g} is below what {dtype} resolves "
            f"({PRECISION_ULPS} eps = {floor:.1e}): use {way}, or {key} >= {floor:.1e}")


def _run_dtype(y0):
    leaves = [x for x in jax.tree.leaves(y0) if eqx.is_inexact_array(x)]
    return leaves[0].dtype if leaves else jnp.result_type(float)
