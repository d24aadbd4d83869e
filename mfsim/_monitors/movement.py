"""Outputs and parameter movement."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._system import AbstractLinearMapSystem, AbstractParticleSystem, AbstractRegressionSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, hidden, reference


class TrainOutputs(AbstractMonitor):
    """The outputs $f(x_i)$ on the training inputs, ``(T, n)``."""

    requires = (AbstractRegressionSystem,)

    def __call__(self, t, state, ctx: MonitorContext):
        return {"train_outputs": ctx.system.train_outputs(state)}

    def variables(self):
        return {"train_outputs": hidden("network outputs f(x_i) on the training inputs",
                                        "output on the training inputs", symbol="$f(x_i)$")}


class ParameterDistance(AbstractMonitor):
    r"""How far the parameters moved from $\theta_0$.

    ``param_distance`` $\|\theta_t - \theta_0\|_2$ over the trainable
    parameters (``system.parameters(state)``), ``param_distance_rel`` the same
    divided by $\|\theta_0\|_2$, ``param_distance_<layer>`` per parameter
    array and, for particle systems, ``moved_fraction``: the fraction of
    particles $p_j$ with $\|p_j(t) - p_j(0)\|_2 > $ ``tol``.
    """

    tol: float = eqx.field(static=True, default=1e-2)
    layers: tuple[str, ...] = eqx.field(static=True, default=())

    @classmethod
    def of(cls, system, state0, tol: float = 1e-2) -> ParameterDistance:
        """With one ``param_distance_<layer>`` output per parameter array of ``system``."""
        return cls(tol=tol, layers=tuple(system.parameters(state0)))

    def __call__(self, t, state, ctx: MonitorContext):
        system = ctx.system
        now, start = system.parameters(state), system.parameters(ctx.state0)
        sq = {k: jnp.sum((now[k] - start[k]) ** 2) for k in now}
        norm0 = jnp.sqrt(sum(jnp.sum(a**2) for a in start.values()))
        dist = jnp.sqrt(sum(sq.values()))
        out = {"param_distance": dist,
               "param_distance_rel": jnp.where(norm0 > 0, dist / jnp.where(norm0 > 0, norm0, 1.0),
                                               jnp.nan)}
        out.update({f"param_distance_{k}": jnp.sqrt(sq[k]) for k in self.layers})
        if isinstance(system, AbstractParticleSystem):
            moved = jnp.linalg.norm(system.particles(state) - system.particles(ctx.state0),
                                    axis=1)
            out["moved_fraction"] = jnp.mean(moved > self.tol)
        return out

    def variables(self):
        out = {"param_distance": Variable(
                   "Euclidean distance ||theta_t - theta_0|| of the parameters",
                   "parameter distance from init", "$\\|\\theta_t - \\theta_0\\|$",
                   scale="log", rank=15),
               "param_distance_rel": Variable(
                   "relative distance ||theta_t - theta_0|| / ||theta_0||",
                   "relative parameter distance",
                   "$\\|\\theta_t - \\theta_0\\| / \\|\\theta_0\\|$", scale="log", rank=12),
               "moved_fraction": Variable(
                   f"fraction of particles that moved more than {self.tol:g}",
                   "fraction of particles with", f"$\\|p_j(t) - p_j(0)\\| > {self.tol:g}$",
                   bounds=(0.0, 1.0), rank=16)}
        out.update({f"param_distance_{k}": Variable(
            f"distance ||theta_t - theta_0|| of {k}", f"distance from init of {k}",
            f"$\\|{k}_t - {k}_0\\|$" if len(k) == 1 and k.isalpha()
            else "$\\|\\theta_t - \\theta_0\\|$", scale="log", rank=17,
            family="param_distance_layers") for k in self.layers})
        return out


class Predictions(AbstractMonitor):
    """Outputs $f(x)$ at chosen inputs ``x``, ``(T, k)``, under the variable ``name``."""

    x: jax.Array
    name: str = eqx.field(static=True, default="test_outputs")

    requires = (AbstractRegressionSystem,)

    def __call__(self, t, state, ctx: MonitorContext):
        return {self.name: ctx.system.predict(state, self.x)}

    def variables(self):
        return {self.name: hidden(f"outputs f(x) on {self.x.shape[0]} fixed inputs",
                                  "output on fixed inputs", symbol="$f(x)$")}


class SingularValues(AbstractMonitor):
    """Singular values of a linear system's end-to-end map
    (``system.singular_values``). ``theory=True`` also records Saxe et al.'s
    closed form beside them, ``theory_singular_values``
    (:meth:`mfsim.DeepLinearNetwork.saxe_singular_values`; figures draw it
    over the measured values)."""

    theory: bool = eqx.field(default=False, static=True)

    requires = (AbstractLinearMapSystem,)

    def __call__(self, t, state, ctx: MonitorContext):
        out = {"singular_values": ctx.system.singular_values(state)}
        if self.theory:
            from .._systems.deep_linear import DeepLinearNetwork

            if not isinstance(ctx.system, DeepLinearNetwork):
                raise TypeError("SingularValues(theory=True) needs a DeepLinearNetwork "
                                f"(Saxe's closed form), not {type(ctx.system).__name__}")
            theory = ctx.system.saxe_singular_values(ctx.state0, t)
            out["theory_singular_values"] = theory[: out["singular_values"].shape[0]]
        return out

    def variables(self):
        out = {"singular_values": Variable(
            "singular values of the end-to-end map W_L...W_1", "singular values",
            "$s_i(W_L \\cdots W_1)$", scale="log", rank=20)}
        if self.theory:
            out["theory_singular_values"] = reference(
                "Saxe et al.'s closed form s / (1 + (s/u0 - 1) exp(-2 s tau t)) per mode",
                "singular values", "singular_values", "closed form (Saxe et al.)",
                symbol="$s_i$", scale="log")
        return out

    def dims(self):
        return {"theory_singular_values": ("mode",)} if self.theory else {}
