"""``[[monitors]] name = "train_outputs"``: :class:`mfsim.TrainOutputs`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.movement import TrainOutputs
from ..entry import MonitorEntry, MonitorMemory
from ..table import Table


class TrainOutputsMonitor(Table):
    """Outputs f(x_i) on the training inputs."""

    name: Literal["train_outputs"]


ENTRY = MonitorEntry(TrainOutputsMonitor, TrainOutputs, lambda cfg, ctx: TrainOutputs(),
                     memory=lambda cfg, m, key: MonitorMemory(saved=m.data.n_train * m.data.d_out))
