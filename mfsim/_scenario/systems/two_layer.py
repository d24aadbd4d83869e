"""``[system] kind = "two_layer"``: :class:`mfsim.TwoLayerNetwork`."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, model_validator

from ..._systems.two_layer import TwoLayerNetwork, auto_block
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


class TwoLayerConfig(Table):
    """Two-layer network ``alpha c_m sum_j v_j phi(w_j . x + b_j)``."""

    kind: Literal["two_layer"] = "two_layer"
    width: PosInt = Field(512, description="number of neurons m", json_schema_extra=shown("width", r"$m$"))
    parameterization: Literal["mean_field", "ntk", "mup"] = Field(
        "mean_field", description="c_m = 1/m and time scale m (mean_field), c_m = 1/sqrt(m) "
        "(ntk), or mean_field with input multiplier 1/sqrt(d) and w_j ~ N(0, sigma_w^2 I) "
        "(mup: the input layer trains d times slower than in mean_field)",
            json_schema_extra=shown("parameterization", r""))
    activation: Activation = Field("relu", description="phi", json_schema_extra=shown("activation", r""))
    scale: PosFloat = Field(1.0, description="output scale alpha (objective L(alpha h)/alpha^2)",
        json_schema_extra=shown("output scale", r"$\alpha$"))
    gamma0: Optional[PosFloat] = Field(
        None, description="richness gamma0 = 1/alpha, the knob's name in system mlp "
        "(set scale or gamma0, not both)", json_schema_extra=shown("richness", r"$\gamma_0$"))
    bias: bool = Field(False, description="hidden biases b_j")
    train: Annotated[list[Literal["hidden", "output"]], Field(min_length=1)] = Field(
        default_factory=lambda: ["hidden", "output"], description="layers that train"
    )
    init: Literal["gaussian", "symmetric"] = Field(
        "gaussian", description="i.i.d. neurons, or mirrored pairs (zero output at init)")
    center: bool = Field(False, description="subtract the output at initialization")
    sigma_v: NonNegFloat = Field(1.0, description="v_j ~ N(0, sigma_v^2)")
    sigma_w: NonNegFloat = Field(1.0, description="w_j ~ N(0, sigma_w^2 I / d) (mup: N(0, sigma_w^2 I))")
    sigma_b: NonNegFloat = Field(1.0, description="b_j ~ N(0, sigma_b^2)")
    loss: Loss = Field("squared", description=LOSS_DESCRIPTION)
    block: Optional[Annotated[int, Field(ge=0)]] = Field(
        None, description="neurons per block when summing the output (memory O(n block) "
        "instead of O(n m); 0: no blocking; unset: automatic, by device and n m)")
    fused: bool = Field(False, description="the gradient by fused Pallas kernels that never "
                        "hold the n x m pre-activations (GPUs; interpret mode elsewhere: "
                        "exact but slow)")

    @model_validator(mode="after")
    def _check(self):
        if self.init == "symmetric" and self.width % 2:
            raise error("odd_width", "symmetric init needs an even width; got {width}",
                        "width", width=self.width)
        if len(set(self.train)) != len(self.train):
            raise error("duplicate", "lists a layer twice", "train")
        if self.gamma0 is not None and "scale" in self.model_fields_set:
            raise error("both", "set scale or gamma0 (= 1/scale), not both", "gamma0")
        return self


def build(cfg: TwoLayerConfig, data) -> TwoLayerNetwork:
    f = fields(cfg, "gamma0")
    if cfg.gamma0 is not None:
        f["scale"] = 1.0 / cfg.gamma0
    return TwoLayerNetwork(data.x_train, data.y_train, **{**f, "train": tuple(f["train"])})


def memory(cfg: TwoLayerConfig, data: DataSizes, platform: str) -> SystemMemory:
    m, n = cfg.width, data.n_train
    block = cfg.block if cfg.block is not None else auto_block(n, m, platform)
    if cfg.fused:  # a tile of inputs by a tile of neurons at a time
        block = min(m, 64)
    # pre-activations, activations, derivatives and the gradient's cotangents
    # of a block of neurons; an NTK Gram matrix of k inputs uses k x width
    # features per layer
    return SystemMemory(4 * n * (min(block, m) if block else m), "system.width",
                        gram=lambda k, params: 3 * k * m,
                        field_key="system.width and task.n_train")


ENTRY = SystemEntry(TwoLayerConfig, TwoLayerNetwork, build, memory)
