"""``[[monitors]] name = "harmonics"``: :class:`mfsim.HarmonicEnergy`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._kernels.sphere import harmonic_multiplicity
from ..._monitors.harmonics import HarmonicEnergy
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import Table


class HarmonicsMonitor(Table):
    """Energy of the residual and the prediction per spherical-harmonic degree (sphere inputs)."""

    name: Literal["harmonics"]
    max_degree: Annotated[int, Field(ge=0, le=64)] = Field(
        4, description="degrees 0..max_degree (the test set must have at least as many "
        "points as there are harmonics of those degrees)")


def check(cfg: HarmonicsMonitor, scenario, where: str):
    task = scenario.task
    on_sphere = task.kind == "gegenbauer" or task.model_dump().get("inputs") == "sphere"
    if not on_sphere:
        return error("monitor", "harmonics needs inputs on a sphere: task gegenbauer, or "
                     "task teacher with inputs = \"sphere\"", f"{where}.name")
    need = sum(harmonic_multiplicity(task.d, k) for k in range(cfg.max_degree + 1))
    if task.n_test < need:
        return error("monitor", "degrees up to {k} in d = {d} have {need} harmonics: "
                     "task.n_test must be at least that", f"{where}.max_degree",
                     k=cfg.max_degree, d=task.d, need=need)
    return None


def memory(cfg: HarmonicsMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    n = m.data.n_test
    return MonitorMemory(terms=(MemoryTerm(f"{key}.max_degree", "the harmonic bases",
                                           2 * m.bytes_per_element * n * n * m.batch),))


ENTRY = MonitorEntry(
    HarmonicsMonitor, HarmonicEnergy,
    lambda cfg, ctx: HarmonicEnergy(ctx.data.x_test, ctx.data.y_test, cfg.max_degree),
    memory=memory, check=check, twin=True)
