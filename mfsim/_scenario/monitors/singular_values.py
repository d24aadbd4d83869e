"""``[[monitors]] name = "singular_values"``: :class:`mfsim.SingularValues`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.movement import SingularValues
from ..entry import MonitorEntry
from ..table import Table


class SingularValuesMonitor(Table):
    """Singular values of the end-to-end map W_L ... W_1."""

    name: Literal["singular_values"]


ENTRY = MonitorEntry(SingularValuesMonitor, SingularValues, lambda cfg, ctx: SingularValues())
