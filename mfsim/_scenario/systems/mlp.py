"""``[system] kind = "mlp"``: :class:`mfsim.MLP`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._systems.mlp import MLP
from ..entry import DataSizes, SystemEntry, SystemSizes
from ..table import Activation, NonNegFloat, PosFloat, PosInt, Table, fields


class MLPConfig(Table):
    """Deep fully connected network, stax NTK parameterization."""

    kind: Literal["mlp"] = "mlp"
    widths: Annotated[list[PosInt], Field(min_length=1)] = Field(
        default_factory=lambda: [512, 512], description="hidden widths")
    activation: Activation = Field("relu", description="phi")
    sigma_w: PosFloat = Field(1.0, description="weight std W_std (stax Dense)")
    sigma_b: NonNegFloat = Field(0.0, description="bias std b_std (stax Dense)")
    bias: bool = Field(True, description="layers have biases")


def build(cfg: MLPConfig, data) -> MLP:
    f = fields(cfg)
    return MLP(data.x_train, data.y_train, **{**f, "widths": tuple(f["widths"])})


def sizes(cfg: MLPConfig, data: DataSizes, platform: str) -> SystemSizes:
    dims = [data.d, *cfg.widths, 1]
    p = sum(a * b + b * int(cfg.bias) for a, b in zip(dims[:-1], dims[1:]))
    hidden = sum(cfg.widths)
    return SystemSizes(p, 4 * data.n_train * hidden + 2 * p, "system.widths",
                       gram=lambda k: 4 * k * hidden, field_key="system.widths and task.n_train")


ENTRY = SystemEntry(MLPConfig, MLP, build, sizes)
