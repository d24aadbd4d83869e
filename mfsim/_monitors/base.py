"""Monitors: what is recorded, computed inside the compiled solve.

A monitor is a pure function of ``(t, state, ref)`` returning a dict of named
arrays, evaluated by diffrax at every save time (``SaveAt(fn=...)``), so no
trajectory of states is ever stored. ``ref`` holds what was computed once at
the start (the system and the initial state).
"""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, PyTree

from .._system import AbstractSystem


class Reference(eqx.Module):
    """What every monitor may look at besides the current state."""

    system: AbstractSystem
    state0: PyTree


class AbstractMonitor(eqx.Module):
    """A named, documented measurement of the state at save times."""

    @abc.abstractmethod
    def __call__(self, t, state: PyTree, ref: Reference) -> dict[str, Array]:
        """Values at time ``t``; keys are the output variable names."""

    @abc.abstractmethod
    def descriptions(self) -> dict[str, str]:
        """Variable name -> one-line description (stored as an attribute)."""
