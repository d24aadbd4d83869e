"""``[task] kind = "file"``: :func:`mfsim.file_task`, the user's own arrays."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._tasks.arrays import DataArrayError, check_arrays, file_task, read_arrays
from ..entry import DataSizes, TaskEntry, error
from ..table import TaskTable, fields

ArrayName = Annotated[str, Field(min_length=1, max_length=200)]


class FileTaskConfig(TaskTable):
    """Arrays from a .npz or netCDF file: inputs (n, d), targets (n,), train and test."""

    kind: Literal["file"] = "file"
    path: Annotated[str, Field(min_length=1, max_length=4096)] = Field(
        description="a .npz or .nc (netCDF) file, relative to the working directory")
    x_train: ArrayName = Field("x_train", description="name of the training inputs (n, d)")
    y_train: ArrayName = Field("y_train", description="name of the training targets (n,)")
    x_test: ArrayName = Field("x_test", description="name of the test inputs (n', d)")
    y_test: ArrayName = Field("y_test", description="name of the test targets (n',)")

    @model_validator(mode="after")
    def _check(self):
        try:
            self.arrays()
        except DataArrayError as e:
            raise error("data_file", "{detail}", "path", detail=str(e)) from None
        return self

    def arrays(self):
        names = fields(self, "path")
        return check_arrays(read_arrays(self.path), names, where=f"{self.path}: ")


def sizes(cfg: FileTaskConfig) -> DataSizes:
    a = cfg.arrays()
    return DataSizes(len(a["x_train"]), len(a["x_test"]), a["x_train"].shape[1])


ENTRY = TaskEntry(
    FileTaskConfig,
    build=lambda cfg, key, dtype, ctx: file_task(cfg.path, dtype=dtype, **fields(cfg, "path")),
    sizes=sizes)
