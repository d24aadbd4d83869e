"""``[[monitors]] name = "kernel_regression"``: :class:`mfsim.KernelRegression`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._monitors.kernel_regression import KERNEL_CHOICES, KernelRegression
from ..._system import AbstractInfiniteWidthSystem
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import NonNegFloat, Table


class KernelRegressionMonitor(Table):
    """Test loss of kernel regression with the network's NTK (now, at init, infinite width)."""

    name: Literal["kernel_regression"]
    kernels: Annotated[list[Literal[KERNEL_CHOICES]], Field(min_length=1)] = Field(
        default_factory=lambda: ["current", "init"],
        description="current: the NTK at each save time (at the end, the after-kernel); "
        "init: the NTK at initialization; analytic: the infinite-width NTK")
    ridge: NonNegFloat = Field(0.0, description="ridge, relative to the kernel's mean "
                               "eigenvalue (0: ridgeless)")

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.kernels)) != len(self.kernels):
            raise error("duplicate", "lists a kernel twice", "kernels")
        return self


def needs(cfg: KernelRegressionMonitor) -> dict[str, tuple[type, ...]]:
    return {"kernels": (AbstractInfiniteWidthSystem,)} if "analytic" in cfg.kernels else {}


def memory(cfg: KernelRegressionMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    n, k = m.data.n_train, m.data.n_test
    # a Gram matrix, its test block and its eigenvectors, per kernel kept or computed
    elements = (3 * n * n + k * n + m.system.gram_work(n)) * len(cfg.kernels)
    return MonitorMemory(terms=(MemoryTerm(f"{key}.kernels", "kernel-regression Gram matrices",
                                           m.bytes_per_element * elements * m.batch),))


ENTRY = MonitorEntry(
    KernelRegressionMonitor, KernelRegression,
    lambda cfg, ctx: KernelRegression(ctx.data.x_test, ctx.data.y_test, ridge=cfg.ridge,
                                      kernels=tuple(cfg.kernels)),
    memory=memory, needs=needs)
