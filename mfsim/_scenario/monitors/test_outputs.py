"""``[[monitors]] name = "test_outputs"``: :class:`mfsim.Predictions`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.movement import Predictions
from ..entry import MonitorEntry, MonitorMemory
from ..table import Table


class TestOutputsMonitor(Table):
    """Outputs f(x'_i) on the test inputs."""

    name: Literal["test_outputs"]


ENTRY = MonitorEntry(TestOutputsMonitor, Predictions, lambda cfg, ctx: Predictions(ctx.data.x_test),
                     memory=lambda cfg, m, key: MonitorMemory(saved=m.data.n_test), twin=True)
