"""``[task] kind = "committee_teacher"``: :func:`mfsim.committee_teacher_task`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._tasks.committee_teacher import committee_teacher_task
from ..._tasks.dataset import CommitteeDataset
from ..entry import DataSizes, TaskEntry, error
from ..table import NonNegFloat, PosInt, TaskTable, fields, shown


class CommitteeTeacherTaskConfig(TaskTable):
    """A soft committee teacher sum_n v_n erf(w_n . x / sqrt(2N)) + noise, Gaussian inputs."""

    kind: Literal["committee_teacher"] = "committee_teacher"
    d: PosInt = Field(500, description="input dimension N",
        json_schema_extra=shown("input dimension", r"$N$"))
    teacher_width: PosInt = Field(2, description="teacher units M",
        json_schema_extra=shown("teacher units", r"$M$"))
    teacher_v: Annotated[float, Field(allow_inf_nan=False)] = Field(
        1.0, description="the teacher's second-layer weights (all equal)")
    noise: NonNegFloat = Field(0.0, description="std sigma of the teacher's output noise "
                               "(training targets and online samples)",
                                   json_schema_extra=shown("label noise", r"$\sigma$"))
    orthogonal: bool = Field(True, description="orthogonal teacher vectors of norm sqrt(N) "
                             "(T = I exactly); false: Gaussian")
    n_train: PosInt = Field(256, description="training points (full-batch and mini-batch "
                            "runs; online SGD draws fresh samples)",
                                json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(1024, description="test points")

    @model_validator(mode="after")
    def _check(self):
        if self.orthogonal and self.teacher_width > self.d:
            raise error("teacher_width", "{m} orthogonal teacher vectors need d >= {m}",
                        "teacher_width", m=self.teacher_width)
        return self


ENTRY = TaskEntry(
    CommitteeTeacherTaskConfig,
    build=lambda cfg, key, dtype, ctx: committee_teacher_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, cfg.d, teacher_width=cfg.teacher_width),
    data=CommitteeDataset,
    samples=True)
