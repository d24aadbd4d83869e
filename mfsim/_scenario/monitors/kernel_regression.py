"""``[[monitors]] name = "kernel_regression"``: :class:`mfsim.KernelRegression`."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ..._kernels.learning_curve import sphere_learning_curve
from ..._kernels.sphere import profile
from ..._monitors.kernel_regression import KERNEL_CHOICES, KernelRegression
from ..._system import AbstractInfiniteWidthSystem
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import NonNegFloat, Table
from ..tasks.capabilities import HarmonicTarget


class KernelRegressionMonitor(Table):
    """Test loss of kernel regression with the network's NTK (now, at init, infinite width)."""

    name: Literal["kernel_regression"]
    kernels: Annotated[list[Literal[KERNEL_CHOICES]], Field(min_length=1)] = Field(
        default_factory=lambda: ["current", "init"],
        description="current: the NTK at each save time (at the end, the after-kernel); "
        "init: the NTK at initialization; analytic: the infinite-width NTK")
    ridge: NonNegFloat = Field(0.0, description="ridge, relative to the kernel's mean "
                               "eigenvalue (0: ridgeless)")
    theory: bool = Field(
        False, description="also record kr_theory_test_loss, the test loss of kernel "
        "regression with the infinite-width NTK at this ridge and n_train that its spectrum "
        "predicts (eigenlearning, mfsim.sphere_learning_curve: Funk-Hecke eigenvalues, the "
        "target's power per degree, the label noise), averaged over training sets; needs "
        "uniform inputs on the sphere and a target of known degrees (task gegenbauer)")

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.kernels)) != len(self.kernels):
            raise error("duplicate", "lists a kernel twice", "kernels")
        return self


def needs(cfg: KernelRegressionMonitor) -> dict[str, tuple[type, ...]]:
    out = {"kernels": (AbstractInfiniteWidthSystem,)} if "analytic" in cfg.kernels else {}
    return {**out, "theory": (AbstractInfiniteWidthSystem,)} if cfg.theory else out


def task_needs(cfg: KernelRegressionMonitor) -> dict[str, tuple[type, ...]]:
    return {"theory": (HarmonicTarget,)} if cfg.theory else {}


def check(cfg: KernelRegressionMonitor, scenario, where: str):
    if cfg.theory and not scenario.task.uniform_on_sphere():  # HarmonicTarget (task_needs)
        return error("monitor", "the learning-curve theory needs uniform inputs on the sphere "
                     "(its eigenvalues are the Funk-Hecke ones)", f"{where}.theory")
    return None


def theory_test_loss(cfg: KernelRegressionMonitor, ctx) -> float:
    """The predicted test loss (1/2 the test error against the noiseless
    target: the test targets have no label noise), the ridge relative to the
    kernel's mean eigenvalue as the monitor's (on the sphere: K(x, x)), the
    label noise's variance (the task gives its standard deviation)."""
    task = ctx.scenario.task
    kernel = ctx.system.analytic_ntk()
    x = np.asarray(ctx.data.x_train, np.float64)
    d, radius = x.shape[1], float(np.mean(np.linalg.norm(x, axis=1)))
    diagonal = float(profile(kernel, d, np.array([1.0]), radius)[0])
    degrees, powers = task.degree_powers()
    curve = sphere_learning_curve(kernel, d, x.shape[0], cfg.ridge * diagonal,
                                  degrees=degrees, amplitudes=np.sqrt(powers),
                                  noise=task.label_noise() ** 2, radius=radius,
                                  max_degree=max(64, max(degrees)))
    return 0.5 * float(curve.test_error)


def build(cfg: KernelRegressionMonitor, ctx) -> KernelRegression:
    theory = theory_test_loss(cfg, ctx) if cfg.theory else None
    return KernelRegression(ctx.data.x_test, ctx.data.y_test, ridge=cfg.ridge,
                            kernels=tuple(cfg.kernels), theory=theory)


def memory(cfg: KernelRegressionMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    n, k = m.data.n_train, m.data.n_test
    # a Gram matrix, its test block and its eigenvectors, per kernel kept or computed
    elements = (3 * n * n + k * n + m.system.gram_work(n)) * len(cfg.kernels)
    return MonitorMemory(terms=(MemoryTerm(f"{key}.kernels", "kernel-regression Gram matrices",
                                           m.bytes_per_element * elements * m.batch),))


ENTRY = MonitorEntry(KernelRegressionMonitor, KernelRegression, build, memory=memory,
                     check=check, needs=needs, task_needs=task_needs)
