"""``[solver] name = "sra1"`` and ``"shark"``: stochastic Runge-Kutta
solvers for the additive noise of Langevin dynamics (strong order 1.5), which
need a ``[noise]`` temperature; docs/theory.md, "Noisy dynamics"."""

from __future__ import annotations

from typing import Literal

import diffrax
from pydantic import Field

from ..entry import SolverEntry
from .base import AdaptiveTable, FixedStepTable, solver_settings


class SRA1Table(FixedStepTable):
    """SRA1 at a fixed step: Langevin dynamics only."""

    name: Literal["sra1"] = Field("sra1", description="the solver (mfsim list solvers)")


class ShARKTable(AdaptiveTable):
    """ShARK, adaptive (or fixed-step with adaptive = false): Langevin dynamics only."""

    name: Literal["shark"] = Field("shark", description="the solver (mfsim list solvers)")


SRA1 = SolverEntry(
    SRA1Table, lambda cfg, ctx: solver_settings(cfg, diffrax.SRA1(), ctx),
    descriptions={"sra1": "SRA1 stochastic Runge-Kutta for additive noise, fixed step "
                  "(Langevin dynamics only): strong order 1.5"},
    copies={"sra1": 8}, noise="required")
SHARK = SolverEntry(
    ShARKTable, lambda cfg, ctx: solver_settings(cfg, diffrax.ShARK(), ctx),
    descriptions={"shark": "ShARK stochastic Runge-Kutta for additive noise (Langevin "
                  "dynamics only): strong order 1.5, adaptive"},
    copies={"shark": 10}, noise="required")
