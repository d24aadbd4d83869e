"""``[[monitors]] name = "risk"``: :class:`mfsim.Risk`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.sequence import Risk
from ..entry import MonitorEntry
from ..table import Table


class RiskMonitor(Table):
    """Risk ||theta - theta*||^2."""

    name: Literal["risk"]


ENTRY = MonitorEntry(RiskMonitor, Risk, lambda cfg, ctx: Risk())
