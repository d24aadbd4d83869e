"""``[task] kind = "sequence"``: the Gaussian sequence model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._tasks.sequence import SequenceData, sequence_model_task
from ..entry import DataSizes, MemoryContext, MemoryTerm, TaskEntry
from ..table import PosFloat, PosInt, TaskTable, fields, shown


class SequenceTaskConfig(TaskTable):
    """Gaussian sequence model z = theta* + noise / sqrt(n), misaligned power-law signal."""

    kind: Literal["sequence"] = "sequence"
    n: PosFloat = Field(2000.0, description="sample size (noise variance 1/n)",
        json_schema_extra=shown("sample size", r"$n$"))
    N: PosInt = Field(1000, description="number of coordinates")
    p: PosFloat = Field(1.0, description="signal decay |theta*_l(j)| = j^-(p+1)/2")
    q: Annotated[float, Field(ge=1.0)] = Field(1.0, description="misalignment l(j) = j^q")
    gamma: PosFloat = Field(1.5, description="kernel eigenvalues lambda_j = j^-gamma")


def memory(cfg: SequenceTaskConfig, m: MemoryContext) -> list[MemoryTerm]:
    return [MemoryTerm("task.N", "the sequence data", m.bytes_per_element * 4 * cfg.N * m.points)]


ENTRY = TaskEntry(
    SequenceTaskConfig,
    build=lambda cfg, key, dtype, ctx: sequence_model_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(0, 0, 0, 0, coordinates=cfg.N),
    data=SequenceData, memory=memory)
