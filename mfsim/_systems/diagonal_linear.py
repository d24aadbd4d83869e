r"""Diagonal linear network $f(x) = \langle u^D - v^D, x\rangle$ (Woodworth et al. 2020).

With $\beta = u^D - v^D$ and init $u = v = \alpha\mathbf 1$ ($\beta_0 = 0$), the
gradient flow of $L = \frac1{2n}\|X\beta - y\|^2$ on an interpolable problem
converges (for $D = 2$) to

$$\arg\min_\beta Q_\alpha(\beta)\ \text{s.t.}\ X\beta = y,\qquad
Q_\alpha(\beta) = \alpha^2\sum_i q(\beta_i/\alpha^2),\quad
q(z) = 2 - \sqrt{4 + z^2} + z\,\mathrm{asinh}(z/2):$$

the minimum-$\ell_2$ interpolant as $\alpha\to\infty$ (kernel regime), the
minimum-$\ell_1$ one as $\alpha\to 0$ (rich regime). Conserved along the flow:
$u_i v_i$ for $D = 2$, $u_i^{2-D} + v_i^{2-D}$ for $D > 2$.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._system import (
    AbstractInvariantSystem,
    AbstractLinearPredictorSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
    as_float_array,
)


def q_potential(z):
    """$q(z) = 2 - \\sqrt{4 + z^2} + z\\,\\mathrm{asinh}(z/2)$."""
    return 2 - jnp.sqrt(4 + z**2) + z * jnp.arcsinh(z / 2)


def implicit_bias(beta, alpha):
    r"""$Q_\alpha(\beta) = \alpha^2\sum_i q(\beta_i/\alpha^2)$, the potential the
    $D = 2$ flow minimizes among interpolants."""
    return alpha**2 * jnp.sum(q_potential(beta / alpha**2))


class DiagonalLinearState(eqx.Module):
    u: Float[Array, " d"]
    v: Float[Array, " d"]


class DiagonalLinearNetwork(AbstractSupervisedSystem, AbstractScalarOutputSystem,
                            AbstractLinearPredictorSystem, AbstractInvariantSystem):
    r"""$f(x) = \langle u^D - v^D, x\rangle$, init $u = v = \alpha$, time scale ``time_scale``."""

    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]
    alpha: Float[Array, ""]
    tau: Float[Array, ""]
    depth: int = eqx.field(static=True)

    def __init__(self, x_train, y_train, *, alpha=1.0, depth=2, time_scale=1.0):
        self.x_train = as_float_array(x_train)
        dtype = self.x_train.dtype
        self.y_train = jnp.asarray(y_train, dtype)
        self.alpha = jnp.asarray(alpha, dtype)
        self.tau = jnp.asarray(time_scale, dtype)
        self.depth = int(depth)

    def __check_init__(self):
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2; got {self.depth}")

    def init(self, key=None) -> DiagonalLinearState:
        ones = jnp.ones(self.x_train.shape[1], self.x_train.dtype)
        return DiagonalLinearState(u=self.alpha * ones, v=self.alpha * ones)

    def beta(self, state: DiagonalLinearState) -> Float[Array, " d"]:
        """The linear predictor $\\beta = u^D - v^D$."""
        return state.u**self.depth - state.v**self.depth

    def predict(self, state, x):
        return x @ self.beta(state)

    def train_outputs(self, state):
        return self.predict(state, self.x_train)

    def time_scale(self):
        return self.tau

    def loss_weight(self):
        return jnp.ones((), self.x_train.dtype)

    def ntk(self, state, x1, x2):
        """$\\Theta(x,x') = \\sum_i D^2 (u_i^{2D-2} + v_i^{2D-2})\\,x_i x'_i$."""
        d = self.depth
        weight = d**2 * (state.u ** (2 * d - 2) + state.v ** (2 * d - 2))
        return (x1 * weight) @ x2.T

    def invariants(self, state) -> dict[str, Array]:
        if self.depth == 2:
            return {"uv": state.u * state.v}
        p = 2 - self.depth
        return {"u_v_power_sum": state.u**p + state.v**p}

    def invariant_labels(self) -> dict[str, str]:
        return {"uv": "product $u \\odot v$",
                "u_v_power_sum": f"$u^{{{2 - self.depth}}} + v^{{{2 - self.depth}}}$"}
