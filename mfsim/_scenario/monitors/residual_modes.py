"""``[[monitors]] name = "residual_modes"``: :class:`mfsim.ResidualModes`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.spectral import ResidualModes
from ..._system import AbstractScalarOutputSystem, AbstractSupervisedSystem
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory
from ..table import PosInt, Table


class ResidualModesMonitor(Table):
    """Training residual on the top eigenvectors of the NTK at init."""

    name: Literal["residual_modes"]
    k: PosInt = Field(10, description="number of eigenvectors")


def memory(cfg: ResidualModesMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    n = m.data.n_train
    return MonitorMemory(terms=(MemoryTerm(key, "the NTK eigenvectors of residual_modes",
                                     m.bytes_per_element * (3 * n * n + m.system.gram_work(n))),))


# the basis is computed once from the network's NTK, and shared with its twins
ENTRY = MonitorEntry(ResidualModesMonitor, ResidualModes,
                     lambda cfg, ctx: ResidualModes.of(ctx.system, ctx.state0, k=cfg.k),
                     memory=memory, twin=True,
                     requires=(AbstractSupervisedSystem, AbstractScalarOutputSystem))
