"""Drift of the conserved quantities a system declares."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._system import AbstractInvariantSystem
from .base import AbstractMonitor, MonitorContext


class InvariantDrift(AbstractMonitor):
    r"""For each invariant $q$ named in ``names`` (keys of
    ``system.invariants(state)``), ``drift_<name>`` $= \max|q(\theta_t) - q(\theta_0)|$.

    Build it for a system with ``InvariantDrift.of(system, state0)``.
    """

    names: tuple[str, ...] = eqx.field(static=True)

    requires = (AbstractInvariantSystem,)

    @classmethod
    def of(cls, system, state0) -> InvariantDrift:
        return cls(names=tuple(system.invariants(state0)))

    def __call__(self, t, state, ctx: MonitorContext):
        now, start = ctx.system.invariants(state), ctx.system.invariants(ctx.state0)
        return {f"drift_{k}": jnp.max(jnp.abs(now[k] - start[k])) for k in self.names}

    def descriptions(self):
        return {f"drift_{k}": f"max |q(t) - q(0)| of the conserved quantity {k}"
                for k in self.names}
