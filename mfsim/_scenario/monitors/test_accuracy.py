"""``[[monitors]] name = "test_accuracy"``: :class:`mfsim.TestAccuracy`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.losses import TestAccuracy
from ..entry import MonitorEntry
from ..table import Table


class TestAccuracyMonitor(Table):
    """Fraction of held-out points with sign f = sign y (+-1 labels)."""

    name: Literal["test_accuracy"]


ENTRY = MonitorEntry(
    TestAccuracyMonitor, TestAccuracy,
    lambda cfg, ctx: TestAccuracy(ctx.data.x_test, ctx.data.y_test), twin=True)
