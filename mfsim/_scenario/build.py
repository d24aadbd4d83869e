"""From a validated Scenario to the objects the numerical core takes.

Seeds: the scenario's ``seed`` gives ``key = jax.random.key(seed)``, split
into ``(task_key, init_key)``: the data and the initialization are drawn
from independent streams, so changing the width does not change the data.
``task.seed = s`` draws the data from ``jax.random.key(s)`` instead (the
data of a run with ``seed = s``), so that a sweep over ``seed`` varies the
initialization alone. Twins start from the network's initial state.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .._monitors.base import AbstractMonitor
from .._monitors.invariants import InvariantDrift
from .._monitors.kernel import KernelMonitor
from .._monitors.linear import LinearPredictor
from .._monitors.losses import TestAccuracy, TestLoss, TrainLoss
from .._monitors.movement import (
    ParameterDistance,
    Predictions,
    SingularValues,
    TrainOutputs,
)
from .._monitors.particles import ParticleMoments, ParticleSnapshots
from .._monitors.sequence import LearnedKernel, Risk
from .._monitors.spectral import FourierCoefficients, ResidualModes
from .._monitors.wasserstein import Wasserstein
from .._save_times import save_times
from .._system import AbstractSystem
from .._systems.constant_kernel import ConstantKernelFlow, EmpiricalKernel
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
from .._tasks.eigenfunction import ntk_eigenfunction_task
from .._tasks.linear_teacher import linear_teacher_task
from .._tasks.sequence import SequenceData, sequence_model_task
from .._tasks.sinusoids import sinusoid_task, grid_positions
from .._tasks.sparse import sparse_regression_task
from .._tasks.teacher import teacher_task
from .schema import Scenario

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


@dataclass(frozen=True)
class Built:
    """Everything needed to call :func:`mfsim.simulate` for a scenario.

    ``twins`` maps a variable prefix (the keys of ``mfsim._results.TWIN_LABELS``)
    to ``(twin system, its initial state)``, both built from ``state0``, the
    network's initial state; twins record ``twin_monitors``, the
    function-space monitors of the scenario (``TWIN_MONITORS``), and with
    twins every run also records its training outputs.
    """

    data: Dataset
    system: AbstractSystem
    state0: object
    monitors: tuple[AbstractMonitor, ...]
    simulate_kwargs: dict
    twins: dict[str, tuple[AbstractSystem, object]]
    twin_monitors: tuple[AbstractMonitor, ...] = ()


TASKS = {
    "teacher": teacher_task,
    "sinusoids": sinusoid_task,
    "sparse_regression": sparse_regression_task,
    "linear_teacher": linear_teacher_task,
    "sequence": sequence_model_task,
}


def build_task(cfg, key, dtype) -> Dataset | SequenceData:
    return TASKS[cfg.kind](key, dtype=dtype, **cfg.model_dump(exclude={"kind", "seed"}))


def build_eigenfunction_task(scenario: Scenario, task_key, init_key, dtype) -> Dataset:
    """The labels are an eigenvector of the network's own NTK at init: the
    network is initialized (from ``init_key``, as it will be for training;
    its initial parameters do not depend on the data) and its kernel taken
    on the pooled inputs."""
    cfg = scenario.task
    x, y = jnp.zeros((1, cfg.d), dtype), jnp.zeros((1,), dtype)
    probe = build_system(scenario.system, Dataset(x, y, x, y))
    if cfg.kernel == "empirical":
        kernel = EmpiricalKernel(probe, probe.init(init_key))
    else:
        kernel = probe.analytic_ntk()
    return ntk_eigenfunction_task(task_key, kernel, dtype=dtype,
                                  **cfg.model_dump(exclude={"kind", "kernel", "seed"}))


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


# the monitors a kernel twin records too (function-space ones: a twin has
# no particles, and its kernel is constant by construction)
TWIN_MONITORS = ("train_loss", "test_loss", "test_accuracy", "test_outputs", "fourier",
                 "residual_modes")


def _fourier(cfg, scenario: Scenario, data: Dataset) -> FourierCoefficients:
    task = scenario.task
    s = grid_positions(task.n_test, data.x_test.dtype)
    freqs = tuple(int(f) for f in (cfg.frequencies or task.frequencies))
    return FourierCoefficients(x=data.x_test, s=s, target=data.y_test, frequencies=freqs)


def build_monitor(cfg, scenario: Scenario, data, system, state0) -> AbstractMonitor:
    """One monitor from its scenario table."""
    name = cfg.name
    if name == "train_loss":
        return TrainLoss()
    if name == "test_loss":
        return TestLoss(data.x_test, data.y_test)
    if name == "test_outputs":
        return Predictions(data.x_test)
    if name == "test_accuracy":
        return TestAccuracy(data.x_test, data.y_test)
    if name == "param_distance":
        return ParameterDistance.of(system, state0, tol=cfg.tol)
    if name == "train_outputs":
        return TrainOutputs()
    if name == "invariants":
        return InvariantDrift.of(system, state0)
    if name == "risk":
        return Risk()
    if name == "learned_kernel":
        return LearnedKernel(k=min(cfg.k, data.z.shape[0]))
    if name == "singular_values":
        return SingularValues()
    if name == "linear_predictor":
        return LinearPredictor(
            None if data.reference_particles is None else data.reference_particles[:, 0])
    if name == "kernel":
        return KernelMonitor(subsample=cfg.subsample, k=cfg.k, quantities=tuple(cfg.quantities))
    if name == "wasserstein":
        reference = data.reference_particles if cfg.reference == "teacher" else None
        return Wasserstein(reference=reference, name=cfg.reference, epsilon=cfg.epsilon,
                           threshold=cfg.threshold, max_iterations=cfg.max_iterations,
                           exact=cfg.exact, subsample=cfg.subsample)
    if name == "particle_moments":
        return ParticleMoments()
    if name == "particle_snapshots":
        return ParticleSnapshots(times=tuple(cfg.times))
    if name == "fourier":
        return _fourier(cfg, scenario, data)
    if name == "residual_modes":
        return ResidualModes.of(system, state0, k=cfg.k)
    raise AssertionError(f"no builder for monitor {name}")


def build_monitors(scenario: Scenario, data, system, state0) -> tuple[AbstractMonitor, ...]:
    return tuple(build_monitor(m, scenario, data, system, state0) for m in scenario.monitors)


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
    if scenario.task.seed is not None:  # the data of a run with seed = task.seed
        task_key = jax.random.split(jax.random.key(scenario.task.seed))[0]
    if scenario.task.kind == "ntk_eigenfunction":
        data = build_eigenfunction_task(scenario, task_key, init_key, dtype)
    else:
        data = build_task(scenario.task, task_key, dtype)
    system = build_system(scenario.system, data)
    state0 = system.init(init_key)
    s, sv = scenario.solver, scenario.save
    ts = save_times(s.t1, sv.n, spacing=sv.spacing, t_first=sv.t_first)
    kwargs = dict(
        t1=s.t1, solver=s.name, dt=s.dt, rtol=s.rtol, atol=s.atol, adaptive=s.adaptive,
        max_steps=s.max_steps, save_times=np.asarray(ts), shard=s.shard,
        divergence=s.divergence,
    )
    monitors = build_monitors(scenario, data, system, state0)
    twins = build_twins(scenario, system, state0, data)
    twin_monitors = tuple(m for cfg, m in zip(scenario.monitors, monitors)
                          if cfg.name in TWIN_MONITORS)
    if twins and "train_outputs" not in [cfg.name for cfg in scenario.monitors]:
        monitors = monitors + (TrainOutputs(),)
    if twins:
        twin_monitors = twin_monitors + (TrainOutputs(),)
    return Built(data, system, state0, monitors, kwargs, twins, twin_monitors)
