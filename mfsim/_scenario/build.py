"""From a validated Scenario to the objects the numerical core takes.

Seeds: the scenario's ``seed`` gives ``key = jax.random.key(seed)``, split
into ``(task_key, init_key)``: the data and the initialization are drawn
from independent streams, so changing the width does not change the data.
Twins start from the network's initial state.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .._monitors.base import AbstractMonitor
from .._monitors.losses import TestLoss, TrainLoss
from .._monitors.movement import TrainOutputs
from .._save_times import save_times
from .._system import AbstractSystem
from .._systems.constant_kernel import ConstantKernelFlow
from .._systems.linearized import Linearized
from .._systems.two_layer import TwoLayerNetwork
from .._tasks.dataset import Dataset
from .._tasks.sinusoids import sinusoid_task
from .._tasks.teacher import teacher_task
from .schema import Scenario, SinusoidTaskConfig, TeacherTaskConfig, TwoLayerConfig

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


@dataclass(frozen=True)
class Built:
    """Everything needed to call :func:`mfsim.simulate` for a scenario.

    ``twins`` maps a variable prefix (``lin_``, ``ck_empirical_``,
    ``ck_analytic_``) to ``(twin system, its initial state)``, both built from
    ``state0``, the network's initial state; with twins, every run also
    records its training outputs.
    """

    data: Dataset
    system: AbstractSystem
    state0: object
    monitors: tuple[AbstractMonitor, ...]
    simulate_kwargs: dict
    twins: dict[str, tuple[AbstractSystem, object]]


def build_task(cfg, key, dtype) -> Dataset:
    fields = cfg.model_dump(exclude={"kind"})
    if isinstance(cfg, TeacherTaskConfig):
        return teacher_task(key, dtype=dtype, **fields)
    if isinstance(cfg, SinusoidTaskConfig):
        return sinusoid_task(key, dtype=dtype, **fields)
    raise TypeError(f"no builder for task {cfg.kind!r}")


def build_system(cfg, data: Dataset) -> AbstractSystem:
    if isinstance(cfg, TwoLayerConfig):
        fields = cfg.model_dump(exclude={"kind"})
        fields["train"] = tuple(fields["train"])
        return TwoLayerNetwork(data.x_train, data.y_train, **fields)
    raise TypeError(f"no builder for system {cfg.kind!r}")


def build_monitors(scenario: Scenario, data: Dataset) -> tuple[AbstractMonitor, ...]:
    makers = {
        "train_loss": lambda: TrainLoss(),
        "test_loss": lambda: TestLoss(data.x_test, data.y_test),
    }
    return tuple(makers[m.name]() for m in scenario.monitors)


def build_twins(scenario: Scenario, system, state0, data: Dataset) -> dict:
    twins = {}
    if scenario.compare.linearized:
        lin = Linearized(system, state0)
        twins["lin_"] = (lin, lin.state0)
    for kind in scenario.compare.kernels:
        ck = getattr(ConstantKernelFlow, f"{kind}_twin")(system, state0, data.x_test)
        twins[f"ck_{kind}_"] = (ck, ck.init())
    return twins


def build(scenario: Scenario) -> Built:
    dtype = DTYPES[scenario.dtype]
    task_key, init_key = jax.random.split(jax.random.key(scenario.seed))
    data = build_task(scenario.task, task_key, dtype)
    system = build_system(scenario.system, data)
    state0 = system.init(init_key)
    s, sv = scenario.solver, scenario.save
    ts = save_times(s.t1, sv.n, spacing=sv.spacing, t_first=sv.t_first)
    kwargs = dict(
        t1=s.t1, solver=s.name, dt=s.dt, rtol=s.rtol, atol=s.atol, adaptive=s.adaptive,
        max_steps=s.max_steps, save_times=np.asarray(ts),
    )
    monitors = build_monitors(scenario, data)
    twins = build_twins(scenario, system, state0, data)
    if twins:
        monitors = monitors + (TrainOutputs(),)
    return Built(data, system, state0, monitors, kwargs, twins)
