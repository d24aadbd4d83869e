"""``[system] kind = "adaptive_sequence"``: :class:`mfsim.AdaptiveSequenceModel`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._systems.sequence_models import AdaptiveSequenceModel
from ..._tasks.sequence import SequenceData
from ..entry import DataSizes, SystemEntry, SystemMemory
from ..table import Table, fields


class AdaptiveSequenceConfig(Table):
    """theta = A diag(d) beta with learnable A (free or orthogonal) and d."""

    kind: Literal["adaptive_sequence"] = "adaptive_sequence"
    orthogonal: bool = Field(False, description="keep A orthogonal (Riemannian flow)")


def memory(cfg, data: DataSizes, platform: str) -> SystemMemory:
    big_n = data.coordinates  # products and QR of N x N
    return SystemMemory(2 * big_n * big_n, "task.N")


ENTRY = SystemEntry(AdaptiveSequenceConfig, AdaptiveSequenceModel,
                    lambda cfg, data: AdaptiveSequenceModel(data, **fields(cfg)), memory,
                    data=SequenceData, default_monitors=("train_loss", "risk"))
