"""``[system] kind = "vanilla_sequence"``: :class:`mfsim.VanillaSequenceModel`."""

from __future__ import annotations

from typing import Literal

from ..._systems.sequence_models import VanillaSequenceModel
from ..._tasks.sequence import SequenceData
from ..entry import DataSizes, SystemEntry, SystemMemory
from ..table import Table


class VanillaSequenceConfig(Table):
    """Fixed kernel theta_j = lambda_j^(1/2) beta_j."""

    kind: Literal["vanilla_sequence"] = "vanilla_sequence"


def memory(cfg, data: DataSizes, platform: str) -> SystemMemory:
    return SystemMemory(data.coordinates, "task.N")


ENTRY = SystemEntry(VanillaSequenceConfig, VanillaSequenceModel,
                    lambda cfg, data: VanillaSequenceModel(data), memory, data=SequenceData,
                    default_monitors=("train_loss", "risk"))
