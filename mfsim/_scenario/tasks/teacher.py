"""``[task] kind = "teacher"``: :func:`mfsim.teacher_task`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..._tasks.teacher import teacher_task
from ..entry import DataSizes, TaskEntry
from ..table import Activation, NonNegFloat, PosInt, TaskTable, fields, shown
from .capabilities import SphereInputs, TeacherNeurons


class TeacherTaskConfig(TaskTable, SphereInputs, TeacherNeurons):
    """Targets from a two-layer teacher network ``(1/k) sum_i a_i phi(u_i . x)``."""

    kind: Literal["teacher"] = "teacher"
    d: PosInt = Field(16, description="input dimension", json_schema_extra=shown("input dimension", r"$d$"))
    n_train: PosInt = Field(256, description="number of training points",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(1024, description="number of test points")
    teacher_width: PosInt = Field(4, description="teacher neurons k",
        json_schema_extra=shown("teacher width", r"$k$"))
    activation: Activation = Field("relu", description="teacher activation")
    inputs: Literal["gaussian", "sphere"] = Field("gaussian", description="input distribution")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets",
        json_schema_extra=shown("label noise", r"$\sigma$"))

    sphere_setting: ClassVar[str] = 'inputs = "sphere"'

    def on_sphere(self) -> bool:
        return self.inputs == "sphere"


ENTRY = TaskEntry(
    TeacherTaskConfig,
    build=lambda cfg, key, dtype, ctx: teacher_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, cfg.d,
                                teacher_width=cfg.teacher_width), samples=True)
