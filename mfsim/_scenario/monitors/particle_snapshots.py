"""``[[monitors]] name = "particle_snapshots"``: :class:`mfsim.ParticleSnapshots`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._monitors.particles import ParticleSnapshots
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import NonNegFloat, Table


class ParticleSnapshotsMonitor(Table):
    """All particles at chosen times (particle scatter plots)."""

    name: Literal["particle_snapshots"]
    times: Annotated[list[NonNegFloat], Field(min_length=1, max_length=100)] = Field(
        description="snapshot times, within [0, solver.t1]")


def check(cfg: ParticleSnapshotsMonitor, scenario, where: str):
    if max(cfg.times) > scenario.solver.t1:
        return error("monitor", "snapshot times must be within [0, solver.t1]", f"{where}.times")
    return None


def memory(cfg: ParticleSnapshotsMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    return MonitorMemory(terms=(MemoryTerm(f"{key}.times", "the particle snapshots",
                                     m.bytes_per_element * m.system.params * len(cfg.times)
                                     * m.batch),))


ENTRY = MonitorEntry(ParticleSnapshotsMonitor, ParticleSnapshots,
                     lambda cfg, ctx: ParticleSnapshots(times=tuple(cfg.times)),
                     memory=memory, check=check)
