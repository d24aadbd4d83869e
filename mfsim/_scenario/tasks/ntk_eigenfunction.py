"""``[task] kind = "ntk_eigenfunction"``: labels from the network's own NTK at init."""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from pydantic import Field, model_validator

from ..._system import (
    AbstractInfiniteWidthSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
)
from ..._systems.constant_kernel import EmpiricalKernel
from ..._tasks.dataset import Dataset
from ..._tasks.eigenfunction import ntk_eigenfunction_task
from ..entry import DataSizes, MemoryContext, MemoryTerm, TaskEntry, _dataset_terms, error
from ..table import PosInt, TaskTable, fields, shown


class EigenfunctionTaskConfig(TaskTable):
    """Labels sign(phi_j) of the j-th eigenvector of the network's NTK at init on the
    pooled train and test inputs (Ortiz-Jimenez et al.)."""

    kind: Literal["ntk_eigenfunction"] = "ntk_eigenfunction"
    d: PosInt = Field(8, description="input dimension", json_schema_extra=shown("input dimension", r"$d$"))
    n_train: PosInt = Field(256, description="number of training points",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(256, description="number of test points")
    index: PosInt = Field(1, description="j: eigenvector by decreasing eigenvalue (1 = top)",
        json_schema_extra=shown("eigenvector index", r"$j$"))
    kernel: Literal["empirical", "analytic"] = Field(
        "empirical", description="the network's NTK at init, or its infinite-width limit")
    inputs: Literal["gaussian", "sphere"] = Field("gaussian", description="input distribution")

    @model_validator(mode="after")
    def _check(self):
        if self.index > self.n_train + self.n_test:
            raise error("index", "must be at most n_train + n_test ({n}), the pooled inputs",
                        "index", n=self.n_train + self.n_test)
        if self.n_train + self.n_test > 20_000:
            raise error("size", "n_train + n_test must be at most 20000 (the Gram matrix is "
                        "eigendecomposed)", "n_train")
        return self


def build(cfg: EigenfunctionTaskConfig, key, dtype, ctx) -> Dataset:
    """The labels are an eigenvector of the network's own NTK at init: the
    network is initialized (from the run's ``init_key``, as it will be for
    training; its initial parameters do not depend on the data) and its kernel
    taken on the pooled inputs."""
    x, y = jnp.zeros((1, cfg.d), dtype), jnp.zeros((1,), dtype)
    probe = ctx.system_on(Dataset(x, y, x, y))
    if cfg.kernel == "empirical":
        kernel = EmpiricalKernel(probe, probe.init(ctx.init_key))
    else:
        kernel = probe.analytic_ntk()
    return ntk_eigenfunction_task(key, kernel, dtype=dtype, **fields(cfg, "kernel"))


def requires(cfg: EigenfunctionTaskConfig) -> tuple[type, ...]:
    if cfg.kernel == "empirical":
        return (AbstractSupervisedSystem, AbstractScalarOutputSystem)
    return (AbstractInfiniteWidthSystem, AbstractScalarOutputSystem)


def memory(cfg: EigenfunctionTaskConfig, m: MemoryContext) -> list[MemoryTerm]:
    pooled = cfg.n_train + cfg.n_test  # the Gram matrix of the pooled inputs, eigh
    return _dataset_terms(cfg, m) + [MemoryTerm(
        "task.n_train", "the eigenfunction task's NTK Gram matrix",
        m.bytes_per_element * (3 * pooled * pooled + m.system.gram_work(pooled)))]


ENTRY = TaskEntry(EigenfunctionTaskConfig, build=build,
                  sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, cfg.d),
                  requires=requires, memory=memory)
