"""``[system] kind = "mlp"``: :class:`mfsim.MLP`."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, model_validator

from ..._system import AbstractInfiniteWidthSystem
from ..._systems.mlp import MLP
from ..entry import DataSizes, SystemEntry, SystemMemory, error
from ..table import (
    LOSS_DESCRIPTION,
    Activation,
    Loss,
    NonNegFloat,
    PosFloat,
    PosInt,
    Table,
    fields,
    shown,
)


class MLPConfig(Table):
    """Deep fully connected network: ntk, mup/mean_field or standard parameterization."""

    kind: Literal["mlp"] = "mlp"
    widths: Annotated[list[PosInt], Field(min_length=1)] = Field(
        default_factory=lambda: [512, 512], description="hidden widths")
    width: Optional[PosInt] = Field(
        None, description="every hidden layer's width (a sweepable alternative to widths: "
        "widths = [width] * depth)", json_schema_extra=shown("width", r"$m$"))
    depth: Optional[PosInt] = Field(
        None, description="number of hidden layers with system.width (default: "
        "len(widths))", json_schema_extra=shown("depth", r"$L$"))
    activation: Activation = Field("relu", description="phi", json_schema_extra=shown("activation", r""))
    sigma_w: PosFloat = Field(1.0, description="weight std W_std (stax Dense)")
    sigma_b: NonNegFloat = Field(0.0, description="bias std b_std (stax Dense)")
    bias: bool = Field(True, description="layers have biases")
    parameterization: Literal["ntk", "mup", "mean_field", "standard"] = Field(
        "ntk", description="ntk (stax), mup = mean_field (readout / n_L, time scale n_L: "
        "features move O(1) at any width) or standard (one learning rate for the weights "
        "as stored)", json_schema_extra=shown("parameterization", r""))
    gamma0: PosFloat = Field(1.0, description="richness: f = h / gamma0, objective gamma0^2 "
                             "L(f); gamma0 -> 0 is the lazy limit",
                                 json_schema_extra=shown("richness", r"$\gamma_0$"))
    center: bool = Field(False, description="fit h - h0 (the output at init subtracted)")
    loss: Loss = Field("squared", description=LOSS_DESCRIPTION)


    @model_validator(mode="after")
    def _check(self):
        if self.width is not None and "widths" in self.model_fields_set:
            raise error("both", "set widths, or width (and depth), not both", "width")
        if self.depth is not None and self.width is None:
            raise error("depth", "depth needs width (widths already gives the depth)", "depth")
        return self


def hidden_widths(cfg: MLPConfig) -> tuple[int, ...]:
    """``widths``, or ``[width] * depth``."""
    if cfg.width is None:
        return tuple(cfg.widths)
    return (cfg.width,) * (cfg.depth or len(cfg.widths))


def build(cfg: MLPConfig, data) -> MLP:
    f = fields(cfg, "width", "depth")
    return MLP(data.x_train, data.y_train, **{**f, "widths": hidden_widths(cfg)})


def memory(cfg: MLPConfig, data: DataSizes, platform: str) -> SystemMemory:
    hidden = sum(hidden_widths(cfg))
    return SystemMemory(4 * data.n_train * hidden, "system.widths",
                        gram=lambda k, params: 4 * k * hidden,
                        field_key="system.widths and task.n_train")


def lacks(cfg: MLPConfig) -> dict[type, str]:
    if cfg.parameterization == "ntk":
        return {}
    return {AbstractInfiniteWidthSystem: f"system.parameterization = {cfg.parameterization} "
            "has no infinite-width kernel (the NTK of h vanishes under mup and grows under "
            "standard); use ntk"}


ENTRY = SystemEntry(MLPConfig, MLP, build, memory, lacks=lacks)
