"""``[[monitors]] name = "fourier"``: :class:`mfsim.FourierCoefficients`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.spectral import FourierCoefficients
from ..._tasks.sinusoids import grid_positions
from ..entry import MonitorEntry, MonitorMemory, error
from ..table import PosInt, Table
from ..tasks.capabilities import PeriodicGrid


class FourierMonitor(Table):
    """Fourier coefficients of the prediction on the test grid (task sinusoids)."""

    name: Literal["fourier"]
    frequencies: list[PosInt] | None = Field(
        None, description="integer frequencies (default: the task's frequencies)")


def build(cfg: FourierMonitor, ctx) -> FourierCoefficients:
    task, data = ctx.scenario.task, ctx.data
    s = grid_positions(task.grid_points(), data.x_test.dtype)
    freqs = tuple(int(f) for f in (cfg.frequencies or task.target_frequencies()))
    return FourierCoefficients(x=data.x_test, s=s, target=data.y_test, frequencies=freqs)


def check(cfg: FourierMonitor, scenario, where: str):
    task = scenario.task  # PeriodicGrid (task_needs)
    freqs = cfg.frequencies or task.target_frequencies()
    if any(float(f) != int(f) or f <= 0 for f in freqs):
        return error("monitor", "fourier needs positive integer frequencies; set "
                     "{where}.frequencies or use integer task.frequencies",
                     f"{where}.frequencies", where=where)
    if 2 * max(freqs) >= task.grid_points():
        return error("monitor", "frequencies must be below task.n_test / 2 (the test grid)",
                     f"{where}.frequencies")
    return None


ENTRY = MonitorEntry(FourierMonitor, FourierCoefficients, build, check=check, twin=True,
                     task_needs=lambda cfg: {"name": (PeriodicGrid,)},
                     memory=lambda cfg, m, key: MonitorMemory(saved=m.data.n_test))
