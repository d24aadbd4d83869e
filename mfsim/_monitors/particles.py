r"""Moments and snapshots of the particle measure $\mu_t = \frac1m\sum_j\delta_{p_j(t)}$
(``system.particles(state)``: one row per neuron)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._system import AbstractParticleSystem
from .base import AbstractMonitor, MonitorContext


class ParticleMoments(AbstractMonitor):
    r"""``particle_mean`` $\frac1m\sum_j p_j$, ``particle_var`` (per coordinate)
    and ``particle_sq_norm`` $\frac1m\sum_j\|p_j\|^2$, the second moment of $\mu_t$."""

    requires = (AbstractParticleSystem,)

    def __call__(self, t, state, ctx: MonitorContext):
        p = ctx.system.particles(state)
        return {"particle_mean": jnp.mean(p, axis=0), "particle_var": jnp.var(p, axis=0),
                "particle_sq_norm": jnp.mean(jnp.sum(p**2, axis=1))}

    def descriptions(self):
        return {"particle_mean": "mean of the particle measure, per coordinate",
                "particle_var": "variance of the particle measure, per coordinate",
                "particle_sq_norm": "second moment (1/m) sum_j ||p_j||^2"}

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

    def descriptions(self):
        return {"particles": "particles p_j (rows) at the snapshot times"}

    def dims(self):
        return {"particles": ("particle", "particle_coord")}
