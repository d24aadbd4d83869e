"""``[task] kind = "linear_teacher"``: vector regression y = M x."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._tasks.linear_teacher import linear_teacher_task
from ..entry import DataSizes, TaskEntry, error
from ..table import NonNegFloat, PosFloat, PosInt, TaskTable, fields, shown
from .capabilities import WhitenedInputs


class LinearTeacherTaskConfig(TaskTable, WhitenedInputs):
    """Vector regression y = M x with M = U diag(s) V^T (random orthogonal U, V)."""

    kind: Literal["linear_teacher"] = "linear_teacher"
    d: PosInt = Field(8, description="input dimension", json_schema_extra=shown("input dimension", r"$d$"))
    d_out: PosInt = Field(4, description="output dimension")
    singular_values: Annotated[list[PosFloat], Field(min_length=1)] = Field(
        default_factory=lambda: [3.0, 2.0, 1.0, 0.5], description="singular values of M")
    n_train: PosInt = Field(256, description="number of training points",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(256, description="number of test points")
    whiten: bool = Field(True, description="whiten the training inputs ((1/n) X^T X = I)")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets",
        json_schema_extra=shown("label noise", r"$\sigma$"))

    @model_validator(mode="after")
    def _check(self):
        if len(self.singular_values) > min(self.d, self.d_out):
            raise error("rank", "at most min(d, d_out) = {r} values", "singular_values",
                        r=min(self.d, self.d_out))
        if self.whiten and self.n_train < self.d:
            raise error("whiten", "whitening needs n_train >= d", "whiten")
        return self

    def whitened(self) -> bool:
        return self.whiten


ENTRY = TaskEntry(
    LinearTeacherTaskConfig,
    build=lambda cfg, key, dtype, ctx: linear_teacher_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, cfg.d, cfg.d_out,
                                target_shape=(cfg.d_out,)),
    vector_targets=True)
