r"""Two-layer network whose neurons are particles.

$$f(x) = \alpha\, c_m \sum_{j=1}^m v_j\, \phi(w_j \cdot x + b_j)$$

- ``mean_field``: $c_m = 1/m$, time scale $\tau = m$, so each neuron moves
  $O(1)$ and the empirical measure $\frac1m\sum_j\delta_{(v_j,w_j,b_j)}$
  follows the mean-field continuity equation.
- ``ntk``: $c_m = 1/\sqrt m$, $\tau = 1$ (the kernel stays put as $m$ grows).
- ``mup`` (Yang & Hu's μP for two layers): as ``mean_field`` ($c_m = 1/m$,
  $\tau = m$) but the input layer has the multiplier $1/\sqrt d$ and
  $w\sim N(0,\sigma_w^2 I)$: $f = \alpha\,\frac1m\sum_j v_j\phi(w_j\cdot x/\sqrt d
  + b_j)$. The function at initialization has the same law as in
  ``mean_field`` ($w_j/\sqrt d$ there is $w_j$ here), but the effective input
  weights $w_j/\sqrt d$ move $d$ times slower: ``mean_field`` (no multiplier,
  $w\sim N(0,\sigma_w^2 I/d)$, one time scale for both layers) trains the
  first layer $d$ times faster than μP when $|x|^2 = d$. Biases have no
  multiplier in either.
- Output scale $\alpha$ (Chizat–Oyallon–Bach): the objective is
  $\frac{1}{\alpha^2} L(\alpha h)$, lazy as $\alpha\to\infty$.

Two ways to start from a zero output: ``init="symmetric"`` draws $m/2$
neurons and mirrors them as $(-v_j, w_j, b_j)$; ``center=True`` subtracts the
output at initialization, $f(x) = \alpha\,(h(x;\theta) - h(x;\theta_0))$.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._kernels.analytic import TwoLayerKernel
from .._system import (
    AbstractInfiniteWidthSystem,
    AbstractInvariantSystem,
    AbstractParticleSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
    as_float_array,
)
from .activations import ACTIVATIONS, HOMOGENEOUS, activation_derivative, get_activation
from .losses import AbstractLoss, SquaredLoss, get_loss
from .parameterization import AbstractNeuronInit, AbstractParameterization
from .parameterization import neuron_init as to_neuron_init
from .parameterization import parameterization as to_parameterization

LAYERS = ("hidden", "output")

# Particle blocking: the output is summed over blocks of neurons in a
# checkpointed scan, so that the (n, m) pre-activations never exist at once
# (memory O(n * block)) and, on CPU, stay in cache; the gradient recomputes
# each block's activations instead of storing them. On a GPU small blocks
# starve the device, so accelerators block only past 1 GiB of
# pre-activations, in blocks of ACCELERATOR_BLOCK_ELEMENTS / n neurons (256
# MiB of float32 pre-activations each). The thresholds are measured:
# bench/flops.py on CPU, bench/RESULTS.md "GPU record" on an H200.
PARTICLE_BLOCK = 128
CPU_BLOCK_MIN_ELEMENTS = 2**24  # n * m from which CPU runs block (below it, blocking costs)
ACCELERATOR_BLOCK_MIN_ELEMENTS = 2**28  # 1 GiB of float32 pre-activations
ACCELERATOR_BLOCK_ELEMENTS = 2**26  # n * block on accelerators (a power of two of neurons)


def auto_block(n: int, width: int, platform: str | None = None) -> int:
    """Neurons per block for ``n`` inputs at this width (0: no blocking)."""
    platform = platform or jax.default_backend()
    if platform == "cpu":
        threshold, block = CPU_BLOCK_MIN_ELEMENTS, PARTICLE_BLOCK
    else:
        threshold = ACCELERATOR_BLOCK_MIN_ELEMENTS
        block = max(PARTICLE_BLOCK, 1 << ((ACCELERATOR_BLOCK_ELEMENTS // max(n, 1)).bit_length()
                                          - 1))
    return block if n * width >= threshold and width >= 2 * block else 0


class TwoLayerParams(eqx.Module):
    """Neuron parameters: output weights ``v``, input weights ``w``, biases ``b``."""

    v: Float[Array, " m"]
    w: Float[Array, "m d"]
    b: Float[Array, " m"] | None


class TwoLayerState(eqx.Module):
    """State of a :class:`TwoLayerNetwork`.

    ``anchor`` holds $\\theta_0$ and ``anchor_train`` the outputs
    $h(X_{train};\\theta_0)$ when the model is centred (``None`` otherwise);
    both stay constant during training.
    """

    params: TwoLayerParams
    anchor: TwoLayerParams | None
    anchor_train: Float[Array, " n"] | None


class TwoLayerNetwork(AbstractSupervisedSystem, AbstractScalarOutputSystem, AbstractParticleSystem,
                      AbstractInvariantSystem, AbstractInfiniteWidthSystem):
    r"""Two-layer network trained by gradient flow on the squared loss.

    **Arguments:**

    - ``x_train``, ``y_train``: training inputs ``(n, d)`` and targets ``(n,)``;
      their dtype is the run's dtype.
    - ``width``: number of neurons $m$.
    - ``activation``: one of ``relu`` (derivative 0 at 0), ``tanh``, ``erf``,
      ``gelu`` (exact), ``identity``.
    - ``parameterization``: :class:`mfsim.MeanField` (``"mean_field"``),
      :class:`mfsim.NTK` (``"ntk"``) or :class:`mfsim.MuP` (``"mup"``)
      (module docstring); a name becomes its object.
    - ``scale``: output scale $\alpha > 0$.
    - ``bias``: whether neurons have a bias $b_j$.
    - ``train``: the layers that train, a subset of ``("hidden", "output")``;
      ``hidden`` is $(w, b)$, ``output`` is $v$.
    - ``init``: :class:`mfsim.Gaussian` (``"gaussian"``) or
      :class:`mfsim.Symmetric` (``"symmetric"``: mirrored pairs; even width).
    - ``center``: subtract the output at initialization.
    - ``sigma_v``, ``sigma_w``, ``sigma_b``: init stds,
      $v\sim N(0,\sigma_v^2)$, $w\sim N(0,\sigma_w^2 I/d)$ ($N(0,\sigma_w^2 I)$
      in ``mup``), $b\sim N(0,\sigma_b^2)$.
    - ``block``: neurons per block when summing the output (memory
      $O(n\cdot\text{block})$ instead of $O(nm)$; 0: no blocking; ``None``:
      :func:`auto_block`, by device and $n m$). Results agree to rounding.
    - ``fused``: take the gradient of the objective (what the flow, gradient
      descent and :meth:`gradient` use) through the fused Pallas kernels of
      :mod:`mfsim._systems.fused_two_layer`, which never hold the $n\times m$
      pre-activations. They compile for GPUs (Triton) and run in Pallas'
      interpret mode elsewhere: exact but slow, so the default is ``False``.
      Losses, predictions, stochastic batches and Hessian products take the
      plain path either way.
    - ``loss``: the training loss, ``"squared"`` (default), ``"logistic"`` (labels
      +-1) or ``"cross_entropy"`` (:mod:`mfsim._systems.losses`); an :class:`mfsim.AbstractLoss`.
    """

    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]
    alpha: Float[Array, ""]
    sigma_v: Float[Array, ""]
    sigma_w: Float[Array, ""]
    sigma_b: Float[Array, ""]
    width: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    parameterization: AbstractParameterization = eqx.field(static=True)
    bias: bool = eqx.field(static=True)
    train: tuple[str, ...] = eqx.field(static=True)
    neuron_init: AbstractNeuronInit = eqx.field(static=True)
    center: bool = eqx.field(static=True)
    block: int = eqx.field(static=True, default=0)
    fused: bool = eqx.field(static=True, default=False)
    loss_fn: AbstractLoss = eqx.field(default_factory=SquaredLoss)

    def __init__(
        self,
        x_train,
        y_train,
        *,
        width: int,
        activation: str = "relu",
        parameterization: str | AbstractParameterization = "mean_field",
        scale: float = 1.0,
        bias: bool = False,
        train: tuple[str, ...] = LAYERS,
        init: str | AbstractNeuronInit = "gaussian",
        center: bool = False,
        sigma_v: float = 1.0,
        sigma_w: float = 1.0,
        sigma_b: float = 1.0,
        block: int | None = None,
        loss: str | AbstractLoss = "squared",
        fused: bool = False,
    ):
        self.x_train = x_train = as_float_array(x_train)
        dtype = x_train.dtype
        self.y_train = jnp.asarray(y_train, dtype)
        self.alpha = jnp.asarray(scale, dtype)
        self.sigma_v = jnp.asarray(sigma_v, dtype)
        self.sigma_w = jnp.asarray(sigma_w, dtype)
        self.sigma_b = jnp.asarray(sigma_b, dtype)
        self.loss_fn = get_loss(loss)
        self.width = int(width)
        self.activation = activation
        self.parameterization = to_parameterization(parameterization)
        self.bias = bool(bias)
        self.train = tuple(train)
        self.neuron_init = to_neuron_init(init)
        self.center = bool(center)
        self.block = auto_block(x_train.shape[0], int(width)) if block is None else int(block)
        self.fused = bool(fused)

    def __check_init__(self):
        if self.x_train.ndim != 2:
            raise ValueError(f"x_train must be (n, d); got shape {self.x_train.shape}")
        if self.y_train.shape != (self.x_train.shape[0],):
            raise ValueError(
                f"y_train must be (n,) = ({self.x_train.shape[0]},); got {self.y_train.shape}"
            )
        if self.width < 1:
            raise ValueError(f"width must be a positive integer; got {self.width}")
        get_activation(self.activation)
        if not set(self.train) <= set(LAYERS):
            raise ValueError(f"train must be a subset of {LAYERS}; got {self.train}")
        if self.block < 0:
            raise ValueError(f"block must be >= 0 (0: no blocking); got {self.block}")
        self.neuron_init.check(self.width)

    # ------------------------------------------------------------------ model
    @property
    def dim(self) -> int:
        return self.x_train.shape[1]

    def output_factor(self) -> float:
        r"""$c_m$: $1/m$ (mean field, μP) or $1/\\sqrt m$ (NTK)."""
        return self.parameterization.output_factor(self.width)

    def input_multiplier(self) -> float:
        r"""The input layer's multiplier: $1/\\sqrt d$ in μP, 1 otherwise."""
        return self.parameterization.input_multiplier(self.dim)

    def time_scale(self):
        r"""$\\tau = m$ (mean field, μP) or $1$ (NTK)."""
        return jnp.asarray(self.parameterization.time_scale(self.width), self.x_train.dtype)

    def features(self, params: TwoLayerParams, x: Float[Array, "k d"]) -> Float[Array, "k m"]:
        r"""Hidden-layer activations $\\phi(a\\,x\\cdot w_j + b_j)$ ($a$ the input
        multiplier)."""
        pre = x @ params.w.T
        if self.input_multiplier() != 1.0:
            pre = pre * self.input_multiplier()
        if params.b is not None:
            pre = pre + params.b
        return ACTIVATIONS[self.activation](pre)

    def raw_output(self, params: TwoLayerParams, x: Float[Array, "k d"]) -> Float[Array, " k"]:
        r"""$h(x;\\theta) = c_m \\sum_j v_j \\phi(w_j\\cdot x + b_j)$ (no $\\alpha$)."""
        n_blocks = self.width // self.block if self.block else 0
        if n_blocks < 2:
            return self.output_factor() * (self.features(params, x) @ params.v)
        split = n_blocks * self.block

        def blocks(a):
            return None if a is None else a[:split].reshape(n_blocks, self.block, *a.shape[1:])

        @jax.checkpoint
        def add_block(acc, block):
            return acc + self.features(block, x) @ block.v, None

        full = TwoLayerParams(v=blocks(params.v), w=blocks(params.w), b=blocks(params.b))
        out, _ = jax.lax.scan(add_block, jnp.zeros(x.shape[0], x.dtype), full)
        if split < self.width:
            tail = TwoLayerParams(v=params.v[split:], w=params.w[split:],
                                  b=None if params.b is None else params.b[split:])
            out = out + self.features(tail, x) @ tail.v
        return self.output_factor() * out

    def fused_raw_output(self, params: TwoLayerParams, x: Float[Array, "k d"]
                         ) -> Float[Array, " k"]:
        r"""$h(x;\\theta)$ as :meth:`raw_output`, by the fused kernels (reverse-mode
        differentiable only)."""
        from .fused_two_layer import fused_output  # Pallas (40 ms) only when asked for

        return self.output_factor() * fused_output(x, params.w, params.v, params.b,
                                                   self.activation, self.input_multiplier())

    def _trainable(self, params: TwoLayerParams) -> TwoLayerParams:
        """``params`` with the frozen layers cut from the gradient."""
        hidden, output = "hidden" in self.train, "output" in self.train
        cut = jax.lax.stop_gradient
        return TwoLayerParams(
            v=params.v if output else cut(params.v),
            w=params.w if hidden else cut(params.w),
            b=None if params.b is None else (params.b if hidden else cut(params.b)),
        )

    def loss_function(self) -> AbstractLoss:
        return self.loss_fn

    def trainable(self, state: TwoLayerState) -> TwoLayerState:
        hidden, output = "hidden" in self.train, "output" in self.train
        p = state.params
        return TwoLayerState(
            TwoLayerParams(v=output, w=hidden, b=None if p.b is None else hidden),
            anchor=jax.tree.map(lambda _: False, state.anchor),
            anchor_train=jax.tree.map(lambda _: False, state.anchor_train))

    def predict(self, state: TwoLayerState, x) -> Float[Array, " k"]:
        h = self.raw_output(self._trainable(state.params), x)
        if self.center:
            h = h - self.raw_output(jax.lax.stop_gradient(state.anchor), x)
        return self.alpha * h

    def train_outputs(self, state: TwoLayerState) -> Float[Array, " n"]:
        # predict() on x_train, with the anchor's outputs precomputed
        h = self.raw_output(self._trainable(state.params), self.x_train)
        if self.center:
            h = h - jax.lax.stop_gradient(state.anchor_train)
        return self.alpha * h

    def gradient(self, state: TwoLayerState) -> TwoLayerState:
        """The objective's gradient; with ``fused``, through the fused kernels
        (the same objective as :meth:`objective`, the same frozen layers)."""
        if not self.fused:
            return super().gradient(state)

        def objective(s: TwoLayerState):
            h = self.fused_raw_output(self._trainable(s.params), self.x_train)
            if self.center:
                h = h - jax.lax.stop_gradient(s.anchor_train)
            return self.loss_weight() * self.loss_fn(self.alpha * h, self.y_train)

        return jax.grad(objective)(state)

    def loss_weight(self):
        r"""$1/\alpha^2$: the objective is $\frac{1}{\alpha^2} L(\alpha h)$."""
        return 1.0 / self.alpha**2

    def ntk(self, state: TwoLayerState, x1, x2) -> Float[Array, "n1 n2"]:
        r"""Structured $O(n_1 n_2 m)$ empirical NTK of $h$ (equal to $\Theta$ of
        the flow, $\frac{1}{\alpha^2}\langle\nabla f,\nabla f\rangle$):

        $c_m^2\,[\Phi_1\Phi_2^\top + (x_1\cdot x_2 + 1_{bias})\odot
        \Phi'_1\,\mathrm{diag}(v^2)\,\Phi'^\top_2]$, trained layers only.
        """
        p = state.params
        phi = ACTIVATIONS[self.activation]
        a = self.input_multiplier()
        pre1, pre2 = a * (x1 @ p.w.T), a * (x2 @ p.w.T)
        if p.b is not None:
            pre1, pre2 = pre1 + p.b, pre2 + p.b
        k = jnp.zeros((x1.shape[0], x2.shape[0]), pre1.dtype)
        if "output" in self.train:
            k = k + phi(pre1) @ phi(pre2).T
        if "hidden" in self.train:
            d1, d2 = activation_derivative(phi, pre1), activation_derivative(phi, pre2)
            dot = a**2 * (x1 @ x2.T) + (1.0 if p.b is not None else 0.0)
            k = k + dot * ((d1 * p.v**2) @ d2.T)
        return self.output_factor() ** 2 * k

    def analytic_ntk(self) -> TwoLayerKernel:
        r"""The infinite-width kernel $K = \lim_{m\to\infty}\tau\Theta_m$ as a
        callable ``(x1, x2) -> K`` (see :func:`mfsim.two_layer_kernels`)."""
        return TwoLayerKernel(
            sigma_v=self.sigma_v, sigma_w=self.sigma_w, sigma_b=self.sigma_b,
            activation=self.activation, bias=self.bias, train=self.train,
            input_multiplier=self.input_multiplier(),
        )

    # ------------------------------------------------------------------- init
    def init(self, key: PRNGKeyArray) -> TwoLayerState:
        dtype = self.x_train.dtype
        m = self.neuron_init.drawn(self.width)
        kv, kw, kb = jax.random.split(key, 3)
        v = self.sigma_v * jax.random.normal(kv, (m,), dtype)
        w_std = self.parameterization.input_std(self.sigma_w, self.dim)
        w = w_std * jax.random.normal(kw, (m, self.dim), dtype)
        b = self.sigma_b * jax.random.normal(kb, (m,), dtype) if self.bias else None
        v, w, b = self.neuron_init.arrange(v, w, b)
        params = TwoLayerParams(v=v, w=w, b=b)
        if not self.center:
            return TwoLayerState(params=params, anchor=None, anchor_train=None)
        return TwoLayerState(
            params=params, anchor=params, anchor_train=self.raw_output(params, self.x_train)
        )

    def make_state(self, v, w, b=None, *, anchor: TwoLayerParams | None = None
                   ) -> TwoLayerState:
        r"""A checked initial state from your own arrays: output weights ``v``
        ``(m,)``, input weights ``w`` ``(m, d)`` and, with ``bias``, ``b``
        ``(m,)``, cast to the network's dtype. A centred network
        (``center=True``) is centred at ``anchor`` (default: these
        parameters, so $f = 0$ at the start), its training outputs computed
        here. A ValueError names the argument whose shape, dtype kind or
        values (non-finite) are wrong, or a ``b`` given to a network without
        bias."""
        dtype = self.x_train.dtype
        shapes = {"v": (self.width,), "w": (self.width, self.dim), "b": (self.width,)}

        def checked(name, value):
            arr = jnp.asarray(value)
            if not (jnp.issubdtype(arr.dtype, jnp.floating)
                    or jnp.issubdtype(arr.dtype, jnp.integer)):
                raise ValueError(f"{name}: needs real numbers; got dtype {arr.dtype}")
            if arr.shape != shapes[name]:
                raise ValueError(f"{name}: needs shape {shapes[name]} (width {self.width}, "
                                 f"input dimension {self.dim}); got {arr.shape}")
            arr = arr.astype(dtype)
            if not bool(jnp.all(jnp.isfinite(arr))):
                raise ValueError(f"{name}: has values that are not finite in {dtype}")
            return arr

        if self.bias and b is None:
            raise ValueError("b: the network has biases; give b of shape "
                             f"({self.width},)")
        if not self.bias and b is not None:
            raise ValueError("b: the network has no bias (bias=False); leave b out")
        params = TwoLayerParams(v=checked("v", v), w=checked("w", w),
                                b=None if b is None else checked("b", b))
        if not self.center:
            if anchor is not None:
                raise ValueError("anchor: only a centred network (center=True) has one")
            return TwoLayerState(params=params, anchor=None, anchor_train=None)
        if anchor is None:
            anchor = params
        else:
            anchor = TwoLayerParams(v=checked("v", anchor.v), w=checked("w", anchor.w),
                                    b=None if anchor.b is None else checked("b", anchor.b))
        return TwoLayerState(params=params, anchor=anchor,
                             anchor_train=self.raw_output(anchor, self.x_train))

    # ------------------------------------------------------------ diagnostics
    def parameters(self, state: TwoLayerState) -> dict[str, Array]:
        """``v``, ``w`` and ``b`` (the anchor of a centred model is not a parameter)."""
        p = state.params
        return {"v": p.v, "w": p.w} | ({"b": p.b} if p.b is not None else {})

    def particles(self, state: TwoLayerState) -> Float[Array, "m p"]:
        """Neurons as rows $(v_j, w_j)$, or $(v_j, w_j, b_j)$ with bias: ``(m, d+1|d+2)``."""
        p = state.params
        cols = [p.v[:, None], p.w] + ([p.b[:, None]] if p.b is not None else [])
        return jnp.concatenate(cols, axis=1)

    def invariants(self, state: TwoLayerState) -> dict[str, Array]:
        """Conserved quantities of the flow.

        For a positively 1-homogeneous activation without bias, with both
        layers training, $v_j^2 - \\|w_j\\|^2$ is conserved for every neuron.
        """
        if self.activation in HOMOGENEOUS and not self.bias and set(self.train) == set(LAYERS):
            p = state.params
            return {"neuron_balance": p.v**2 - jnp.sum(p.w**2, axis=1)}
        return {}

    def invariant_labels(self) -> dict[str, str]:
        return {"neuron_balance": "neuron balance $v_j^2 - \\|w_j\\|^2$"}
