r"""Moments and snapshots of the particle measure $\mu_t = \frac1m\sum_j\delta_{p_j(t)}$
(``system.particles(state)``: one row per neuron)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._system import AbstractParticleSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, hidden


class ParticleMoments(AbstractMonitor):
    r"""``particle_mean`` $\frac1m\sum_j p_j$, ``particle_var`` (per coordinate)
    and ``particle_sq_norm`` $\frac1m\sum_j\|p_j\|^2$, the second moment of $\mu_t$."""

    requires = (AbstractParticleSystem,)

    def __call__(self, t, state, ctx: MonitorContext):
        p = ctx.system.particles(state)
        return {"particle_mean": jnp.mean(p, axis=0), "particle_var": jnp.var(p, axis=0),
                "particle_sq_norm": jnp.mean(jnp.sum(p**2, axis=1))}

    def variables(self):
        return {"particle_mean": hidden("mean of the particle measure, per coordinate",
                                        "particle mean", symbol="$E_\\mu[p]$",
                                        index="categorical"),
                "particle_var": hidden("variance of the particle measure, per coordinate",
                                       "particle variance", symbol="$Var_\\mu[p]$",
                                       index="categorical"),
                "particle_sq_norm": Variable("second moment (1/m) sum_j ||p_j||^2",
                                             "second moment of the particles",
                                             "$E_\\mu\\|p\\|^2$", rank=30)}

    def dims(self):
        return {"particle_mean": ("particle_coord",), "particle_var": ("particle_coord",)}


class ParticleSnapshots(AbstractMonitor):
    """All particles ``(m, p)`` at the chosen ``times`` (its own save times,
    not the solve's): the data of particle scatter plots."""

    times: tuple[float, ...] = eqx.field(static=True)

    requires = (AbstractParticleSystem,)

    def __check_init__(self):
        if not self.times:
            raise ValueError("particle snapshots need at least one time")

    def save_times(self):
        return np.asarray(sorted(self.times), dtype=float)

    def __call__(self, t, state, ctx: MonitorContext):
        return {"particles": ctx.system.particles(state)}

    def variables(self):
        return {"particles": hidden("particles p_j (rows) at the snapshot times", "particles",
                                    symbol="$p_j$", figure="particle_measure")}

    def dims(self):
        return {"particles": ("particle", "particle_coord")}
