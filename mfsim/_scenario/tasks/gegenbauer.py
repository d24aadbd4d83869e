"""``[task] kind = "gegenbauer"``: :func:`mfsim.gegenbauer_task`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._tasks.gegenbauer import gegenbauer_task
from ..entry import DataSizes, TaskEntry, error
from ..table import NonNegFloat, PosInt, TaskTable, fields, shown
from .capabilities import HarmonicTarget, SphereDensity


class GegenbauerTaskConfig(TaskTable, SphereDensity, HarmonicTarget):
    """Inputs uniform on the sphere, targets sum_k c_k Q_k(beta . x) (Gegenbauer degrees)."""

    kind: Literal["gegenbauer"] = "gegenbauer"
    d: Annotated[int, Field(ge=2)] = Field(8, description="input dimension (the sphere of "
                                           "radius sqrt(d) in R^d)",
                                               json_schema_extra=shown("input dimension", r"$d$"))
    n_train: PosInt = Field(256, description="number of training points",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(1024, description="number of test points")
    degrees: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)] = Field(
        default_factory=lambda: [1, 2, 4], description="Gegenbauer degrees k in the target")
    amplitudes: list[float] | None = Field(
        None, description="c_k per degree: the target's energy in degree k is c_k^2 "
        "(default 1 each)")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets",
        json_schema_extra=shown("label noise", r"$\sigma$"))
    density: Literal["uniform", "vmf"] = Field(
        "uniform", description="input density on the sphere: uniform, or von Mises-Fisher "
        "around e_1 (density proportional to exp(kappa x_1 / |x|))")
    kappa: NonNegFloat = Field(0.0, description="vmf concentration (0: uniform)",
        json_schema_extra=shown("concentration", r"$\kappa$"))

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.degrees)) != len(self.degrees):
            raise error("duplicate", "lists a degree twice", "degrees")
        if self.amplitudes is not None and len(self.amplitudes) != len(self.degrees):
            raise error("amplitudes", "needs one amplitude per degree ({n})", "amplitudes",
                        n=len(self.degrees))
        return self

    def on_sphere(self) -> bool:
        return True

    def uniform_on_sphere(self) -> bool:
        return self.density == "uniform" or self.kappa == 0

    def input_density(self) -> tuple[str, float]:
        return self.density, self.kappa

    def degree_powers(self) -> tuple[list[int], list[float]]:
        amplitudes = self.amplitudes or [1.0] * len(self.degrees)
        return list(self.degrees), [a * a for a in amplitudes]

    def label_noise(self) -> float:
        return self.noise


ENTRY = TaskEntry(
    GegenbauerTaskConfig,
    build=lambda cfg, key, dtype, ctx: gegenbauer_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, cfg.d))
