"""``[[monitors]] name = "invariants"``: :class:`mfsim.InvariantDrift`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.invariants import InvariantDrift
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory
from ..table import Table


class InvariantsMonitor(Table):
    """Drift of the conserved quantities of the flow."""

    name: Literal["invariants"]


def memory(cfg, m: MemoryContext, key: str) -> MonitorMemory:
    return MonitorMemory(terms=(MemoryTerm(key, "monitor invariants's initial state",
                                     m.bytes_per_element * m.system.params * m.batch),))


ENTRY = MonitorEntry(InvariantsMonitor, InvariantDrift,
                     lambda cfg, ctx: InvariantDrift.of(ctx.system, ctx.state0), memory=memory)
