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
from .._monitors.invariants import InvariantDrift
from .._monitors.linear import LinearPredictor
from .._monitors.losses import TestLoss, TrainLoss
from .._monitors.movement import ParameterDistance, SingularValues, TrainOutputs
from .._monitors.sequence import LearnedKernel, Risk
from .._save_times import save_times
from .._system import AbstractSystem
from .._systems.constant_kernel import ConstantKernelFlow
from .._systems.linearized import Linearized
from .._systems.deep_linear import DeepLinearNetwork
from .._systems.diagonal_linear import DiagonalLinearNetwork
from .._systems.mlp import MLP
from .._systems.sequence_models import (
    AdaptiveSequenceModel,
    DiagonalSequenceModel,
    VanillaSequenceModel,
)
from .._systems.two_layer import TwoLayerNetwork
from .._tasks.dataset import Dataset
from .._tasks.linear_teacher import linear_teacher_task
from .._tasks.sequence import SequenceData, sequence_model_task
from .._tasks.sinusoids import sinusoid_task
from .._tasks.sparse import sparse_regression_task
from .._tasks.teacher import teacher_task
from .schema import Scenario

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


@dataclass(frozen=True)
class Built:
    """Everything needed to call :func:`mfsim.simulate` for a scenario.

    ``twins`` maps a variable prefix (the keys of ``mfsim._results.TWIN_LABELS``) to ``(twin system, its initial state)``, both built from
    ``state0``, the network's initial state; with twins, every run also
    records its training outputs.
    """

    data: Dataset
    system: AbstractSystem
    state0: object
    monitors: tuple[AbstractMonitor, ...]
    simulate_kwargs: dict
    twins: dict[str, tuple[AbstractSystem, object]]


TASKS = {
    "teacher": teacher_task,
    "sinusoids": sinusoid_task,
    "sparse_regression": sparse_regression_task,
    "linear_teacher": linear_teacher_task,
    "sequence": sequence_model_task,
}


def build_task(cfg, key, dtype) -> Dataset | SequenceData:
    return TASKS[cfg.kind](key, dtype=dtype, **cfg.model_dump(exclude={"kind"}))


def build_system(cfg, data) -> AbstractSystem:
    f = cfg.model_dump(exclude={"kind"})
    if cfg.kind == "two_layer":
        return TwoLayerNetwork(data.x_train, data.y_train, **{**f, "train": tuple(f["train"])})
    if cfg.kind == "mlp":
        return MLP(data.x_train, data.y_train, **{**f, "widths": tuple(f["widths"])})
    if cfg.kind == "deep_linear":
        return DeepLinearNetwork(data.x_train, data.y_train, **{**f, "widths": tuple(f["widths"])})
    if cfg.kind == "diagonal_linear":
        return DiagonalLinearNetwork(data.x_train, data.y_train, **f)
    sequence = {"vanilla_sequence": VanillaSequenceModel, "diagonal_sequence":
                DiagonalSequenceModel, "adaptive_sequence": AdaptiveSequenceModel}
    return sequence[cfg.kind](data, **f)


def build_monitors(scenario: Scenario, data, system, state0) -> tuple[AbstractMonitor, ...]:
    makers = {
        "train_loss": lambda m: TrainLoss(),
        "test_loss": lambda m: TestLoss(data.x_test, data.y_test),
        "param_distance": lambda m: ParameterDistance(),
        "train_outputs": lambda m: TrainOutputs(),
        "invariants": lambda m: InvariantDrift.of(system, state0),
        "risk": lambda m: Risk(),
        "learned_kernel": lambda m: LearnedKernel(k=min(m.k, data.z.shape[0])),
        "singular_values": lambda m: SingularValues(),
        "linear_predictor": lambda m: LinearPredictor(
            None if data.reference_particles is None else data.reference_particles[:, 0]),
    }
    return tuple(makers[m.name](m) for m in scenario.monitors)


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
    monitors = build_monitors(scenario, data, system, state0)
    twins = build_twins(scenario, system, state0, data)
    if twins:
        monitors = monitors + (TrainOutputs(),)
    return Built(data, system, state0, monitors, kwargs, twins)
