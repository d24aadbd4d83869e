"""``[task] kind = "sparse_regression"``: :func:`mfsim.sparse_regression_task`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..._tasks.sparse import sparse_regression_task
from ..entry import DataSizes, TaskEntry, error
from ..table import NonNegFloat, PosFloat, PosInt, TaskTable, fields, shown
from .capabilities import LinearRegression


class SparseRegressionTaskConfig(TaskTable, LinearRegression):
    """Sparse linear regression, n < d: the implicit-bias testbed."""

    kind: Literal["sparse_regression"] = "sparse_regression"
    d: PosInt = Field(40, description="number of features",
        json_schema_extra=shown("input dimension", r"$d$"))
    n_train: PosInt = Field(20, description="number of training points",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(200, description="number of test points")
    sparsity: PosInt = Field(2, description="non-zeros of beta*")
    signal: PosFloat = Field(1.0, description="magnitude of the non-zeros")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets",
        json_schema_extra=shown("label noise", r"$\sigma$"))

    @model_validator(mode="after")
    def _check(self):
        if self.sparsity > self.d:
            raise error("sparsity", "must not exceed d ({d})", "sparsity", d=self.d)
        return self

    def underdetermined(self) -> bool:
        return self.n_train < self.d


ENTRY = TaskEntry(
    SparseRegressionTaskConfig,
    build=lambda cfg, key, dtype, ctx: sparse_regression_task(key, dtype=dtype, **fields(cfg)),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, cfg.d))
