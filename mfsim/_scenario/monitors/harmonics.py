"""``[[monitors]] name = "harmonics"``: :class:`mfsim.HarmonicEnergy`."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..._kernels.sphere import harmonic_multiplicity, sphere_eigenvalues
from ..._monitors.harmonics import HarmonicEnergy
from ..._system import AbstractInfiniteWidthSystem
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import Table
from ..tasks.capabilities import SphereInputs


class HarmonicsMonitor(Table):
    """Energy of the residual and the prediction per spherical-harmonic degree (sphere inputs)."""

    name: Literal["harmonics"]
    max_degree: Annotated[int, Field(ge=0, le=64)] = Field(
        4, description="degrees 0..max_degree (the test set must have at least as many "
        "points as there are harmonics of those degrees)")
    theory: bool = Field(
        False, description="also record the infinite-width kernel flow's prediction "
        "theory_harmonic_residual = E_l(0) exp(-2 mu_l t), mu_l the Funk-Hecke eigenvalues "
        "of the system's analytic NTK (degree l learned at t ~ 1/mu_l)")


def check(cfg: HarmonicsMonitor, scenario, where: str):
    task = scenario.task  # SphereInputs (task_needs)
    if not task.on_sphere():
        setting = f" (task.{task.sphere_setting} puts them there)" if task.sphere_setting else ""
        return error("monitor", "harmonics needs inputs on a sphere: task {task} as set draws "
                     "them elsewhere{setting}", f"{where}.name", task=task.kind, setting=setting)
    if not task.uniform_on_sphere():
        return error("monitor", "harmonics needs uniform inputs (on a concentrated sample the "
                     "degrees are not separable); use monitor density_modes", f"{where}.name")
    need = sum(harmonic_multiplicity(task.d, k) for k in range(cfg.max_degree + 1))
    if task.n_test < need:
        return error("monitor", "degrees up to {k} in d = {d} have {need} harmonics: "
                     "task.n_test must be at least that", f"{where}.max_degree",
                     k=cfg.max_degree, d=task.d, need=need)
    return None


def task_needs(cfg: HarmonicsMonitor) -> dict[str, tuple[type, ...]]:
    return {"name": (SphereInputs,)}


def needs(cfg: HarmonicsMonitor) -> dict[str, tuple[type, ...]]:
    return {"theory": (AbstractInfiniteWidthSystem,)} if cfg.theory else {}


def build(cfg: HarmonicsMonitor, ctx) -> HarmonicEnergy:
    x = np.asarray(ctx.data.x_test, np.float64)
    mu = None
    if cfg.theory:
        radius = float(np.mean(np.linalg.norm(x, axis=1)))
        mu = sphere_eigenvalues(ctx.system.analytic_ntk(), x.shape[1],
                                range(cfg.max_degree + 1), radius=radius)
    return HarmonicEnergy(ctx.data.x_test, ctx.data.y_test, cfg.max_degree, mu=mu)


def memory(cfg: HarmonicsMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    n = m.data.n_test
    return MonitorMemory(terms=(MemoryTerm(f"{key}.max_degree", "the harmonic bases",
                                           2 * m.bytes_per_element * n * n * m.batch),))


ENTRY = MonitorEntry(
    HarmonicsMonitor, HarmonicEnergy,
    build, memory=memory, check=check, needs=needs, task_needs=task_needs, twin=True)
