"""``[[monitors]] name = "margin"``: :class:`mfsim.Margin`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.margin import Margin
from ..entry import MonitorEntry
from ..table import PosFloat, Table


class MarginMonitor(Table):
    """Margin min_i y_i f(x_i) and normalized margin margin / |theta|^degree."""

    name: Literal["margin"]
    degree: PosFloat = Field(
        1.0, description="homogeneity degree L of the model in its parameters (1: linear; "
        "the number of layers for a bias-free ReLU network)")


ENTRY = MonitorEntry(MarginMonitor, Margin, lambda cfg, ctx: Margin(degree=cfg.degree))
