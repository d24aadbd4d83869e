"""``[system] kind = "vanilla_sequence"``: :class:`mfsim.VanillaSequenceModel`."""

from __future__ import annotations

from typing import Literal

from ..._systems.sequence_models import VanillaSequenceModel
from ..._tasks.sequence import SequenceData
from ..entry import DataSizes, SystemEntry, SystemSizes
from ..table import Table


class VanillaSequenceConfig(Table):
    """Fixed kernel theta_j = lambda_j^(1/2) beta_j."""

    kind: Literal["vanilla_sequence"] = "vanilla_sequence"


def sizes(cfg, data: DataSizes, platform: str) -> SystemSizes:
    return SystemSizes(data.coordinates, 3 * data.coordinates, "task.N")


ENTRY = SystemEntry(VanillaSequenceConfig, VanillaSequenceModel,
                    lambda cfg, data: VanillaSequenceModel(data), sizes, data=SequenceData,
                    default_monitors=("train_loss", "risk"))
