"""``[system] kind = "cnn"``: a :class:`mfsim.ConvNet` trained as a :class:`mfsim.Network`."""

from __future__ import annotations

from typing import Annotated, Literal

import jax
from pydantic import Field

from ..._systems.conv_net import CONV_PARAMETERIZATIONS, ConvNetInit
from ..._systems.network import ScalarNetwork, network
from ..._tasks.dataset import ImageDataset
from ..entry import DataSizes, SystemEntry, SystemMemory
from ..table import (
    LOSS_DESCRIPTION,
    Activation,
    Loss,
    NonNegFloat,
    PosFloat,
    PosInt,
    Table,
    shown,
)


class CNNConfig(Table):
    """Small convolutional network: conv layers, global average pooling, linear readout."""

    kind: Literal["cnn"] = "cnn"
    channels: Annotated[list[PosInt], Field(min_length=1)] = Field(
        default_factory=lambda: [16, 16], description="channels of the conv layers")
    kernel_size: PosInt = Field(3, description="filter side k ('SAME' padding, stride 1)")
    activation: Activation = Field("relu", description="phi", json_schema_extra=shown("activation", r""))
    parameterization: Literal["ntk", "standard"] = Field(
        "ntk", description="ntk (N(0,1) weights, multipliers sigma_w/sqrt(fan_in)) or standard "
        "(the multipliers folded into the stored weights, one learning rate)",
            json_schema_extra=shown("parameterization", r""))
    sigma_w: PosFloat = Field(1.0, description="weight std")
    sigma_b: NonNegFloat = Field(0.0, description="bias multiplier")
    bias: bool = Field(True, description="layers have biases")
    gamma0: PosFloat = Field(1.0, description="richness: f = h / gamma0, objective gamma0^2 "
                             "L(f); gamma0 -> 0 is the lazy limit",
                                 json_schema_extra=shown("richness", r"$\gamma_0$"))
    center: bool = Field(False, description="fit h - h0 (the output at init subtracted)")
    loss: Loss = Field("squared", description=LOSS_DESCRIPTION)
    time_scale: PosFloat = Field(1.0, description="tau: the flow is dtheta/dt = -tau grad J")


def recipe(cfg: CNNConfig, data) -> ConvNetInit:
    return ConvNetInit(in_channels=int(data.x_train.shape[1]), channels=tuple(cfg.channels),
                       kernel_size=cfg.kernel_size, activation=cfg.activation,
                       parameterization=CONV_PARAMETERIZATIONS[cfg.parameterization], sigma_w=cfg.sigma_w,
                       sigma_b=cfg.sigma_b, bias=cfg.bias, dtype=str(data.x_train.dtype))


def build(cfg: CNNConfig, data) -> ScalarNetwork:
    make = recipe(cfg, data)
    return network(make(jax.random.key(0)), data.x_train, data.y_train, gamma0=cfg.gamma0,
                   center=cfg.center, time_scale=cfg.time_scale, init_fn=make, loss=cfg.loss)


def memory(cfg: CNNConfig, data: DataSizes, platform: str) -> SystemMemory:
    _, h, w = data.shape if len(data.shape) == 3 else (data.d, 1, 1)
    activations = h * w * sum(cfg.channels)
    # pre-activations, activations, derivatives and cotangents per image; the
    # generic NTK's per-input gradients for a Gram matrix of k images
    return SystemMemory(4 * data.n_train * activations, "system.channels",
                        gram=lambda k, params: k * (params + 4 * activations),
                        field_key="system.channels and task.n_train")


ENTRY = SystemEntry(CNNConfig, ScalarNetwork, build, memory, data=ImageDataset)
