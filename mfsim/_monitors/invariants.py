"""Drift of the conserved quantities a system declares."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._system import AbstractInvariantSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable


class InvariantDrift(AbstractMonitor):
    r"""For each invariant $q$ named in ``names`` (keys of
    ``system.invariants(state)``), ``drift_<name>`` $= \max|q(\theta_t) - q(\theta_0)|$
    and, with ``relative=True``, ``drift_rel_<name>`` $= \max|q(\theta_t) -
    q(\theta_0)| / \max|q(\theta_0)|$ (a quantity that starts at 0 everywhere, as
    the balancedness of a balanced init does, gets its absolute drift there:
    the denominator is at least 1).

    Build it for a system with ``InvariantDrift.of(system, state0)``.
    """

    names: tuple[str, ...] = eqx.field(static=True)
    relative: bool = eqx.field(static=True, default=False)
    labels: tuple[tuple[str, str], ...] = eqx.field(static=True, default=())

    requires = (AbstractInvariantSystem,)

    @classmethod
    def of(cls, system, state0, *, relative: bool = False) -> InvariantDrift:
        names = tuple(system.invariants(state0))
        labels = system.invariant_labels()
        return cls(names=names, relative=relative,
                   labels=tuple((k, labels[k]) for k in names if k in labels))

    def __call__(self, t, state, ctx: MonitorContext):
        now, start = ctx.system.invariants(state), ctx.system.invariants(ctx.state0)
        out = {}
        for k in self.names:
            drift = jnp.max(jnp.abs(now[k] - start[k]))
            out[f"drift_{k}"] = drift
            if self.relative:
                out[f"drift_rel_{k}"] = drift / jnp.maximum(jnp.max(jnp.abs(start[k])), 1.0)
        return out

    def variables(self):
        out, labels = {}, dict(self.labels)
        for k in self.names:
            what = labels.get(k, k)
            out[f"drift_{k}"] = Variable(
                f"max |q(t) - q(0)| of the conserved quantity {k}", f"drift of the {what}"
                if k in labels else f"drift of {k}", "$\\max|q_t - q_0|$", scale="log", rank=40)
            if self.relative:
                out[f"drift_rel_{k}"] = Variable(
                    f"max |q(t) - q(0)| / max(max |q(0)|, 1) of the conserved quantity {k}",
                    f"relative drift of the {what}" if k in labels else f"relative drift of {k}",
                    "$\\max|q_t - q_0| / \\max|q_0|$", scale="log", rank=40)
        return out
