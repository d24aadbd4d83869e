"""Monitors: what is recorded, computed inside the compiled solve.

A monitor is a pure function of ``(t, state, ctx)`` returning a dict of named
arrays, evaluated by diffrax at every save time (``SaveAt(fn=...)``), so no
trajectory of states is ever stored. ``ctx`` holds what was computed once at
the start, inside the same compiled function: the system, the initial state
and whatever the monitor's :meth:`~AbstractMonitor.prepare` returned (an
initial kernel and its eigendecomposition, a target measure's self-cost).

What a monitor needs from a system is declared, not probed: ``requires`` lists
capability types of :mod:`mfsim._system` (a particle system, a system with
scalar outputs, ...), and :meth:`AbstractMonitor.supports` is an
``isinstance`` test against them. The scenario layer derives which monitors
a system accepts from the same types.
"""

from __future__ import annotations

import abc
from typing import ClassVar, final

import equinox as eqx
import numpy as np
from jaxtyping import Array, PyTree

from .._system import AbstractSystem
from .variable import Variable


class MonitorContext(eqx.Module):
    """What a monitor may look at besides the current state: the system, the
    initial state and ``data``, the monitor's own ``prepare(system, state0)``."""

    system: AbstractSystem
    state0: PyTree
    data: PyTree = None


class AbstractMonitor(eqx.Module):
    """A named, documented measurement of the state at save times.

    ``requires``: the capability types (:mod:`mfsim._system`) a system must
    have for this monitor to measure it; every one is required.
    """

    requires: ClassVar[tuple[type, ...]] = (AbstractSystem,)

    @abc.abstractmethod
    def __call__(self, t, state: PyTree, ctx: MonitorContext) -> dict[str, Array]:
        """Values at time ``t``; keys are the output variable names."""

    @abc.abstractmethod
    def variables(self) -> dict[str, Variable]:
        """Variable name -> what it is (:class:`~mfsim.Variable`: its
        description, axis name, symbol, units, scale, role), for every
        variable the monitor writes; stored as the variable's attributes in
        the results, from which figures are chosen and labelled."""

    @final
    def descriptions(self) -> dict[str, str]:
        """Variable name -> one-line description."""
        return {name: var.description for name, var in self.variables().items()}

    def prepare(self, system: AbstractSystem, state0: PyTree) -> PyTree:
        """Computed once at the start of the solve (inside the compiled
        function) and handed to every call as ``ctx.data``."""
        return None

    def specialize(self, system: AbstractSystem, state0: PyTree) -> AbstractMonitor:
        """This monitor as it runs on ``system`` from ``state0`` (default:
        itself). Called once per solve, before compiling, by :func:`simulate`:
        a monitor that leaves a choice to ``"auto"`` (an algorithm, by problem
        size and device) makes it here, so that its outputs and descriptions
        are fixed before the solve. It may look at shapes only (``state0``
        can be abstract)."""
        return self

    def for_twin(self) -> AbstractMonitor:
        """The monitor a twin records (default: this one); a monitor whose
        extra values describe the network alone leaves them out."""
        return self

    def dims(self) -> dict[str, tuple[str, ...]]:
        """Variable name -> names of its non-time axes (where it has any)."""
        return {}

    def coords(self) -> dict[str, np.ndarray]:
        """Dimension name -> coordinate values (e.g. the frequencies of a spectrum)."""
        return {}

    def save_times(self) -> np.ndarray | None:
        """Times of its own at which this monitor is evaluated instead of the
        solve's save times (``None``: the solve's save times)."""
        return None

    @final
    @classmethod
    def supports(cls, system_type: type) -> bool:
        """Whether systems of ``system_type`` have every capability in ``requires``."""
        return all(issubclass(system_type, t) for t in cls.requires)

    @final
    @classmethod
    def missing(cls, system_type: type) -> tuple[type, ...]:
        """The required capabilities ``system_type`` lacks."""
        return tuple(t for t in cls.requires if not issubclass(system_type, t))
