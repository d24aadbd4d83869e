"""``[[monitors]] name = "invariants"``: :class:`mfsim.InvariantDrift`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.invariants import InvariantDrift
from ..entry import MonitorEntry, initial_state_memory
from ..table import Table


class InvariantsMonitor(Table):
    """Drift of the conserved quantities of the flow."""

    name: Literal["invariants"]
    relative: bool = Field(False, description="also the drift relative to the largest "
                           "initial value (at least 1): drift_rel_<name>")


ENTRY = MonitorEntry(InvariantsMonitor, InvariantDrift,
                     lambda cfg, ctx: InvariantDrift.of(ctx.system, ctx.state0,
                                                        relative=cfg.relative),
                     memory=initial_state_memory)
