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

The Brownian motion is keyed by the run's noise key, so a run is bitwise
reproducible and a checkpointed run resumes on the same path: a fixed-step
solve draws each step's increment afresh (:class:`StepIncrements`: exact in
law on its grid, one draw per step); an adaptive solve, or one given ``tol``
(to compare step sizes on one path, as a strong-order study does), takes a
``diffrax.VirtualBrownianTree`` over the run's whole interval. Solvers: ``diffrax.Euler``
(Euler–Maruyama; strong order 1 for this additive noise), ``Heun``, and the
additive-noise stochastic Runge–Kutta methods (``SRA1``, ``ShARK``: strong
order 1.5, with the space-time Lévy area they need).

**SGD noise** (:class:`SGDNoise`, optional, alone or with a temperature):
the diffusion of mini-batch SGD, a stochastic modified equation (Li, Tai &
E 2017). SGD with flow-time step $h$ ($\eta = \tau h$) and batches of $B$
rows drawn with replacement moves by $h\,v_B$, whose mean is the flow's step
$h\,v$ and whose covariance is $h^2\Sigma/B$, with $\Sigma = \frac1n\sum_i
(v_i - v)(v_i - v)^\top$ the covariance of the per-row velocities $v_i =
-\tau r\odot\nabla(w\,\ell_i)$. The SDE with the same first two moments per
time $h$ is

$$d\theta = v(\theta)\,dt + \sqrt{\tfrac{h}{Bn}}\sum_{i=1}^n
  \big(v_i(\theta) - v(\theta)\big)\,dW^i_t,$$

one Brownian motion per training row ($\sigma\sigma^\top = h\Sigma/B$;
without replacement $\Sigma$ gets the factor $(n-B)/(n-1)$). The sum is one
gradient, $\nabla\sum_i c_i\,w\ell_i$ with $c_i = dW^i - \overline{dW}$, so a
step costs two gradients. This noise depends on the state (multiplicative,
not commutative): Euler–Maruyama, the Itô scheme mfsim offers for it, has
strong order 1/2 here (tests/test_langevin.py fits it); Heun (Stratonovich)
and the additive-noise SRK methods do not apply.
"""

from __future__ import annotations

import math
import operator

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray, PyTree

from .._system import AbstractGradientFlowSystem, AbstractSupervisedSystem
from .brownian import StepIncrements


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


class SGDNoise(eqx.Module):
    """The diffusion of mini-batch SGD (module docstring): ``step`` $h$, the
    flow time of one SGD step (learning rate / $\\tau$), ``batch_size`` $B$
    and whether batches are drawn with ``replacement`` (default)."""

    step: float
    batch_size: int = eqx.field(static=True)
    replacement: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        if not (self.step > 0 and math.isfinite(self.step)):
            raise ValueError(f"the SGD noise's step must be finite and > 0; got {self.step}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive; got {self.batch_size}")

    def variance(self, n: int):
        """$h/B$, times $(n-B)/(n-1)$ without replacement: the factor of
        $\\Sigma$ in $\\sigma\\sigma^\\top$."""
        if self.batch_size > n:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {n} training rows")
        factor = 1.0 if self.replacement else (n - self.batch_size) / max(n - 1, 1)
        return self.step / self.batch_size * factor


class SampleNoise(diffrax.AbstractTerm):
    r"""The term $\sqrt{c/n}\sum_i (v_i(\theta) - v(\theta))\,dW^i$ (SGD noise:
    one Brownian motion per training row of ``system``; ``variance`` is $c$)."""

    system: AbstractSupervisedSystem
    variance: float
    control: diffrax.AbstractBrownianPath

    def _scale(self):
        return jnp.sqrt(self.variance / self.system.y_train.shape[0])

    def vf(self, t, y, args):
        """The matrix sigma: each state leaf with a trailing axis of the ``n`` rows."""
        system = self.system
        loss, w = system.loss_function(), system.loss_weight()

        def row(x, target):
            g = jax.grad(lambda s: w * loss.per_example(system.predict(s, x[None]),
                                                        target[None])[0])(y)
            return system.velocity(g, y)

        v = jax.vmap(row, out_axes=-1)(system.x_train, system.y_train)
        scale = self._scale()
        return jax.tree.map(lambda a: scale * (a - jnp.mean(a, axis=-1, keepdims=True)), v)

    def contr(self, t0, t1, **kwargs):
        return self.control.evaluate(t0, t1, **kwargs)

    def prod(self, vf, control):
        return jax.tree.map(lambda a: a @ control.astype(a.dtype), vf)

    def vf_prod(self, t, y, args, control):
        system = self.system
        c = control - jnp.mean(control)
        loss, w = system.loss_function(), system.loss_weight()
        g = jax.grad(lambda s: w * jnp.sum(
            c * loss.per_example(system.train_outputs(s), system.y_train)))(y)
        return jax.tree.map(lambda a: self._scale() * a, system.velocity(g, y))


class Langevin(eqx.Module):
    """Langevin noise and weight decay for a gradient-flow solve (module docstring).

    - ``temperature``: $T = 1/\\beta \\ge 0$.
    - ``weight_decay``: $\\lambda \\ge 0$.
    - ``particles``: $N$, dividing $T$: the width $m$ of a particle system for
      mean-field Langevin (its twins take the same noise), 1 otherwise.
    - ``tol``: the Brownian tree's resolution (default: the run's span /
      2^20); set, a fixed-step solve takes the tree too (one path for every
      step size) instead of drawing per step.
    - ``sgd``: :class:`SGDNoise`, the diffusion of mini-batch SGD (supervised
      systems; Euler–Maruyama), added to the temperature's noise.
    """

    temperature: float
    weight_decay: float = 0.0
    particles: int = eqx.field(static=True, default=1)
    tol: float | None = eqx.field(static=True, default=None)
    sgd: SGDNoise | None = None

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

    def terms(self, system, y0, key: PRNGKeyArray, span: tuple, solver,
              step=None) -> diffrax.AbstractTerm:
        """Drift and noise terms for ``system`` from ``y0``; the Brownian
        motion spans ``span`` (the run's ``(t0, t1)``) and carries the Lévy
        area ``solver`` needs: drawn per step of a fixed-step solve (``step``:
        its size; :class:`StepIncrements`) unless ``tol`` asks for the tree,
        a ``diffrax.VirtualBrownianTree`` otherwise. At zero temperature, the
        drift alone (an ODE)."""
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

        terms = [diffrax.ODETerm(drift)]
        path = self._path(span, step, solver)
        if self.temperature:
            sigma = self.sigma(system)
            scale = jax.tree.map(
                lambda y, r, m: jnp.full_like(y, sigma) * jnp.sqrt(r) if m
                else jnp.zeros_like(y), y0, rates, mask)
            shape = jax.tree.map(lambda y: jax.ShapeDtypeStruct(y.shape, y.dtype), y0)
            terms.append(DiagonalNoise(scale, path(shape, key)))
        if self.sgd is not None:
            if not isinstance(system, AbstractSupervisedSystem):
                raise TypeError(f"SGD noise needs a supervised system (training rows), not "
                                f"{type(system).__name__}")
            if not isinstance(solver, diffrax.Euler):
                raise ValueError(f"SGD noise depends on the state: integrate it with "
                                 f"Euler-Maruyama (euler), not {type(solver).__name__}")
            if key is None:
                raise ValueError("SGD noise needs the run's noise key")
            n = system.y_train.shape[0]
            dtype = jax.tree.leaves(y0)[0].dtype
            brownian = path(jax.ShapeDtypeStruct((n,), dtype), jax.random.fold_in(key, 1))
            terms.append(SampleNoise(system, self.sgd.variance(n), brownian))
        if len(terms) == 1:  # weight decay alone: an ODE
            return terms[0]
        return diffrax.MultiTerm(*terms)


    def _path(self, span: tuple, step, solver):
        """``path(shape, key)``: the Brownian motion over ``span``, one draw per
        step of size ``step`` (``None``: adaptive steps, or ``tol`` set: the
        virtual tree)."""
        t0, t1 = span
        levy = _levy_area(solver)
        if step is not None and self.tol is None:
            return lambda shape, key: StepIncrements(shape, levy, key, t0, step)
        tol = self.tol if self.tol is not None else (t1 - t0) / 2**20
        return lambda shape, key: diffrax.VirtualBrownianTree(t0, t1, tol=tol, shape=shape,
                                                              key=key, levy_area=levy)


def _levy_area(solver):
    """The Lévy area a stochastic Runge–Kutta solver needs (space-time for
    SRA1/ShARK); the Brownian increment alone for the others."""
    if isinstance(solver, diffrax.AbstractSRK) and issubclass(
            diffrax.SpaceTimeLevyArea, solver.minimal_levy_area):
        return diffrax.SpaceTimeLevyArea
    return diffrax.BrownianIncrement
