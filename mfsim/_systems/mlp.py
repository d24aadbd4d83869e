r"""Deep fully connected network under abc-parameterizations, with a
richness knob.

With $a^0 = x\in\mathbb R^{n_0}$, ``widths`` $= (n_1, \dots, n_L)$ and every
$W^l, b^l \sim N(0, 1)$ at initialization,

$$z^{l+1} = s^l W^l a^l + \sigma_b b^l,\qquad a^{l} = \phi(z^{l}),\qquad
h(x) = z^{L+1}\in\mathbb R,\qquad f = h/\gamma_0,$$

trained by $\dot\theta_p = -\tau\,r_p\,\partial_{\theta_p}\mathcal J$ on
$\mathcal J = \gamma_0^2 L(f)$ ($L$ the squared loss, $r_p$ a per-layer rate).
The ``parameterization`` fixes the multipliers $s^l$, the rates and $\tau$;
in Yang & Hu's abc terms (multiplier $n^{-a}$, initialization $N(0,
n^{-2b})$, learning rate $\eta n^{-c}$; here every $b = 0$ and the
multiplier carries the scale, an equivalent reparameterization):

| parameterization | $s^l$, $l < L$ | $s^L$ (readout) | rates $r$ | $\tau$ |
|---|---|---|---|---|
| ``ntk`` | $\sigma_w/\sqrt{n_l}$ | $\sigma_w/\sqrt{n_L}$ | 1 | 1 |
| ``mup`` (= ``mean_field``) | $\sigma_w/\sqrt{n_l}$ | $\sigma_w/n_L$ | 1 | $n_L$ |
| ``standard`` | $\sigma_w/\sqrt{n_l}$ | $\sigma_w/\sqrt{n_L}$ | $n_l/\sigma_w^2$, $1/\sigma_b^2$ | 1 |

``ntk`` is ``neural_tangents.stax.Dense(W_std=sigma_w, b_std=sigma_b)``; its
infinite-width kernels are :func:`mfsim.fc_kernels` (``depth = L``). ``mup``
is Bordelon & Pehlevan's mean-field/μP scaling: the readout divided by $n_L$
instead of $\sqrt{n_L}$ and time scaled by $n_L$, so features move $O(1)$ as
the width grows, where under ``ntk`` they move $O(n^{-1/2})$ (the lazy
regime); for deep networks mfsim's ``mean_field`` is this μP limit (hidden
multipliers $1/\sqrt{n}$), not the Nguyen–Pham deep mean-field scaling.
``standard`` trains the weights $\tilde W = s W$ at one learning rate (a
rate $1/s^2$ here): its dynamics are not width-stable. The richness
$\gamma_0$ divides the output and multiplies the objective by $\gamma_0^2$,
so $\dot f$ does not depend on it while the parameters move $O(\gamma_0)$:
$\gamma_0\to 0$ is the lazy limit (the two-layer network's ``scale`` is
$\alpha = 1/\gamma_0$). ``center=True`` fits $(h(x;\theta) - h(x;\theta_0))/\gamma_0$
(the state then also holds the initial layers).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._kernels.analytic import fc_kernels
from .._kernels.layerwise import layerwise_ntk
from .._system import (
    AbstractFeatureSystem,
    AbstractInfiniteWidthSystem,
    AbstractInvariantSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
    as_float_array,
)
from .activations import ACTIVATIONS, HOMOGENEOUS, activation_derivative, get_activation
from .losses import AbstractLoss, SquaredLoss, get_loss
from .parameterization import (
    DEEP_PARAMETERIZATIONS,
    NTK,
    AbstractParameterization,
    MeanField,
    Standard,
)
from .parameterization import parameterization as to_parameterization


class CenteredLayers(eqx.Module):
    """The state of a centred :class:`MLP`: the trained ``layers`` and the
    ``anchor`` (the layers at initialization, constant), so that
    $h(x;\theta) - h(x;\theta_0)$ is what is fitted."""

    layers: tuple
    anchor: tuple


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
          AbstractInfiniteWidthSystem, AbstractFeatureSystem):
    r"""Fully connected network with scalar output (``stax`` NTK parameterization).

    **Arguments:** ``x_train`` ``(n, d)``, ``y_train`` ``(n,)``, ``widths`` (the
    hidden widths; ``()`` is a linear model), ``activation``, ``sigma_w``,
    ``sigma_b``, ``bias`` (whether layers have biases).

    ``loss``: ``"squared"`` (default), ``"logistic"`` (labels +-1) or an
    :class:`mfsim.AbstractLoss`.
    """

    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]
    sigma_w: Float[Array, ""]
    sigma_b: Float[Array, ""]
    gamma0: Float[Array, ""]
    widths: tuple[int, ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    bias: bool = eqx.field(static=True)
    parameterization: AbstractParameterization = eqx.field(static=True, default=NTK())
    center: bool = eqx.field(static=True, default=False)
    loss_fn: AbstractLoss = eqx.field(default_factory=SquaredLoss)

    def __init__(self, x_train, y_train, *, widths=(512, 512), activation="relu",
                 sigma_w=1.0, sigma_b=0.0, bias=True, parameterization="ntk", gamma0=1.0,
                 center=False, loss: str | AbstractLoss = "squared"):
        self.x_train = as_float_array(x_train)
        dtype = self.x_train.dtype
        self.y_train = jnp.asarray(y_train, dtype)
        self.sigma_w = jnp.asarray(sigma_w, dtype)
        self.sigma_b = jnp.asarray(sigma_b, dtype)
        self.gamma0 = jnp.asarray(gamma0, dtype)
        self.widths = tuple(int(w) for w in widths)
        self.activation = activation
        self.bias = bool(bias)
        self.parameterization = to_parameterization(parameterization, DEEP_PARAMETERIZATIONS)
        self.center = bool(center)
        self.loss_fn = get_loss(loss)

    def loss_function(self) -> AbstractLoss:
        return self.loss_fn

    def __check_init__(self):
        get_activation(self.activation)
        if any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive; got {self.widths}")
        if isinstance(self.parameterization, MeanField) and not self.widths:
            raise ValueError(f"parameterization {self.parameterization.name} needs a hidden "
                             "layer")

    # ---------------------------------------------------- abc parameterization
    def weight_scales(self) -> list[float]:
        """The multipliers $s^l$ of the layers' weights: $\\sigma_w/\\sqrt{n_l}$,
        the readout's divided by the parameterization's width divisor."""
        fan_in = self.sizes[:-1]
        scales = [self.sigma_w / math.sqrt(n) for n in fan_in[:-1]]
        return scales + [self.sigma_w / self.parameterization.width_divisor(fan_in[-1])]

    def rates(self) -> list[tuple[float, float]]:
        """Per layer, the (weight, bias) rates $r$ multiplying $\tau$."""
        if not isinstance(self.parameterization, Standard):
            return [(1.0, 1.0)] * (len(self.sizes) - 1)
        positive = self.sigma_b > 0  # a bias of multiplier 0 has no gradient: any rate
        bias_rate = jnp.where(positive, 1.0 / jnp.where(positive, self.sigma_b**2, 1.0), 1.0)
        return [(n / self.sigma_w**2, bias_rate) for n in self.sizes[:-1]]

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
        if self.center:
            return CenteredLayers(tuple(layers), tuple(layers))
        return tuple(layers)

    def trainable(self, state):
        trains = jax.tree.map(eqx.is_inexact_array, self.layers(state))
        if self.center:
            return CenteredLayers(trains, jax.tree.map(lambda _: False, state.anchor))
        return trains

    def layers(self, state) -> tuple[DenseParams, ...]:
        """The trained layers of a state (a centred network's state also holds
        its initial layers, :class:`CenteredLayers`)."""
        return state.layers if self.center else state

    def _forward(self, layers, x):
        """Pre-activations ``z^1..z^{L+1}`` and layer inputs ``a^0..a^L``."""
        phi = ACTIVATIONS[self.activation]
        inputs, pres, a = [], [], x
        for i, (layer, scale) in enumerate(zip(layers, self.weight_scales())):
            inputs.append(a)
            z = scale * (a @ layer.w.T)
            if layer.b is not None:
                z = z + self.sigma_b * layer.b
            pres.append(z)
            a = phi(z) if i < len(layers) - 1 else z
        return inputs, pres

    def predict(self, state, x) -> Float[Array, " k"]:
        h = self._forward(self.layers(state), x)[1][-1][:, 0]
        if self.center:
            h = h - self._forward(jax.lax.stop_gradient(state.anchor), x)[1][-1][:, 0]
        return h / self.gamma0

    def parameters(self, state) -> dict[str, Array]:
        """The trained layers' arrays (``0_w``, ``0_b``, ...; not a centred
        network's anchor)."""
        return super().parameters(self.layers(state))

    def features(self, state, x) -> list[Float[Array, "k n_l"]]:
        """The hidden pre-activations $z^1..z^L$ (the features) on ``x``."""
        return self._forward(self.layers(state), x)[1][:-1]

    def train_outputs(self, state) -> Float[Array, " n"]:
        return self.predict(state, self.x_train)

    def time_scale(self):
        readout = self.widths[-1] if self.widths else self.x_train.shape[1]
        return jnp.asarray(float(self.parameterization.time_scale(readout)), self.x_train.dtype)

    def loss_weight(self):
        return self.gamma0**2

    def step_rates(self, state):
        r"""The rates of :meth:`rates` as a tree shaped like ``state`` (``None``
        outside the standard parameterization: all 1)."""
        if not isinstance(self.parameterization, Standard):
            return None
        layers = tuple(DenseParams(w=rw, b=None if layer.b is None else rb)
                       for layer, (rw, rb) in zip(self.layers(state), self.rates()))
        if self.center:
            return CenteredLayers(layers, jax.tree.map(lambda _: 1.0, state.anchor))
        return layers

    def _signals(self, layers, x):
        """Layer inputs and back-propagated signals $\\delta^{l+1} = \\partial f/\\partial z^{l+1}$."""
        phi = ACTIVATIONS[self.activation]
        inputs, pres = self._forward(layers, x)
        delta = jnp.ones_like(pres[-1])
        signals = [delta]
        scales = self.weight_scales()
        for l in range(len(layers) - 1, 0, -1):
            delta = activation_derivative(phi, pres[l - 1]) * ((delta @ layers[l].w) * scales[l])
            signals.append(delta)
        return inputs, signals[::-1]

    def ntk(self, state, x1, x2) -> Float[Array, "n1 n2"]:
        """Structured NTK by the layerwise factorization (:func:`layerwise_ntk`)."""
        a1, d1 = self._signals(self.layers(state), x1)
        a2, d2 = self._signals(self.layers(state), x2)
        rates = self.rates()
        sw = [s * jnp.sqrt(rw) for s, (rw, _) in zip(self.weight_scales(), rates)]
        sb = [self.sigma_b * jnp.sqrt(rb) if self.bias else None for _, rb in rates]
        return layerwise_ntk(a1, a2, d1, d2, sw, sb)

    def invariants(self, state) -> dict[str, Array]:
        r"""For a positively 1-homogeneous activation (relu, identity), rescaling a
        hidden neuron's incoming weights and bias by $c$ and its outgoing weights by
        $1/c$ leaves $f$ unchanged, so the flow conserves, per neuron $i$ of hidden
        layer $l$: $\|W^{l-1}_{i,:}\|^2 + (b^{l-1}_i)^2 - \|W^{l}_{:,i}\|^2$."""
        if self.activation not in HOMOGENEOUS:
            return {}
        out, rates, state = {}, self.rates(), self.layers(state)
        for l in range(1, len(state)):
            (rw_in, rb_in), (rw_out, _) = rates[l - 1], rates[l]
            incoming = jnp.sum(state[l - 1].w ** 2, axis=1) / rw_in
            if state[l - 1].b is not None:
                incoming = incoming + state[l - 1].b ** 2 / rb_in
            out[f"neuron_balance_{l}"] = incoming - jnp.sum(state[l].w ** 2, axis=0) / rw_out
        return out

    def invariant_labels(self) -> dict[str, str]:
        return {f"neuron_balance_{l}": f"layer-{l} neuron balance (in minus out weights)"
                for l in range(1, len(self.widths) + 1)}

    def analytic_ntk(self) -> FCKernel:
        """The infinite-width NTK (:func:`mfsim.fc_kernels`, ``depth = len(widths)``)
        of the ``ntk`` parameterization (the others have no finite limit kernel
        of $h$: it vanishes under ``mup`` and grows under ``standard``)."""
        if not isinstance(self.parameterization, NTK):
            raise ValueError(f"no infinite-width kernel for parameterization "
                             f"{self.parameterization.name} (only ntk)")
        return FCKernel(sigma_w=self.sigma_w, sigma_b=self.sigma_b if self.bias else
                        jnp.zeros_like(self.sigma_b), depth=len(self.widths),
                        activation=self.activation)
