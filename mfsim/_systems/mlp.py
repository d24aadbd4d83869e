r"""Deep fully connected network in the NTK parameterization.

The convention of ``neural_tangents.stax.Dense(W_std=sigma_w, b_std=sigma_b)``:
with $a^0 = x$ and ``widths`` $= (n_1, \dots, n_L)$,

$$z^{l+1} = \frac{\sigma_w}{\sqrt{n_l}} W^l a^l + \sigma_b b^l,\qquad
a^{l} = \phi(z^{l}),\qquad f(x) = z^{L+1}\in\mathbb R,$$

with every $W^l, b^l\sim N(0,1)$ trained by gradient flow on the squared
loss ($\tau = 1$, weight 1). Its infinite-width kernels are
:func:`mfsim.fc_kernels` with ``depth = L``.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._activations import ACTIVATIONS, HOMOGENEOUS, activation_derivative, get_activation
from .._kernels.analytic import fc_kernels
from .._kernels.layerwise import layerwise_ntk
from .._system import (
    AbstractInfiniteWidthSystem,
    AbstractInvariantSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
    as_float_array,
)


class DenseParams(eqx.Module):
    """One layer: ``w`` of shape ``(n_out, n_in)``, ``b`` of shape ``(n_out,)`` or None."""

    w: Float[Array, "o i"]
    b: Float[Array, " o"] | None


class FCKernel(eqx.Module):
    """The analytic NTK of :class:`MLP` as a callable ``(x1, x2) -> Theta``."""

    sigma_w: Float[Array, ""]
    sigma_b: Float[Array, ""]
    depth: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __call__(self, x1, x2):
        return fc_kernels(x1, x2, depth=self.depth, activation=self.activation,
                          sigma_w=self.sigma_w, sigma_b=self.sigma_b)[1]


class MLP(AbstractSupervisedSystem, AbstractScalarOutputSystem, AbstractInvariantSystem,
          AbstractInfiniteWidthSystem):
    r"""Fully connected network with scalar output (``stax`` NTK parameterization).

    **Arguments:** ``x_train`` ``(n, d)``, ``y_train`` ``(n,)``, ``widths`` (the
    hidden widths; ``()`` is a linear model), ``activation``, ``sigma_w``,
    ``sigma_b``, ``bias`` (whether layers have biases).
    """

    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]
    sigma_w: Float[Array, ""]
    sigma_b: Float[Array, ""]
    widths: tuple[int, ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    bias: bool = eqx.field(static=True)

    def __init__(self, x_train, y_train, *, widths=(512, 512), activation="relu",
                 sigma_w=1.0, sigma_b=0.0, bias=True):
        self.x_train = as_float_array(x_train)
        dtype = self.x_train.dtype
        self.y_train = jnp.asarray(y_train, dtype)
        self.sigma_w = jnp.asarray(sigma_w, dtype)
        self.sigma_b = jnp.asarray(sigma_b, dtype)
        self.widths = tuple(int(w) for w in widths)
        self.activation = activation
        self.bias = bool(bias)

    def __check_init__(self):
        get_activation(self.activation)
        if any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive; got {self.widths}")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.x_train.shape[1],) + self.widths + (1,)

    def init(self, key: PRNGKeyArray) -> tuple[DenseParams, ...]:
        dtype = self.x_train.dtype
        keys = jax.random.split(key, len(self.sizes) - 1)
        layers = []
        for k, n_in, n_out in zip(keys, self.sizes[:-1], self.sizes[1:]):
            kw, kb = jax.random.split(k)
            b = jax.random.normal(kb, (n_out,), dtype) if self.bias else None
            layers.append(DenseParams(w=jax.random.normal(kw, (n_out, n_in), dtype), b=b))
        return tuple(layers)

    def _forward(self, layers, x):
        """Pre-activations ``z^1..z^{L+1}`` and layer inputs ``a^0..a^L``."""
        phi = ACTIVATIONS[self.activation]
        inputs, pres, a = [], [], x
        for i, layer in enumerate(layers):
            inputs.append(a)
            z = (self.sigma_w / math.sqrt(a.shape[-1])) * (a @ layer.w.T)
            if layer.b is not None:
                z = z + self.sigma_b * layer.b
            pres.append(z)
            a = phi(z) if i < len(layers) - 1 else z
        return inputs, pres

    def predict(self, state, x) -> Float[Array, " k"]:
        return self._forward(state, x)[1][-1][:, 0]

    def train_outputs(self, state) -> Float[Array, " n"]:
        return self.predict(state, self.x_train)

    def time_scale(self):
        return jnp.asarray(1.0, self.x_train.dtype)

    def loss_weight(self):
        return jnp.asarray(1.0, self.x_train.dtype)

    def _signals(self, layers, x):
        """Layer inputs and back-propagated signals $\\delta^{l+1} = \\partial f/\\partial z^{l+1}$."""
        phi = ACTIVATIONS[self.activation]
        inputs, pres = self._forward(layers, x)
        delta = jnp.ones_like(pres[-1])
        signals = [delta]
        for l in range(len(layers) - 1, 0, -1):
            scale = self.sigma_w / math.sqrt(inputs[l].shape[-1])
            delta = activation_derivative(phi, pres[l - 1]) * ((delta @ layers[l].w) * scale)
            signals.append(delta)
        return inputs, signals[::-1]

    def ntk(self, state, x1, x2) -> Float[Array, "n1 n2"]:
        """Structured NTK by the layerwise factorization (:func:`layerwise_ntk`)."""
        a1, d1 = self._signals(state, x1)
        a2, d2 = self._signals(state, x2)
        sw = [self.sigma_w / math.sqrt(n) for n in self.sizes[:-1]]
        sb = [self.sigma_b if self.bias else None] * len(sw)
        return layerwise_ntk(a1, a2, d1, d2, sw, sb)

    def invariants(self, state) -> dict[str, Array]:
        r"""For a positively 1-homogeneous activation (relu, identity), rescaling a
        hidden neuron's incoming weights and bias by $c$ and its outgoing weights by
        $1/c$ leaves $f$ unchanged, so the flow conserves, per neuron $i$ of hidden
        layer $l$: $\|W^{l-1}_{i,:}\|^2 + (b^{l-1}_i)^2 - \|W^{l}_{:,i}\|^2$."""
        if self.activation not in HOMOGENEOUS:
            return {}
        out = {}
        for l in range(1, len(state)):
            incoming = jnp.sum(state[l - 1].w ** 2, axis=1)
            if state[l - 1].b is not None:
                incoming = incoming + state[l - 1].b ** 2
            out[f"neuron_balance_{l}"] = incoming - jnp.sum(state[l].w ** 2, axis=0)
        return out

    def analytic_ntk(self) -> FCKernel:
        """The infinite-width NTK (:func:`mfsim.fc_kernels`, ``depth = len(widths)``)."""
        return FCKernel(sigma_w=self.sigma_w, sigma_b=self.sigma_b if self.bias else
                        jnp.zeros_like(self.sigma_b), depth=len(self.widths),
                        activation=self.activation)
