"""``[[monitors]] name = "order_parameters"``: :class:`mfsim.OrderParametersMonitor`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.order_parameters import OrderParametersMonitor
from ..entry import MonitorEntry
from ..table import Table


class OrderParametersConfig(Table):
    """Generalization error (closed form) and overlaps Q, R, v of a committee machine."""

    name: Literal["order_parameters"]


ENTRY = MonitorEntry(OrderParametersConfig, OrderParametersMonitor,
                     lambda cfg, ctx: OrderParametersMonitor(), twin=True)
