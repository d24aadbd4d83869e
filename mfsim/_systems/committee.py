r"""The soft committee machine of the teacher-student literature (Saad and
Solla 1995; Biehl and Schwarze 1995; Goldt et al. 2019).

Student $\phi(x) = \sum_{i=1}^K v_i\, g(\lambda_i)$, $\lambda_i = w_i\cdot x/\sqrt N$,
$g(z) = \mathrm{erf}(z/\sqrt2)$; teacher $y = \sum_{n=1}^M \tilde v_n g(\nu_n) +
\sigma\zeta$, $\nu_n = \tilde w_n\cdot x/\sqrt N$; inputs $x \sim N(0, I_N)$.
Per-sample loss $\frac12(\phi - y)^2$ (the squared loss).

Conventions (docs/theory.md, "Online SGD and the order-parameter ODEs"): the
time scale is $\tau = N$ with rate 1 for the first layer and ``output_rate``
$/N$ for the second (``step_rates``), so online SGD at learning rate $\eta$
(``solver.learning_rate``: $dt = \eta/N$ per sample) takes the literature's
steps $w_i \mathrel{-}= \frac{\eta}{\sqrt N} v_i g'(\lambda_i)\Delta\, x$ and $v_i
\mathrel{-}= \frac{\eta_v}{N} g(\lambda_i)\Delta$ with $\eta_v = $ ``output_rate``
$\cdot\,\eta$, and the flow time is $t = \eta\alpha$, $\alpha$ = samples / N.

Order parameters $Q = WW^\top/N$, $R = W\tilde W^\top/N$, $T = \tilde W\tilde
W^\top/N$ (:meth:`order_parameters`) determine the generalization error
$\epsilon_g = \frac12 E[(\phi - \phi^*)^2]$ in closed form
(:mod:`mfsim._kernels.erf_integrals`). ``population=True`` makes the objective
$\epsilon_g + \sigma^2/2$ itself (the population loss): its gradient flow is the
$\eta \to 0$ limit of online SGD, and its overlaps follow the order-parameter
ODEs without the $O(\eta)$ noise term exactly, at any $N$.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import erf
from jaxtyping import Array, Float, PRNGKeyArray

from .._kernels.erf_integrals import generalization_error
from .._system import (
    AbstractOrderParameterSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
    OrderParameters,
    as_float_array,
)


def g(z):
    """$\\mathrm{erf}(z/\\sqrt2)$."""
    return erf(z / jnp.sqrt(2.0).astype(z.dtype))


class CommitteeState(eqx.Module):
    """First-layer weights ``w`` ``(K, N)`` and second-layer weights ``v`` ``(K,)``."""

    w: Float[Array, "K N"]
    v: Float[Array, " K"]


class SoftCommittee(AbstractScalarOutputSystem, AbstractSupervisedSystem,
                    AbstractOrderParameterSystem):
    """A soft committee machine student (module docstring).

    **Arguments:** ``x_train`` ``(n, N)``, ``y_train`` ``(n,)``; ``teacher_w``
    ``(M, N)``, ``teacher_v`` ``(M,)``; ``width`` $K$; ``noise`` $\\sigma$ (the
    teacher's output noise); ``sigma_w``: initial weights $w_{ij} \\sim N(0,
    \\sigma_w^2)$ (so $Q_{ii} \\approx \\sigma_w^2$); ``v0``: initial second layer
    (all equal); ``train_output``: train $v$ too (Goldt et al.); ``output_rate``
    $\\eta_v/\\eta$; ``population``: the objective is the population loss.
    """

    x_train: Float[Array, "n N"]
    y_train: Float[Array, " n"]
    teacher_w: Float[Array, "M N"]
    teacher_v: Float[Array, " M"]
    noise: Float[Array, ""]
    sigma_w: Float[Array, ""]
    v0: Float[Array, ""]
    output_rate: Float[Array, ""]
    width: int = eqx.field(static=True)
    train_output: bool = eqx.field(static=True)
    population: bool = eqx.field(static=True)

    def __init__(self, x_train, y_train, teacher_w, teacher_v, *, width: int = 2,
                 noise: float = 0.0, sigma_w: float = 1e-3 ** 0.5, v0: float = 1.0,
                 train_output: bool = False, output_rate: float = 1.0,
                 population: bool = False):
        self.x_train = as_float_array(x_train)
        dtype = self.x_train.dtype
        self.y_train = jnp.asarray(y_train, dtype)
        self.teacher_w = jnp.asarray(teacher_w, dtype)
        self.teacher_v = jnp.asarray(teacher_v, dtype)
        self.noise = jnp.asarray(noise, dtype)
        self.sigma_w = jnp.asarray(sigma_w, dtype)
        self.v0 = jnp.asarray(v0, dtype)
        self.output_rate = jnp.asarray(output_rate, dtype)
        self.width = int(width)
        self.train_output = bool(train_output)
        self.population = bool(population)

    def __check_init__(self):
        if self.width < 1:
            raise ValueError(f"width must be positive; got {self.width}")
        if self.teacher_w.shape[1] != self.x_train.shape[1]:
            raise ValueError(f"teacher weights of dimension {self.teacher_w.shape[1]} for inputs "
                             f"of dimension {self.x_train.shape[1]}")

    @property
    def dim(self) -> int:
        return self.x_train.shape[1]

    def init(self, key: PRNGKeyArray) -> CommitteeState:
        dtype = self.x_train.dtype
        w = self.sigma_w * jax.random.normal(key, (self.width, self.dim), dtype)
        return CommitteeState(w, jnp.full((self.width,), self.v0, dtype))

    def _v(self, state):
        return state.v if self.train_output else jax.lax.stop_gradient(state.v)

    def predict(self, state: CommitteeState, x) -> Float[Array, " k"]:
        lam = x @ state.w.T / jnp.sqrt(jnp.asarray(self.dim, x.dtype))
        return g(lam) @ self._v(state)

    def train_outputs(self, state):
        return self.predict(state, self.x_train)

    def loss_weight(self):
        return jnp.ones((), self.x_train.dtype)

    def time_scale(self):
        return jnp.asarray(self.dim, self.x_train.dtype)

    def step_rates(self, state):
        return CommitteeState(w=jnp.ones((), self.x_train.dtype),
                              v=self.output_rate / self.dim)

    def trainable(self, state):
        return CommitteeState(w=True, v=self.train_output)

    def order_parameters(self, state) -> OrderParameters:
        n = jnp.asarray(self.dim, state.w.dtype)
        w, wt = state.w, self.teacher_w
        v = self._v(state)
        return OrderParameters(Q=w @ w.T / n, R=w @ wt.T / n, T=wt @ wt.T / n, v=v,
                               v_teacher=self.teacher_v)

    def generalization_error(self, state):
        return generalization_error(*self.order_parameters(state).closed_form_args())

    def objective(self, state):
        if self.population:  # E over fresh samples of (1/2)(phi - y)^2
            return self.generalization_error(state) + 0.5 * self.noise**2
        return super().objective(state)

    def ntk(self, state, x1, x2):
        r"""$\langle\nabla\phi(x_1), R\,\nabla\phi(x_2)\rangle$ in closed form (the
        function-space flow's kernel, with the layers' rates):
        $\sum_i v_i^2 g'(\lambda_i(x_1)) g'(\lambda_i(x_2))\, x_1\cdot x_2/N$, plus
        $\frac{\text{output\_rate}}{N}\sum_i g(\lambda_i(x_1)) g(\lambda_i(x_2))$
        when $v$ trains."""
        n = jnp.asarray(self.dim, x1.dtype)
        lam1, lam2 = x1 @ state.w.T / jnp.sqrt(n), x2 @ state.w.T / jnp.sqrt(n)
        dg = jnp.sqrt(2 / jnp.pi).astype(x1.dtype)
        d1, d2 = dg * jnp.exp(-lam1**2 / 2), dg * jnp.exp(-lam2**2 / 2)
        out = ((d1 * state.v**2) @ d2.T) * (x1 @ x2.T) / n
        if self.train_output:
            out = out + self.output_rate / n * (g(lam1) @ g(lam2).T)
        return out
