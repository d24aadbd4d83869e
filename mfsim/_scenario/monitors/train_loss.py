"""``[[monitors]] name = "train_loss"``: :class:`mfsim.TrainLoss`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.losses import TrainLoss
from ..entry import MonitorEntry
from ..table import Table


class TrainLossMonitor(Table):
    """Training loss (1/2n) sum_i (f(x_i) - y_i)^2."""

    name: Literal["train_loss"]


ENTRY = MonitorEntry(TrainLossMonitor, TrainLoss, lambda cfg, ctx: TrainLoss(), twin=True)
