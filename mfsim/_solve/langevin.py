r"""Noisy gradient flow (Langevin dynamics) for any gradient-flow system.

$$d\theta = -r\odot\big(\tau\nabla\mathcal J(\theta) + \lambda\theta\big)\,dt
            + \sqrt{2\tau r T/N}\odot dW_t,$$

with $\tau$ the system's time scale, $r$ its per-array rates
(``system.step_rates``: 1 except for layers trained at their own rates, e.g.
the standard-parameterized MLP; they precondition drift and noise alike, so
the stationary law below holds), $\lambda$ the weight decay, $T = 1/\beta$
the temperature and $W$ a Brownian motion on the trainable arrays
(``system.trainable``: frozen arrays, e.g. a centred network's anchor, neither
decay nor diffuse). $N = 1$ (``particles=1``): the stationary law is
the Gibbs measure $\propto \exp(-\beta[\mathcal J(\theta) +
\tfrac{\lambda}{2\tau}|\theta|^2])$; for a quadratic objective this is an
Ornstein–Uhlenbeck process (tests/test_langevin.py checks its mean and
covariance). ``particles=m`` divides the temperature by the number of
particles $m$ of a particle system: **mean-field Langevin**. For the
mean-field two-layer network ($\tau = m$, $\mathcal J = R(\mu_m)$) each neuron
then moves as $d\theta_i = -(\nabla\tfrac{\delta R}{\delta\mu}(\theta_i) +
\lambda\theta_i)\,dt + \sqrt{2T}\,dW^i$, whose many-particle limit is the
Wasserstein gradient flow of $R(\mu) + \tfrac\lambda2\int|\theta|^2d\mu +
T\int\mu\log\mu$ (Mei–Montanari–Nguyen 2018; Chizat 2022).

The Brownian motion is a ``diffrax.VirtualBrownianTree`` over the run's whole
interval, keyed by the run's noise key: a run is bitwise reproducible, and a
checkpointed run resumes on the same path. Solvers: ``diffrax.Euler``
(Euler–Maruyama; strong order 1 for this additive noise), ``Heun``, and the
additive-noise stochastic Runge–Kutta methods (``SRA1``, ``ShARK``: strong
order 1.5, with the space-time Lévy area they need).
"""

from __future__ import annotations

import math
import operator

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray, PyTree

from .._system import AbstractGradientFlowSystem


class DiagonalNoise(diffrax.AbstractTerm):
    r"""The term $\sigma \odot dW$: each entry of the state driven by its own
    Brownian motion, scaled by ``scale`` (a PyTree shaped like the state)."""

    scale: PyTree
    control: diffrax.AbstractBrownianPath

    def vf(self, t, y, args):
        return self.scale

    def contr(self, t0, t1, **kwargs):
        return self.control.evaluate(t0, t1, **kwargs)

    def prod(self, vf, control):
        return jax.tree.map(operator.mul, vf, control)


class Langevin(eqx.Module):
    """Langevin noise and weight decay for a gradient-flow solve (module docstring).

    - ``temperature``: $T = 1/\\beta \\ge 0$.
    - ``weight_decay``: $\\lambda \\ge 0$.
    - ``particles``: $N$, dividing $T$: the width $m$ of a particle system for
      mean-field Langevin (its twins take the same noise), 1 otherwise.
    - ``tol``: the Brownian tree's resolution (default: the run's span / 2^20).
    """

    temperature: float
    weight_decay: float = 0.0
    particles: int = eqx.field(static=True, default=1)
    tol: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise ValueError(f"temperature must be finite and >= 0; got {self.temperature}")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ValueError(f"weight_decay must be finite and >= 0; got {self.weight_decay}")
        if self.particles < 1:
            raise ValueError(f"particles must be a positive count; got {self.particles}")

    def sigma(self, system) -> jax.Array:
        """The noise's scale, $\\sqrt{2\\tau T/N}$."""
        return jnp.sqrt(2 * system.time_scale() * self.temperature / self.particles)

    def terms(self, system, y0, key: PRNGKeyArray, span: tuple, solver) -> diffrax.AbstractTerm:
        """Drift and noise terms for ``system`` from ``y0``; the Brownian
        motion spans ``span`` (the run's ``(t0, t1)``) and carries the Lévy
        area ``solver`` needs. At zero temperature, the drift alone (an ODE)."""
        if not isinstance(system, AbstractGradientFlowSystem):
            raise TypeError(f"Langevin dynamics need a gradient-flow system, not "
                            f"{type(system).__name__}")
        if key is None and self.temperature:
            raise ValueError("Langevin dynamics need the run's noise key")
        mask = system.trainable(y0)
        decay = self.weight_decay

        rates = system.step_rates(y0)
        rates = jax.tree.map(lambda _: 1.0, y0) if rates is None else rates

        def drift(t, y, args):
            v = system.vector_field(t, y, args)
            if not decay:
                return v
            return jax.tree.map(lambda v, y, r, m: v - (decay * y) * r if m else v,
                                v, y, rates, mask)

        if self.temperature == 0:  # weight decay alone: an ODE
            return diffrax.ODETerm(drift)
        sigma = self.sigma(system)
        scale = jax.tree.map(
            lambda y, r, m: jnp.full_like(y, sigma) * jnp.sqrt(r) if m else jnp.zeros_like(y),
            y0, rates, mask)
        t0, t1 = span
        tol = self.tol if self.tol is not None else (t1 - t0) / 2**20
        shape = jax.tree.map(lambda y: jax.ShapeDtypeStruct(y.shape, y.dtype), y0)
        brownian = diffrax.VirtualBrownianTree(t0, t1, tol=tol, shape=shape, key=key,
                                               levy_area=_levy_area(solver))
        return diffrax.MultiTerm(diffrax.ODETerm(drift), DiagonalNoise(scale, brownian))


def _levy_area(solver):
    """The Lévy area a stochastic Runge–Kutta solver needs (space-time for
    SRA1/ShARK); the Brownian increment alone for the others."""
    if isinstance(solver, diffrax.AbstractSRK) and issubclass(
            diffrax.SpaceTimeLevyArea, solver.minimal_levy_area):
        return diffrax.SpaceTimeLevyArea
    return diffrax.BrownianIncrement
