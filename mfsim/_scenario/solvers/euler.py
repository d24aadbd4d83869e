"""``[solver] name = "euler"``: explicit Euler at a fixed step ``dt``, which
on a gradient-flow system is exactly full-batch gradient descent with
learning rate ``tau dt`` (with ``[noise]``: Euler-Maruyama)."""

from __future__ import annotations

from typing import Literal

import diffrax
from pydantic import Field

from ..entry import SolverEntry
from .base import FixedStepTable, solver_settings


class EulerTable(FixedStepTable):
    """Gradient descent: explicit Euler at a fixed step."""

    name: Literal["euler"] = Field("euler", description="the solver (mfsim list solvers)")


ENTRY = SolverEntry(
    EulerTable, lambda cfg, ctx: solver_settings(cfg, diffrax.Euler(), ctx),
    descriptions={"euler": "explicit Euler, fixed step: exactly full-batch gradient descent"},
    copies={"euler": 2}, noise="state")
