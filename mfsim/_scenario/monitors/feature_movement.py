"""``[[monitors]] name = "feature_movement"``: :class:`mfsim.FeatureMovement`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._monitors.features import FeatureMovement
from ..entry import MonitorEntry
from ..table import Table


class FeatureMovementMonitor(Table):
    """RMS movement of each hidden layer's features from init (the coordinate check)."""

    name: Literal["feature_movement"]
    subsample: Annotated[int, Field(ge=1, le=100_000)] = Field(
        64, description="training inputs the features are measured on (the first ones)")


def _build(cfg: FeatureMovementMonitor, ctx) -> FeatureMovement:
    depth = len(ctx.system.features(ctx.state0, ctx.data.x_train[:1]))
    return FeatureMovement(subsample=cfg.subsample, depth=depth)


ENTRY = MonitorEntry(FeatureMovementMonitor, FeatureMovement, _build)
