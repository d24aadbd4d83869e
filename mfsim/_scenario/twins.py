"""The twins a scenario's ``[compare]`` table asks for, solved beside the
network from its initial state: the linearized and quadratic networks, the
constant-kernel flows (NTK frozen at init, or infinite width) and the
order-parameter ODE of a committee machine (the theory twin). Each declares
the capability types a system needs for it, like a monitor does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import diffrax

from .._monitors.central_flow import CentralFlowMonitor
from .._solve.optimizers import Online, OptaxSolver
from .._solve.settings import SolveSettings
from .._system import (
    AbstractGradientFlowSystem,
    AbstractInfiniteWidthSystem,
    AbstractLossSystem,
    AbstractOrderParameterSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
)
from .._systems.central_flow import central_flow
from .._systems.constant_kernel import ConstantKernelFlow
from .._systems.linearized import linearize
from .._systems.order_parameters import OrderParameterODE
from .._systems.quadratic import quadratize
from .entry import MemoryContext, MemoryTerm
from .solvers.euler import EulerTable
from .solvers.optax import OptaxTable, SGDTable


@dataclass(frozen=True)
class Twin:
    """``prefix`` of its variables, ``label`` in descriptions, the compare
    ``key`` that asks for it, what it ``requires`` of the system (and the
    ``refusal`` saying so, formatted with the system's name ``s``), how it is
    built from ``(system, state0, data, settings, scenario)`` (returning the
    twin and its initial state), its memory, the settings it is solved with,
    from the network's and the scenario (default: the network's), ``check``:
    why the scenario cannot have it (None: it can), and ``monitors``: what
    the built twin records beyond the scenario's shared monitors."""

    prefix: str
    label: str
    key: str
    requires: tuple[type, ...]
    refusal: str
    build: Callable
    memory: Callable[[MemoryContext], MemoryTerm]
    settings: Callable[[SolveSettings, Any], SolveSettings] = (
        lambda settings, scenario: settings)
    check: Callable[[Any], str | None] = lambda scenario: None  # noqa: E731
    monitors: Callable[[Any], tuple] = lambda twin: ()  # noqa: E731


def _linearized(system, state0, data, settings, scenario):
    lin = linearize(system, state0)
    return lin, lin.state0


def _quadratic(system, state0, data, settings, scenario):
    quad = quadratize(system, state0)
    return quad, quad.state0


def _theory(system, state0, data, settings, scenario):
    """The order-parameter ODE from the network's initial overlaps; with the
    learning rate and batch of its online SGD (0: the population flow)."""
    solver = settings.solver
    eta, batch = 0.0, 1
    if isinstance(solver, OptaxSolver) and isinstance(solver.batches, Online):
        eta, batch = float(system.time_scale()) * float(settings.dt0), solver.batches.batch_size
    twin = OrderParameterODE.twin_of(system, state0, eta=eta, batch_size=batch)
    return twin, twin.init()


def _central_flow(system, state0, data, settings, scenario):
    """The central flow of the network's gradient descent (its step ``dt``)."""
    twin = central_flow(system, settings.dt0, k=scenario.compare.central_flow_k)
    return twin, state0


def _central_settings(settings: SolveSettings, scenario) -> SolveSettings:
    """Heun's method at half of gradient descent's step (four evaluations a
    step). The flow's sharpest directions decay at the edge's rate 2/dt: at a
    step h, Heun's factor is 1 - h lambda + (h lambda)^2 / 2, marginal (1) at
    h = dt, where the flow would not settle; at dt / 2 it is 1/2."""
    return dataclasses.replace(settings, solver=diffrax.Heun(),
                               controller=diffrax.ConstantStepSize(), dt0=settings.dt0 / 2,
                               noise=None)


def _central_check(scenario) -> str | None:
    s = scenario.solver
    if isinstance(s, EulerTable) and not scenario.noise.active:
        return None
    if (isinstance(s, SGDTable) and not s.online and s.batch_size is None and not s.momentum
            and s.schedule == "constant" and not scenario.noise.active):
        return None
    return ("the central flow describes full-batch gradient descent (solver.name = \"euler\", "
            "or \"sgd\" on every row with no momentum and a constant schedule), without noise")


def _central_monitors(twin) -> tuple:
    return (CentralFlowMonitor(loss=isinstance(twin, AbstractLossSystem)),)


def _same_system(system, state0, data, settings, scenario):
    return system, state0


def _flow_settings(settings: SolveSettings, scenario) -> SolveSettings:
    """The network's times and guards under gradient flow (tsit5, adaptive at
    the scenario's ``solver.rtol`` and ``atol``): no batches, no noise."""
    controller = diffrax.PIDController(rtol=scenario.solver.rtol, atol=scenario.solver.atol)
    return dataclasses.replace(settings, solver=diffrax.Tsit5(), controller=controller,
                               dt0=None, noise=None)


def _flow_check(scenario) -> str | None:
    if isinstance(scenario.solver, OptaxTable) or scenario.noise.active:
        return None
    return ("the flow twin is gradient flow beside an optimizer (solver sgd or adam), "
            "Langevin dynamics or SGD noise; this run is already a flow")


def _ode_settings(settings: SolveSettings, scenario) -> SolveSettings:
    """The network's times and guards, integrated by an adaptive Runge-Kutta
    solver at tight tolerances (the ODE is smooth and small)."""
    controller = diffrax.PIDController(rtol=1e-8, atol=1e-10)
    return dataclasses.replace(settings, solver=diffrax.Tsit5(), controller=controller, dt0=None,
                               max_steps=max(settings.max_steps, 100_000), noise=None)


def _kernel_flow(make):
    """``make``: ``ConstantKernelFlow.empirical_twin`` or ``.analytic_twin``."""
    def build(system, state0, data, settings, scenario):
        ck = make(system, state0, data.x_test)
        return ck, ck.init()
    return build


def _kernel_memory(empirical: bool):
    def memory(m: MemoryContext) -> MemoryTerm:
        n, n_test = m.data.n_train, m.data.n_test
        gram = n * n + n_test * n + (m.system.gram_work(n) if empirical else 0)
        kind = "empirical" if empirical else "analytic"
        return MemoryTerm("compare.kernels", f"the {kind} constant-kernel twin",
                    m.bytes_per_element * (gram + 2 * n * n) * m.points)
    return memory


LINEARIZED = Twin(
    "lin_", "linearized twin", "compare.linearized", (AbstractSupervisedSystem,),
    "kernel twins need a network system, not {s}", _linearized,
    lambda m: MemoryTerm("compare.linearized", "the linearized twin",
                   m.bytes_per_element * m.system.params * (m.copies + 3) * m.points))
# the nested jvp holds about three forward passes' tangents beside the state
QUADRATIC = Twin(
    "quad_", "quadratic twin (second-order Taylor at init)", "compare.quadratic",
    (AbstractSupervisedSystem,), "the quadratic twin needs a network system, not {s}",
    _quadratic,
    lambda m: MemoryTerm("compare.quadratic", "the quadratic twin",
                   m.bytes_per_element * m.system.params * (m.copies + 6) * m.points))
KERNELS = {
    "empirical": Twin(
        "ck_empirical_", "constant-kernel flow (empirical NTK at init)", "compare.kernels",
        (AbstractSupervisedSystem, AbstractScalarOutputSystem),
        "constant-kernel twins need a network with scalar outputs, not {s}",
        _kernel_flow(ConstantKernelFlow.empirical_twin), _kernel_memory(True)),
    "analytic": Twin(
        "ck_analytic_", "constant-kernel flow (infinite-width NTK)", "compare.kernels",
        (AbstractInfiniteWidthSystem, AbstractScalarOutputSystem),
        "no infinite-width kernel for system {s}; allowed: empirical",
        _kernel_flow(ConstantKernelFlow.analytic_twin), _kernel_memory(False)),
}
def _theory_check(scenario) -> str | None:
    """The ODE describes plain online SGD, or the population loss's flow."""
    s = scenario.solver
    if isinstance(s, SGDTable) and s.online and not s.momentum and s.schedule == "constant":
        return None
    population = bool(scenario.system.model_dump().get("population"))
    if population and not isinstance(s, OptaxTable) and scenario.noise.temperature is None:
        return None
    return ("the order-parameter ODE describes online SGD (solver.name = \"sgd\", online = "
            "true, no momentum, constant schedule) or the gradient flow of the population loss "
            "(system.population = true)")


THEORY = Twin(
    "ode_", "order-parameter ODE (Saad-Solla, Goldt et al.)", "compare.theory",
    (AbstractOrderParameterSystem,),
    "the theory twin is the order-parameter ODE of a soft committee machine (system "
    "committee), not {s}", _theory,
    lambda m: MemoryTerm("compare.theory", "the order-parameter ODE", 0), _ode_settings,
    _theory_check)
FLOW = Twin(
    "flow_", "gradient flow (tsit5) from the same initial state", "compare.flow",
    (AbstractGradientFlowSystem,), "the flow twin needs a gradient-flow system, not {s}",
    _same_system,
    lambda m: MemoryTerm("compare.flow", "the gradient-flow twin",
                         m.bytes_per_element * m.system.params * 12 * m.points),
    _flow_settings, _flow_check)
# Lanczos holds its basis (iterations x params), the k^2 third derivatives
# about three gradients each
CENTRAL = Twin(
    "cf_", "central flow (gradient descent's time average at the edge of stability)",
    "compare.central_flow", (AbstractGradientFlowSystem,),
    "the central flow needs a gradient-flow system, not {s}", _central_flow,
    lambda m: MemoryTerm("compare.central_flow", "the central-flow twin",
                         m.bytes_per_element * m.system.params * (48 + 12) * m.points),
    _central_settings, _central_check, _central_monitors)
#: every twin, in the order a scenario solves them
ALL_TWINS = (LINEARIZED, QUADRATIC, *KERNELS.values(), THEORY, FLOW, CENTRAL)
# variable prefix -> label, for every twin
TWIN_LABELS = {t.prefix: t.label for t in ALL_TWINS}
# the same, short enough for the legend of a figure's panel
TWIN_LEGENDS = {"lin_": "linearized twin", "quad_": "quadratic twin",
                "ck_empirical_": "kernel-at-init twin",
                "ck_analytic_": "infinite-width-kernel twin", "ode_": "order-parameter ODE",
                "flow_": "gradient flow", "cf_": "central flow"}


def selected(compare) -> list[Twin]:
    """The twins a ``[compare]`` table asks for, in the order they are solved."""
    return ([LINEARIZED] if compare.linearized else []) + (
        [QUADRATIC] if compare.quadratic else []) + [KERNELS[k] for k in compare.kernels] + (
        [THEORY] if compare.theory else []) + ([FLOW] if compare.flow else []) + (
        [CENTRAL] if compare.central_flow else [])


def refusal(twin: Twin, system_type: type, system_name: str) -> str | None:
    """Why ``twin`` cannot be built for systems of ``system_type`` (None: it can)."""
    if all(issubclass(system_type, t) for t in twin.requires):
        return None
    return twin.refusal.format(s=system_name)
