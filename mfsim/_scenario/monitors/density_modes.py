"""``[[monitors]] name = "density_modes"``: :class:`mfsim.DensityModes` on Nyström
eigenfunctions of the system's infinite-width NTK under the task's input density."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import jax
import numpy as np
from pydantic import Field

from ..._kernels.nystrom import NystromEigenfunctions
from ..._monitors.density_modes import DensityModes
from ..._system import AbstractInfiniteWidthSystem
from ..._tasks.densities import sample_sphere
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import Table
from ..tasks.capabilities import SphereDensity


class DensityModesMonitor(Table):
    """Residual energy on the eigenfunctions of the NTK's operator under the input density."""

    name: Literal["density_modes"]
    modes: Annotated[int, Field(ge=1, le=256)] = Field(
        8, description="eigenfunctions, largest eigenvalue first")
    sample: Annotated[int, Field(ge=16, le=20_000)] = Field(
        2000, description="Nystrom sample size (drawn from the task's density)")
    sample_seed: Annotated[int, Field(ge=0, lt=2**32)] = Field(
        0, description="seed of the Nystrom sample")
    theory: bool = Field(False, description="also record the kernel flow's prediction "
                         "theory_mode_residual = c_i(0)^2 exp(-2 lambda_i t)")


def check(cfg: DensityModesMonitor, scenario, where: str):
    if cfg.modes > cfg.sample:
        return error("monitor", "modes must be at most sample ({n})", f"{where}.modes",
                     n=cfg.sample)
    return None


def build(cfg: DensityModesMonitor, ctx) -> DensityModes:
    task = ctx.scenario.task
    density, kappa = task.input_density()
    sample = sample_sphere(jax.random.key(cfg.sample_seed), cfg.sample, task.d,
                           density=density, kappa=kappa, radius=math.sqrt(task.d),
                           dtype=np.float64)
    eig = NystromEigenfunctions(ctx.system.analytic_ntk(), np.asarray(sample), cfg.modes)
    phi = np.asarray(eig(np.asarray(ctx.data.x_test, np.float64)))
    return DensityModes(ctx.data.x_test, ctx.data.y_test, phi,
                        eig.eigenvalues if cfg.theory else None)


def memory(cfg: DensityModesMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    # the Nystrom Gram matrix (float64, on the host) and the eigenfunctions at the test points
    return MonitorMemory(terms=(MemoryTerm(f"{key}.sample", "the Nystrom Gram matrix",
                                           3 * 8 * cfg.sample**2
                                           + 8 * m.data.n_test * (cfg.sample + cfg.modes)),))


ENTRY = MonitorEntry(DensityModesMonitor, DensityModes, build, memory=memory, check=check,
                     twin=True, requires=(AbstractInfiniteWidthSystem,),
                     task_needs=lambda cfg: {"name": (SphereDensity,)})
