"""``[system] kind = "deep_linear"``: :class:`mfsim.DeepLinearNetwork`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..._systems.deep_linear import DeepLinearNetwork
from ..entry import DataSizes, SystemEntry, SystemMemory, error
from ..table import NonNegFloat, PosFloat, PosInt, Table, fields, shown


class DeepLinearConfig(Table):
    """Deep linear network W_L ... W_1 x."""

    kind: Literal["deep_linear"] = "deep_linear"
    widths: list[PosInt] = Field(default_factory=lambda: [8], description="hidden widths")
    init: Literal["gaussian", "orthogonal", "balanced", "aligned", "lambda_balanced"] = Field(
        "balanced", description="initialization of the layers (aligned: every mode at strength "
        "scale along the data's input-output modes, Saxe et al.)")
    scale: NonNegFloat = Field(0.01, description="init scale sigma (aligned: the mode strength "
                               "u0)", json_schema_extra=shown("init scale", r"$\sigma$"))
    lam: float = Field(0.0, description="lambda of lambda_balanced init")
    time_scale: PosFloat = Field(
        1.0, description="tau: the flow is dtheta/dt = -tau grad L (was learning_rate; "
        "gradient descent's learning rate is solver.learning_rate)")

    @model_validator(mode="after")
    def _check(self):
        if self.init == "lambda_balanced" and len(self.widths) != 1:
            raise error("lambda_balanced", "lambda_balanced needs one hidden width", "widths")
        return self


def build(cfg: DeepLinearConfig, data) -> DeepLinearNetwork:
    f = fields(cfg)
    return DeepLinearNetwork(data.x_train, data.y_train, **{**f, "widths": tuple(f["widths"])})


def memory(cfg: DeepLinearConfig, data: DataSizes, platform: str) -> SystemMemory:
    dims = [data.d, *cfg.widths, data.d_out]
    return SystemMemory(2 * data.n_train * sum(dims), "system.widths",
                        field_key="system.widths and task.n_train")


ENTRY = SystemEntry(DeepLinearConfig, DeepLinearNetwork, build, memory)
