"""``[system] kind = "mlp"``: :class:`mfsim.MLP`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._systems.mlp import MLP
from ..entry import DataSizes, SystemEntry, SystemSizes
from ..table import Activation, NonNegFloat, PosFloat, PosInt, Table, fields


class MLPConfig(Table):
    """Deep fully connected network: ntk, mup/mean_field or standard parameterization."""

    kind: Literal["mlp"] = "mlp"
    widths: Annotated[list[PosInt], Field(min_length=1)] = Field(
        default_factory=lambda: [512, 512], description="hidden widths")
    activation: Activation = Field("relu", description="phi")
    sigma_w: PosFloat = Field(1.0, description="weight std W_std (stax Dense)")
    sigma_b: NonNegFloat = Field(0.0, description="bias std b_std (stax Dense)")
    bias: bool = Field(True, description="layers have biases")
    parameterization: Literal["ntk", "mup", "mean_field", "standard"] = Field(
        "ntk", description="ntk (stax), mup = mean_field (readout / n_L, time scale n_L: "
        "features move O(1) at any width) or standard (one learning rate for the weights "
        "as stored)")
    gamma0: PosFloat = Field(1.0, description="richness: f = h / gamma0, objective gamma0^2 "
                             "L(f); gamma0 -> 0 is the lazy limit")
    center: bool = Field(False, description="fit h - h0 (the output at init subtracted)")


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
