"""``[system] kind = "diagonal_sequence"``: :class:`mfsim.DiagonalSequenceModel`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._systems.sequence_models import DiagonalSequenceModel
from ..._tasks.sequence import SequenceData
from ..entry import DataSizes, SystemEntry, SystemMemory
from ..table import PosFloat, Table, fields, shown


class DiagonalSequenceConfig(Table):
    """Over-parameterized theta_j = a_j b_j^D beta_j (Li & Lin)."""

    kind: Literal["diagonal_sequence"] = "diagonal_sequence"
    depth: Annotated[int, Field(ge=0)] = Field(0, description="D (0: a_j beta_j only)",
        json_schema_extra=shown("depth", r"$D$"))
    b0: PosFloat = Field(1.0, description="initial b_j")


def memory(cfg, data: DataSizes, platform: str) -> SystemMemory:
    return SystemMemory(2 * data.coordinates, "task.N")


ENTRY = SystemEntry(DiagonalSequenceConfig, DiagonalSequenceModel,
                    lambda cfg, data: DiagonalSequenceModel(data, **fields(cfg)), memory,
                    data=SequenceData, default_monitors=("train_loss", "risk"))
