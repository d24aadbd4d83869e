"""``[[monitors]] name = "kernel"``: :class:`mfsim.KernelMonitor`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._monitors.kernel import KERNEL_QUANTITIES, KernelMonitor
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import PosInt, Table


class KernelMonitorConfig(Table):
    """NTK on a subsample: drift, alignments, spectrum, eigenspace angles."""

    name: Literal["kernel"]
    subsample: Annotated[int, Field(ge=2, le=20_000)] = Field(
        256, description="training inputs the kernel is computed on (the first ones)")
    k: PosInt = Field(10, description="eigenpairs kept (eigenvalues, energy, angles)")
    quantities: Annotated[list[Literal[KERNEL_QUANTITIES]], Field(min_length=1)] = Field(
        default_factory=lambda: list(KERNEL_QUANTITIES), description="what to record")

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.quantities)) != len(self.quantities):
            raise error("duplicate", "lists a quantity twice", "quantities")
        return self


def memory(cfg: KernelMonitorConfig, m: MemoryContext, key: str) -> MonitorMemory:
    k = min(cfg.subsample, m.data.n_train)
    # Gram at init, at t and its eigendecomposition; per-input gradients
    elements = 4 * k * k + m.system.gram_work(k)
    return MonitorMemory(terms=(MemoryTerm(f"{key}.subsample", "the kernel monitor's Gram matrices",
                                     m.bytes_per_element * elements * m.batch),))


ENTRY = MonitorEntry(
    KernelMonitorConfig, KernelMonitor,
    lambda cfg, ctx: KernelMonitor(subsample=cfg.subsample, k=cfg.k,
                                   quantities=tuple(cfg.quantities)),
    memory=memory)
