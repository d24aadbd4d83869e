"""``[task] kind = "conv_teacher"``: :func:`mfsim.conv_teacher_task`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._tasks.conv_teacher import conv_teacher_task
from ..._tasks.dataset import ImageDataset
from ..entry import DataSizes, TaskEntry
from ..table import Activation, NonNegFloat, PosInt, TaskTable, fields, shown


class ConvTeacherTaskConfig(TaskTable):
    """Gaussian images labelled by a random convolutional teacher (filters, pooling)."""

    kind: Literal["conv_teacher"] = "conv_teacher"
    channels: PosInt = Field(1, description="image channels c")
    size: PosInt = Field(8, description="image side s (images are c x s x s)")
    n_train: PosInt = Field(128, description="number of training images",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(512, description="number of test images")
    teacher_filters: PosInt = Field(4, description="teacher filters k (output weights +-1)")
    kernel_size: PosInt = Field(3, description="teacher filter side r")
    activation: Activation = Field("relu", description="teacher activation")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets "
                               "(targets have unit variance)",
                                   json_schema_extra=shown("label noise", r"$\sigma$"))


ENTRY = TaskEntry(
    ConvTeacherTaskConfig,
    build=lambda cfg, key, dtype, ctx: conv_teacher_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, cfg.channels * cfg.size**2,
                                shape=(cfg.channels, cfg.size, cfg.size)),
    data=ImageDataset)
