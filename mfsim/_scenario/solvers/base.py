"""The keys every ``[solver]`` table shares, and those of fixed-step solves.

A solver entry (:class:`mfsim.SolverEntry`, whose ``settings`` usually
calls :func:`solver_settings` with its solver object) selects its table by
``solver.name``; its table says whether the solve takes fixed steps
(:attr:`SolverTable.fixed`), and the entry builds the
:class:`mfsim.SolveSettings` (diffrax solver and step-size controller
objects) once. A key that only another solver's table has is refused naming
that solver.
"""

from __future__ import annotations

from typing import Annotated

import diffrax
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ..._solve.settings import DIVERGENCE, SolveSettings
from ..._solve.sharding import Shard, device_layout
from ..._solve.solvers import whole_steps
from ..._solve.stopping import StopWhen
from ..table import PosFloat, PosInt, Table, shown


class StopLevel(Table):
    """A stopping rule's level: ``below``, ``above`` or ``changes_below`` with
    ``over`` (exactly one of the three)."""

    below: float | None = Field(None, description="stop once the variable is at most this")
    above: float | None = Field(None, description="stop once the variable is at least this")
    changes_below: PosFloat | None = Field(
        None, description="stop once the variable changes less than this over the time "
        "`over` at its current rate along the flow (a plateau)")
    over: PosFloat | None = Field(None, description="the time changes_below is measured over")

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("below", "above", "changes_below") if getattr(self, k) is not None]
        if len(given) != 1:
            raise PydanticCustomError("stop_level", "give exactly one of below, above and "
                                      "changes_below", {"key": "below"})
        if (self.changes_below is None) != (self.over is None):
            raise PydanticCustomError("stop_over", "changes_below goes with over (and only it)",
                                      {"key": "over"})
        return self


class SolverTable(Table):
    """Keys every solver has."""

    name: str = Field(description="the solver (mfsim list solvers)")
    t1: PosFloat = Field(10.0, description="final time (replaced by steps * dt when steps is set)",
        json_schema_extra=shown("training time", r"$t_1$"))
    rtol: PosFloat = Field(1e-6, description="relative tolerance of adaptive steps (and of the "
                           "flow twin's)")
    atol: PosFloat = Field(1e-9, description="absolute tolerance of adaptive steps (and of the "
                           "flow twin's)")
    max_steps: PosInt = Field(
        100_000, description="an adaptive solve stops (status max_steps) here; a fixed-step "
        "one takes all its t1 / dt steps")
    divergence: Annotated[float, Field(gt=1)] = Field(
        DIVERGENCE, description="the solve stops (status diverged) when a state entry exceeds "
        "this times the largest entry of the initial state (at least 1); NaN or Inf stop it "
        "too (status non-finite state)")
    shard: Shard = Field(
        "none", description="spread over every JAX device: particles (the neurons of each "
        "solve) or sweep (the points of a batched sweep); none: one device")
    stop: dict[str, StopLevel] | None = Field(
        None, description="a stopping rule, one variable a monitor records and its level: "
        "train_loss = { below = 1e-3 } ends the solve at the crossing time (flows: root "
        "found) or after the first step meeting it (fixed steps); { above = .. }, or "
        "{ changes_below = 1e-6, over = 10 } (a plateau: its rate along the flow times over); "
        "the network's solve only, solved one point at a time (status stopped, t_stop)")
    polish: bool = Field(
        False, description="after the solve, polish the network's final state to a critical "
        "point (Newton, optimistix) and record its gradient norm, Hessian spectrum and kind "
        "(minimum, saddle): critical_* variables and attributes")

    @model_validator(mode="after")
    def _one_stop(self):
        if self.stop is not None and len(self.stop) != 1:
            raise PydanticCustomError(
                "stop", "one stopping rule (a variable and its level); got {n}",
                {"key": "stop", "n": len(self.stop)})
        return self

    def stop_when(self) -> StopWhen | None:
        """The stopping rule (:class:`mfsim.StopWhen`), or None."""
        if not self.stop:
            return None
        (variable, level), = self.stop.items()
        return StopWhen(variable, below=level.below, above=level.above,
                        changes_below=level.changes_below, over=level.over)

    @property
    def fixed(self) -> bool:
        """Whether the solve takes fixed steps ``dt``."""
        return False

    @property
    def step_count(self) -> int:
        """The fixed steps from 0 to ``t1`` (0 for an adaptive solve)."""
        return 0




class FixedStepTable(SolverTable):
    """Keys of a solve that takes fixed steps (gradient descent, optimizers)."""

    dt: PosFloat | None = Field(
        None, description="fixed step (euler: gradient descent with learning rate tau dt; "
        "replaced by learning_rate / tau when learning_rate is set)")
    learning_rate: PosFloat | None = Field(
        None, description="gradient descent's learning rate eta, fixed-step solves only: sets "
        "dt = eta / tau, tau the system's time scale (m for a mean-field two-layer network)",
            json_schema_extra=shown("learning rate", r"$\eta$"))
    steps: PosInt | None = Field(
        None, description="number of fixed steps, fixed-step solves only: sets t1 = steps * dt")

    @property
    def fixed(self) -> bool:
        return True

    @property
    def step_count(self) -> int:
        return round(self.t1 / self.dt) if self.fixed and self.dt else 0

    @model_validator(mode="after")
    def _check_steps(self):
        for key in ("learning_rate", "steps"):
            if getattr(self, key) is not None and not self.fixed:
                raise PydanticCustomError(
                    "fixed_only", "only for a fixed-step solve (gradient descent: name = "
                    "\"euler\", or adaptive = false); gradient flow has no {key}", {"key": key})
        if self.fixed and self.dt is None and self.learning_rate is None:
            raise PydanticCustomError(
                "missing_dt", "a fixed-step solve needs dt or learning_rate (a positive step)",
                {"key": "dt"})
        if self.learning_rate is not None or self.steps is not None:
            return self  # dt and t1 are derived, and checked, by the scenario (it knows tau)
        if self.dt is not None and self.dt > self.t1:
            raise PydanticCustomError("dt_too_large", "must not exceed t1", {"key": "dt"})
        if self.fixed and not whole_steps(self.t1, self.dt):
            raise PydanticCustomError(
                "whole_steps", "must be a whole number of steps dt = {dt} (t1 / dt = {n:.6g}): "
                "gradient descent takes full steps only", {"dt": self.dt, "n": self.t1 / self.dt,
                                                           "key": "t1"})
        return self


class AdaptiveTable(FixedStepTable):
    """Keys of a solver with an error estimate: adaptive steps under a PID
    controller, or fixed steps ``dt`` with ``adaptive = false``."""

    adaptive: bool = Field(True, description="adaptive steps (PID controller at rtol, atol); "
                           "false: fixed steps dt")

    @property
    def fixed(self) -> bool:
        return not self.adaptive


def solver_settings(cfg: SolverTable, solver: diffrax.AbstractSolver, ctx) -> SolveSettings:
    """The settings of a table's solve with ``solver`` (an object): a PID
    controller at ``rtol``/``atol`` for an adaptive one, constant steps
    ``dt`` otherwise; gradient descent takes all its steps (``max_steps``
    at least their number)."""
    fixed = cfg.fixed
    controller = (diffrax.ConstantStepSize() if fixed
                  else diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol))
    max_steps = max(cfg.max_steps, cfg.step_count + 1) if fixed else cfg.max_steps
    dt = cfg.dt if isinstance(cfg, FixedStepTable) else None  # adaptive: the first step
    return SolveSettings.of(solver, t1=cfg.t1, controller=controller, dt=dt,
                            max_steps=max_steps, divergence=cfg.divergence,
                            shard=device_layout(cfg.shard),
                            noise=ctx.noise, save_times=ctx.save_times)

