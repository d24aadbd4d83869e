"""``[system] kind = "diagonal_linear"``: :class:`mfsim.DiagonalLinearNetwork`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._systems.diagonal_linear import DiagonalLinearNetwork
from ..entry import DataSizes, SystemEntry, SystemMemory
from ..table import PosFloat, Table, fields, shown


class DiagonalLinearConfig(Table):
    """Diagonal linear network <u^D - v^D, x> from u = v = alpha."""

    kind: Literal["diagonal_linear"] = "diagonal_linear"
    alpha: PosFloat = Field(0.1, description="init scale", json_schema_extra=shown("init scale", r"$\alpha$"))
    depth: Annotated[int, Field(ge=2)] = Field(2, description="D", json_schema_extra=shown("depth", r"$D$"))
    time_scale: PosFloat = Field(
        1.0, description="tau: the flow is dtheta/dt = -tau grad L (was learning_rate; "
        "gradient descent's learning rate is solver.learning_rate)")


def build(cfg: DiagonalLinearConfig, data) -> DiagonalLinearNetwork:
    return DiagonalLinearNetwork(data.x_train, data.y_train, **fields(cfg))


def memory(cfg: DiagonalLinearConfig, data: DataSizes, platform: str) -> SystemMemory:
    return SystemMemory(2 * data.n_train * data.d, "task.d", field_key="task.d and task.n_train")


ENTRY = SystemEntry(DiagonalLinearConfig, DiagonalLinearNetwork, build, memory)
