"""``[task] kind = "sinusoids"``: :func:`mfsim.sinusoid_task`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._tasks.sinusoids import sinusoid_task
from ..entry import DataSizes, TaskEntry, error
from ..table import NonNegFloat, PosFloat, PosInt, TaskTable, fields, shown
from .capabilities import PeriodicGrid


class SinusoidTaskConfig(TaskTable, PeriodicGrid):
    """A 1-D sum of sinusoids on [0, 1) or the circle."""

    kind: Literal["sinusoids"] = "sinusoids"
    frequencies: Annotated[list[PosFloat], Field(min_length=1)] = Field(
        default_factory=lambda: [1.0, 4.0], description="frequencies f_k"
    )
    amplitudes: list[float] | None = Field(None, description="amplitudes A_k (default 1)")
    phases: list[float] | None = Field(None, description="phases p_k (default 0)")
    n_train: PosInt = Field(64, description="number of training points",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(256, description="number of test points (a regular grid)")
    domain: Literal["interval", "circle"] = Field(
        "interval", description="x in [0, 1), or x embedded as (cos 2 pi x, sin 2 pi x)")
    grid: bool = Field(False, description="training positions on a regular grid")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets",
        json_schema_extra=shown("label noise", r"$\sigma$"))

    @model_validator(mode="after")
    def _lengths_match(self):
        for key in ("amplitudes", "phases"):
            value = getattr(self, key)
            if value is not None and len(value) != len(self.frequencies):
                raise error("length_mismatch", "must have one entry per frequency ({n})", key,
                            n=len(self.frequencies))
        return self

    def target_frequencies(self) -> list[float]:
        return list(self.frequencies)

    def grid_points(self) -> int:
        return self.n_test


ENTRY = TaskEntry(
    SinusoidTaskConfig,
    build=lambda cfg, key, dtype, ctx: sinusoid_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, 1 if cfg.domain == "interval" else 2))
