"""The twins a scenario's ``[compare]`` table asks for, solved beside the
network from its initial state: the linearized network and the
constant-kernel flows (NTK frozen at init, or infinite width). Each declares
the capability types a system needs for it, like a monitor does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._system import (
    AbstractInfiniteWidthSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
)
from .._systems.constant_kernel import ConstantKernelFlow
from .._systems.linearized import linearize
from .._systems.quadratic import quadratize
from .entry import MemoryContext, MemoryTerm


@dataclass(frozen=True)
class Twin:
    """``prefix`` of its variables, ``label`` in descriptions, the compare
    ``key`` that asks for it, what it ``requires`` of the system (and the
    ``refusal`` saying so, formatted with the system's name ``s``), how it is
    built from ``(system, state0, data)`` (returning the twin and its initial
    state) and its memory."""

    prefix: str
    label: str
    key: str
    requires: tuple[type, ...]
    refusal: str
    build: Callable
    memory: Callable[[MemoryContext], MemoryTerm]


def _linearized(system, state0, data):
    lin = linearize(system, state0)
    return lin, lin.state0


def _quadratic(system, state0, data):
    quad = quadratize(system, state0)
    return quad, quad.state0


def _kernel_flow(make):
    """``make``: ``ConstantKernelFlow.empirical_twin`` or ``.analytic_twin``."""
    def build(system, state0, data):
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
# variable prefix -> label, for every twin
TWIN_LABELS = {t.prefix: t.label for t in (LINEARIZED, QUADRATIC, *KERNELS.values())}
# the same, short enough for the legend of a figure's panel
TWIN_LEGENDS = {"lin_": "linearized twin", "quad_": "quadratic twin",
                "ck_empirical_": "kernel at init",
                "ck_analytic_": "infinite-width kernel"}


def selected(compare) -> list[Twin]:
    """The twins a ``[compare]`` table asks for, in the order they are solved."""
    return ([LINEARIZED] if compare.linearized else []) + (
        [QUADRATIC] if compare.quadratic else []) + [KERNELS[k] for k in compare.kernels]


def refusal(twin: Twin, system_type: type, system_name: str) -> str | None:
    """Why ``twin`` cannot be built for systems of ``system_type`` (None: it can)."""
    if all(issubclass(system_type, t) for t in twin.requires):
        return None
    return twin.refusal.format(s=system_name)
