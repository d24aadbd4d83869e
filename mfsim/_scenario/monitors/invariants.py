"""``[[monitors]] name = "invariants"``: :class:`mfsim.InvariantDrift`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.invariants import InvariantDrift
from ..entry import MonitorEntry, initial_state_memory
from ..table import Table


class InvariantsMonitor(Table):
    """Drift of the conserved quantities of the flow."""

    name: Literal["invariants"]


ENTRY = MonitorEntry(InvariantsMonitor, InvariantDrift,
                     lambda cfg, ctx: InvariantDrift.of(ctx.system, ctx.state0),
                     memory=initial_state_memory)
