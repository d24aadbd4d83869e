"""``[[monitors]] name = "learned_kernel"``: :class:`mfsim.LearnedKernel`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.sequence import LearnedKernel
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory
from ..table import PosInt, Table


class LearnedKernelMonitor(Table):
    """Learned kernel A D^2 A^T: top eigenvalues, share of theta* on them."""

    name: Literal["learned_kernel"]
    k: PosInt = Field(10, description="number of top eigenpairs")


def memory(cfg, m: MemoryContext, key: str) -> MonitorMemory:
    n = m.data.coordinates
    return MonitorMemory(terms=(MemoryTerm("task.N", "the learned kernel",
                                     3 * m.bytes_per_element * n**2 * m.batch),))


ENTRY = MonitorEntry(LearnedKernelMonitor, LearnedKernel,
                     lambda cfg, ctx: LearnedKernel(k=min(cfg.k, ctx.data.z.shape[0])),
                     memory=memory)
