"""``[system] kind = "adaptive_sequence"``: :class:`mfsim.AdaptiveSequenceModel`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._systems.sequence_models import AdaptiveSequenceModel
from ..._tasks.sequence import SequenceData
from ..entry import DataSizes, SystemEntry, SystemSizes
from ..table import Table, fields


class AdaptiveSequenceConfig(Table):
    """theta = A diag(d) beta with learnable A (free or orthogonal) and d."""

    kind: Literal["adaptive_sequence"] = "adaptive_sequence"
    orthogonal: bool = Field(False, description="keep A orthogonal (Riemannian flow)")


def sizes(cfg, data: DataSizes, platform: str) -> SystemSizes:
    big_n = data.coordinates  # A (N x N) and d; products and QR of N x N
    return SystemSizes(big_n * big_n + big_n, 4 * big_n * big_n, "task.N")


ENTRY = SystemEntry(AdaptiveSequenceConfig, AdaptiveSequenceModel,
                    lambda cfg, data: AdaptiveSequenceModel(data, **fields(cfg)), sizes,
                    data=SequenceData, default_monitors=("train_loss", "risk"))
