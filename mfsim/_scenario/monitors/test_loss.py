"""``[[monitors]] name = "test_loss"``: :class:`mfsim.TestLoss`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.losses import TestLoss
from ..entry import MonitorEntry
from ..table import Table


class TestLossMonitor(Table):
    """Test loss on the held-out data."""

    name: Literal["test_loss"]


ENTRY = MonitorEntry(
    TestLossMonitor, TestLoss,
    lambda cfg, ctx: TestLoss(ctx.data.x_test, ctx.data.y_test), twin=True)
