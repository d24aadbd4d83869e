"""``[[monitors]] name = "linear_predictor"``: :class:`mfsim.LinearPredictor`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.linear import LinearPredictor
from ..entry import MonitorEntry
from ..table import Table


class LinearPredictorMonitor(Table):
    """Norms and recovery error of the linear predictor beta."""

    name: Literal["linear_predictor"]


def _build(cfg, ctx) -> LinearPredictor:
    teacher = ctx.data.teacher_particles  # a sparse task stores beta* as a (d, 1) column
    return LinearPredictor(None if teacher is None else teacher[:, 0])


ENTRY = MonitorEntry(LinearPredictorMonitor, LinearPredictor, _build)
