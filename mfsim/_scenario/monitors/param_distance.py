"""``[[monitors]] name = "param_distance"``: :class:`mfsim.ParameterDistance`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.movement import ParameterDistance
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory
from ..table import PosFloat, Table


class ParamDistanceMonitor(Table):
    """||theta_t - theta_0|| (absolute, relative, per layer); fraction of moved particles."""

    name: Literal["param_distance"]
    tol: PosFloat = Field(1e-2, description="a particle moved if ||p_j(t) - p_j(0)|| > tol")


def memory(cfg, m: MemoryContext, key: str) -> MonitorMemory:
    return MonitorMemory(terms=(MemoryTerm(key, "monitor param_distance's initial state",
                                     m.bytes_per_element * m.system.params * m.batch),))


ENTRY = MonitorEntry(ParamDistanceMonitor, ParameterDistance,
                     lambda cfg, ctx: ParameterDistance.of(ctx.system, ctx.state0, tol=cfg.tol),
                     memory=memory)
