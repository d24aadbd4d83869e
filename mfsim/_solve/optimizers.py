r"""Discrete optimizers as diffrax solvers: mini-batch and online SGD, momentum
and Adam (the update rules are optax's), on the time axis of gradient flow.

Conventions (docs/theory.md, "Discrete optimizers"). A system trained by
gradient flow moves with velocity $v(\theta) = -\tau\nabla\mathcal J(\theta)$.
An optimizer step of size $\Delta t$ (flow time) from $\theta_k$ is

$$g_k = -v_B(\theta_k) = \tau\nabla\mathcal J_B(\theta_k),\quad
  u_k, s_{k+1} = \mathrm{T}(g_k, s_k, \theta_k),\quad
  \theta_{k+1} = \theta_k - \Delta t\, c_k\, u_k,$$

with $\mathcal J_B$ the objective on the step's batch $B$ (the whole training
set for full-batch steps), $\mathrm T$ an optax gradient transformation at
unit learning rate (``optax.identity()``: SGD; ``optax.trace(beta)``: heavy
ball; ``optax.scale_by_adam()``: Adam), $s$ its state and $c_k$ an optional
schedule factor (an optax schedule of the step count; 1 without one). So
plain SGD has learning rate $\eta = \tau\,\Delta t$ on $\nabla\mathcal J$ and
the saved times are flow times, $t = k\,\eta/\tau$: an SGD run and the
gradient flow overlay on one axis. Adam sees $g = \tau\nabla\mathcal J$, the
flow's velocity (for the mean-field network, the particles' velocities), with
learning rate $\Delta t$.

Full-batch SGD without a schedule computes $\theta_k + \Delta t\,v(\theta_k)$
with the same operations as ``diffrax.Euler`` on the flow (bitwise equal: the
velocity is negated twice, which is exact).

Batches (seeded by the run's noise key, from the step count: reproducible,
and a resumed run draws the same batches):
- :class:`Minibatch` ``(batch_size, replacement=False)``: without replacement,
  epoch $e$ visits a fresh permutation of the ``n`` training rows in
  ``n // batch_size`` steps (a remainder of fewer rows is left out of that
  epoch); with replacement, each step draws its rows uniformly.
- :class:`Online` ``(sampler, batch_size=1)``: every step draws fresh samples
  from the task's distribution (``sampler.sample(key, batch_size)``): online
  SGD, one pass over an infinite data stream.

The step count and the optimizer state live in the solver state, which a
checkpointed (segmented) solve carries across segments.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from equinox.internal import ω
from jaxtyping import Array, PRNGKeyArray, PyTree

from .._system import AbstractSupervisedSystem
from .._tasks.dataset import AbstractSampler


class AbstractBatches(eqx.Module):
    """Which data an optimizer step sees."""

    @abc.abstractmethod
    def draw(self, system, key: PRNGKeyArray, step: Array) -> tuple[Array, Array]:
        """The inputs and targets of step ``step`` (a scalar integer)."""


class Minibatch(AbstractBatches):
    """``batch_size`` training rows per step, without replacement (epochs of
    fresh permutations) or with it."""

    batch_size: int = eqx.field(static=True)
    replacement: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive; got {self.batch_size}")

    def draw(self, system, key, step):
        n = system.x_train.shape[0]
        if self.batch_size > n:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {n} training rows")
        if self.replacement:
            rows = jax.random.randint(jax.random.fold_in(key, step), (self.batch_size,), 0, n)
        else:
            per_epoch = n // self.batch_size
            epoch, position = step // per_epoch, step % per_epoch
            order = jax.random.permutation(jax.random.fold_in(key, epoch), n)
            rows = jax.lax.dynamic_slice(order, (position * self.batch_size,),
                                         (self.batch_size,))
        return system.x_train[rows], system.y_train[rows]


class Online(AbstractBatches):
    """Fresh samples from ``sampler`` at every step (one pass over a stream)."""

    sampler: AbstractSampler
    batch_size: int = eqx.field(static=True, default=1)

    def draw(self, system, key, step):
        return self.sampler.sample(jax.random.fold_in(key, step), self.batch_size)


class StepArgs(eqx.Module):
    """What a stochastic optimizer step needs beyond the flow's term, passed
    as diffrax's ``args`` (the systems' vector fields ignore it): the system,
    to draw a batch and differentiate its objective, and the run's noise key."""

    system: PyTree
    key: PRNGKeyArray | None


class OptaxSolver(diffrax.AbstractSolver):
    """Fixed-step optimizer steps on the flow time axis (module docstring).

    - ``transform``: an optax gradient transformation at unit learning rate
      (default ``optax.identity()``: SGD).
    - ``batches``: :class:`Minibatch`, :class:`Online`, or ``None``: full batch.
    - ``schedule``: ``step -> factor`` (e.g. ``optax.cosine_decay_schedule(1.0,
      steps)``), multiplying the step; ``None``: constant.
    - ``name``: how results and progress lines call it.
    """

    transform: optax.GradientTransformation = eqx.field(static=True,
                                                        default_factory=optax.identity)
    batches: AbstractBatches | None = None
    schedule: Callable | None = eqx.field(static=True, default=None)
    name: str = eqx.field(static=True, default="sgd")

    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = diffrax.LocalLinearInterpolation

    def order(self, terms):
        return 1

    def init(self, terms, t0, t1, y0, args):
        return jnp.zeros((), jnp.int32), self.transform.init(y0)

    def velocity(self, terms, t, y, args: StepArgs, step):
        """The step's velocity $v_B$: the flow's on the whole training set,
        or $-\\tau\\nabla\\mathcal J_B$ on the step's batch."""
        if self.batches is None:
            return terms.vf(t, y, args)
        system = args.system
        if not isinstance(system, AbstractSupervisedSystem):
            raise TypeError(f"mini-batch and online steps need a supervised system (inputs and "
                            f"targets), not {type(system).__name__}")
        if args.key is None:
            raise ValueError("stochastic optimizer steps need the run's noise key")
        x, target = self.batches.draw(system, args.key, step)
        return system.velocity(jax.grad(system.batch_objective)(y, x, target), y)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del made_jump
        step, opt_state = solver_state
        v = self.velocity(terms, t0, y0, args, step)
        g = jax.tree.map(jnp.negative, v)
        u, opt_state = self.transform.update(g, opt_state, y0)
        control = terms.contr(t0, t1)
        if self.schedule is not None:
            control = control * jnp.asarray(self.schedule(step), jnp.result_type(control))
        direction = jax.tree.map(jnp.negative, u)
        y1 = (y0**ω + terms.prod(direction, control) ** ω).ω
        return y1, None, dict(y0=y0, y1=y1), (step + 1, opt_state), diffrax.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)


def stochastic(solver) -> bool:
    """Whether ``solver``'s steps draw batches from the run's noise key."""
    return isinstance(solver, OptaxSolver) and solver.batches is not None


def sgd(*, momentum: float = 0.0, nesterov: bool = False, batches=None, schedule=None
        ) -> OptaxSolver:
    """SGD (``momentum = 0``) or heavy-ball / Nesterov momentum (``optax.trace``)."""
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1); got {momentum}")
    transform = optax.trace(decay=momentum, nesterov=nesterov) if momentum else optax.identity()
    name = "sgd" if not momentum else ("nesterov" if nesterov else "momentum")
    return OptaxSolver(transform, batches, schedule, name)


def adam(*, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, batches=None,
         schedule=None) -> OptaxSolver:
    """Adam (``optax.scale_by_adam``) on the flow's velocity."""
    return OptaxSolver(optax.scale_by_adam(b1=b1, b2=b2, eps=eps), batches, schedule, "adam")
