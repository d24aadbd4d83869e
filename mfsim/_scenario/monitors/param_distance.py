"""``[[monitors]] name = "param_distance"``: :class:`mfsim.ParameterDistance`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.movement import ParameterDistance
from ..entry import MonitorEntry, initial_state_memory
from ..table import PosFloat, Table


class ParamDistanceMonitor(Table):
    """||theta_t - theta_0|| (absolute, relative, per layer); fraction of moved particles."""

    name: Literal["param_distance"]
    tol: PosFloat = Field(1e-2, description="a particle moved if ||p_j(t) - p_j(0)|| > tol")


ENTRY = MonitorEntry(ParamDistanceMonitor, ParameterDistance,
                     lambda cfg, ctx: ParameterDistance.of(ctx.system, ctx.state0, tol=cfg.tol),
                     memory=initial_state_memory)
