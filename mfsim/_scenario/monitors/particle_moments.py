"""``[[monitors]] name = "particle_moments"``: :class:`mfsim.ParticleMoments`."""

from __future__ import annotations

from typing import Literal

from ..._monitors.particles import ParticleMoments
from ..entry import MonitorEntry
from ..table import Table


class ParticleMomentsMonitor(Table):
    """Mean, variance and second moment of the particles."""

    name: Literal["particle_moments"]


ENTRY = MonitorEntry(ParticleMomentsMonitor, ParticleMoments, lambda cfg, ctx: ParticleMoments())
