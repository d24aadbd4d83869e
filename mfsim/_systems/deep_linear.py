r"""Deep linear network $f(x) = W_L \cdots W_1 x$.

Gradient flow $\dot W_l = -\tau\nabla_{W_l} L$ on
$L = \frac{1}{2n}\sum_i \|f(x_i) - y_i\|^2$ conserves the balancedness
matrices $W_{l+1}^\top W_{l+1} - W_l W_l^\top$ (Arora et al.; Saxe et al.).

Initializations (``init``, a name or its object: :class:`GaussianLayers`,
:class:`OrthogonalLayers`, :class:`BalancedLayers`, :class:`AlignedLayers`,
:class:`LambdaBalancedLayers`; the network holds the object):

- ``"gaussian"``: entries $N(0, \sigma^2/n_{in})$;
- ``"orthogonal"``: $\sigma$ times a (semi-)orthogonal matrix per layer;
- ``"balanced"``: draw $A$ with $N(0,\sigma^2/d)$ entries of the end-to-end
  shape, $A = U\Sigma V^\top$, and set $W_1 = \Sigma^{1/L}V^\top$,
  $W_l = \Sigma^{1/L}$, $W_L = U\Sigma^{1/L}$ (padded with zeros to the
  hidden widths): the product is $A$ and every balancedness matrix is 0;
- ``"aligned"`` (Saxe et al.): the balanced layers of $\sigma\,U V^\top$, with
  $U S V^\top$ the SVD of the input-output correlation $\frac1n Y^\top X$: every
  mode starts at strength $u_0 = \sigma$ along the data's own modes, so each
  follows $u(t) = s e^{2s\tau t}/(e^{2s\tau t} - 1 + s/u_0)$ exactly (whitened
  inputs);
- ``"lambda_balanced"`` (two layers): $W_2^\top W_2 - W_1 W_1^\top = \lambda I$,
  for $\lambda \ge 0$ from a Gaussian $W_1$ (scale $\sigma$) and
  $W_2 = Q(\lambda I + W_1W_1^\top)^{1/2}$ with $Q$ semi-orthogonal (needs
  $d_{out}\ge h$); for $\lambda < 0$ symmetrically from a Gaussian $W_2$
  (needs $d \ge h$). Other shapes cannot satisfy the constraint: an error.
"""

from __future__ import annotations

import abc
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._system import (
    AbstractInvariantSystem,
    AbstractLinearMapSystem,
    AbstractSupervisedSystem,
    as_float_array,
)


def _psd_sqrt(m):
    lam, u = jnp.linalg.eigh(0.5 * (m + m.T))
    return (u * jnp.sqrt(jnp.clip(lam, 0.0))) @ u.T


def _semi_orthogonal(key, rows, cols, dtype):
    """A ``rows x cols`` matrix with orthonormal columns (rows >= cols) or rows."""
    q, r = jnp.linalg.qr(jax.random.normal(key, (max(rows, cols), min(rows, cols)), dtype))
    q = q * jnp.sign(jnp.diagonal(r))
    return q if rows >= cols else q.T


def whiten(x: Float[Array, "n d"]) -> Float[Array, "n d"]:
    r"""Inputs with $\frac1n X^\top X = I$ ($X (\frac1n X^\top X)^{-1/2}$; needs $n\ge d$)."""
    cov = x.T @ x / x.shape[0]
    lam, u = jnp.linalg.eigh(cov)
    return x @ (u / jnp.sqrt(lam)) @ u.T


class DeepLinearNetwork(AbstractSupervisedSystem, AbstractLinearMapSystem, AbstractInvariantSystem):
    r"""$f(x) = W_L\cdots W_1 x$ with vector outputs, trained by gradient flow.

    **Arguments:** ``x_train`` ``(n, d)``, ``y_train`` ``(n, d_out)``, ``widths``
    (hidden widths, ``()`` for one layer), ``init`` (see module doc), ``scale``
    $\sigma$, ``lam`` $\lambda$ (``lambda_balanced``), ``time_scale``
    $\tau$ (gradient descent with learning rate $\eta$ is Euler with ``dt`` $= \eta/\tau$).
    The state is the tuple of layers ``(W_1, ..., W_L)``, ``W_l`` of shape
    ``(n_l, n_{l-1})``.
    """

    x_train: Float[Array, "n d"]
    y_train: Float[Array, "n o"]
    scale: Float[Array, ""]
    lam: Float[Array, ""]
    tau: Float[Array, ""]
    widths: tuple[int, ...] = eqx.field(static=True)
    layer_init: AbstractLayerInit = eqx.field(static=True)

    def __init__(self, x_train, y_train, *, widths=(), init="gaussian", scale=1.0, lam=0.0,
                 time_scale=1.0):
        self.x_train = as_float_array(x_train)
        dtype = self.x_train.dtype
        y_train = jnp.asarray(y_train, dtype)
        self.y_train = y_train[:, None] if y_train.ndim == 1 else y_train
        self.scale = jnp.asarray(scale, dtype)
        self.lam = jnp.asarray(lam, dtype)
        self.tau = jnp.asarray(time_scale, dtype)
        self.widths = tuple(int(w) for w in widths)
        self.layer_init = layer_init(init)

    def __check_init__(self):
        self.layer_init.check(self)
        if any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive; got {self.widths}")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.x_train.shape[1],) + self.widths + (self.y_train.shape[1],)

    # ------------------------------------------------------------------- init
    def init(self, key: PRNGKeyArray) -> tuple[Array, ...]:
        keys = jax.random.split(key, len(self.sizes))
        return self.layer_init.layers(self, keys, self.x_train.dtype)

    # ------------------------------------------------------- Saxe's closed form
    def saxe_singular_values(self, state0, t) -> Float[Array, " r"]:
        r"""Saxe et al.'s closed form for the end-to-end singular values at
        time ``t`` (descending, as :meth:`singular_values`).

        With one hidden layer and whitened inputs ($\frac1n X^\top X = I$) the
        gradient of $L$ is $W - \Sigma_{yx}$ with $\Sigma_{yx} = \frac1n Y^\top X
        = U S V^\top$. A balanced map aligned with these modes stays aligned,
        and mode $i$ (strength $u = u_i^\top W_2W_1 v_i$) follows
        $\dot u = 2\tau u (s - u)$:
        $u(t) = s / (1 + (s/u_0 - 1) e^{-2s\tau t})$ (and
        $u_0 / (1 + 2\tau u_0 t)$ for $s = 0$), with $u_0$ read off ``state0``.
        Exact for ``init = "aligned"``; for other initializations this is the
        decoupled-mode approximation (:meth:`saxe_exact` says which)."""
        cyx = self.y_train.T @ self.x_train / self.x_train.shape[0]
        u, s, vt = jnp.linalg.svd(cyx, full_matrices=False)
        u0 = jnp.einsum("oi,od,id->i", u, self.end_to_end(state0), vt)
        rate = 2.0 * self.tau * t
        safe_u0 = jnp.where(u0 == 0, 1.0, u0)
        learned = s / (1.0 + (s / safe_u0 - 1.0) * jnp.exp(-s * rate))
        unlearned = u0 / (1.0 + u0 * rate)
        strength = jnp.where(u0 == 0, 0.0, jnp.where(s > 0, learned, unlearned))
        return -jnp.sort(-jnp.abs(strength))

    def saxe_exact(self) -> str | None:
        """Why :meth:`saxe_singular_values` is not exact for this system (None
        when it is: one hidden layer, whitened inputs, the aligned init)."""
        if len(self.widths) != 1:
            return f"needs one hidden layer (widths has {len(self.widths)})"
        if not isinstance(self.layer_init, AlignedLayers):
            return f'needs init = "aligned" (not "{self.layer_init.name}")'
        x = jnp.asarray(self.x_train)
        gram = x.T @ x / x.shape[0]
        if not bool(jnp.allclose(gram, jnp.eye(gram.shape[0], dtype=gram.dtype),
                                 atol=1e3 * float(jnp.finfo(gram.dtype).eps))):
            return "needs whitened inputs, (1/n) X^T X = I (task.whiten = true)"
        return None

    # ------------------------------------------------------------------ model
    def end_to_end(self, state) -> Float[Array, "o d"]:
        """The product $W_L\\cdots W_1$."""
        m = state[0]
        for w in state[1:]:
            m = w @ m
        return m

    def predict(self, state, x) -> Float[Array, "k o"]:
        return x @ self.end_to_end(state).T

    def train_outputs(self, state):
        return self.predict(state, self.x_train)

    def time_scale(self):
        return self.tau

    def loss_weight(self):
        return jnp.ones((), self.x_train.dtype)

    def ntk(self, state, x1, x2) -> Float[Array, "n1 n2 o o"]:
        r"""$\Theta_{ab}(x,x') = \sum_l (P_l x\cdot P_l x')\,(Q_l Q_l^\top)_{ab}$ with
        $P_l = W_{l-1}\cdots W_1$ and $Q_l = W_L\cdots W_{l+1}$."""
        o = self.sizes[-1]
        below1, below2 = x1, x2  # P_l x, rows
        total = 0.0
        for l in range(len(state)):
            q = jnp.eye(o, dtype=x1.dtype)
            for w in state[l + 1:][::-1]:
                q = q @ w
            total = total + (below1 @ below2.T)[:, :, None, None] * (q @ q.T)[None, None]
            below1, below2 = below1 @ state[l].T, below2 @ state[l].T
        return total

    def invariants(self, state) -> dict[str, Array]:
        """Balancedness $W_{l+1}^\\top W_{l+1} - W_l W_l^\\top$, one matrix per hidden layer."""
        return {f"balance_{l + 1}": state[l + 1].T @ state[l + 1] - state[l] @ state[l].T
                for l in range(len(state) - 1)}

    def invariant_labels(self) -> dict[str, str]:
        return {f"balance_{l}": f"balancedness $W_{{{l + 1}}}^\\top W_{{{l + 1}}} - W_{l} W_{l}^\\top$"
                for l in range(1, len(self.widths) + 1)}


def correlation_directions(x, y):
    r"""$U V^\top$ from the SVD $U S V^\top$ of the input-output correlation
    $\frac1n Y^\top X$ (modes of singular value 0 left out): the map whose
    every mode has strength 1 along the data's own modes."""
    cyx = y.T @ x / x.shape[0]
    u, s, vt = jnp.linalg.svd(cyx, full_matrices=False)
    keep = (s > s[0] * 1e3 * jnp.finfo(s.dtype).eps).astype(s.dtype)
    return (u * keep) @ vt


def balanced_layers(sizes: tuple[int, ...], a, dtype) -> tuple[Array, ...]:
    """Layers of ``sizes`` whose product is ``a`` and whose balancedness
    matrices are 0."""
    depth = len(sizes) - 1
    if depth == 1:
        return (a,)
    u, s, vt = jnp.linalg.svd(a, full_matrices=False)
    root, r = s ** (1.0 / depth), s.shape[0]
    if min(sizes[1:-1]) < r:
        raise ValueError(f"balanced init needs hidden widths >= rank {r}")
    diag = jnp.arange(r)
    layers = []
    for l, (n_out, n_in) in enumerate(zip(sizes[1:], sizes[:-1])):
        w = jnp.zeros((n_out, n_in), dtype)
        if l == 0:
            w = w.at[:r].set(root[:, None] * vt)
        elif l == depth - 1:
            w = w.at[:, :r].set(u * root)
        else:
            w = w.at[diag, diag].set(root)
        layers.append(w)
    return tuple(layers)


class AbstractLayerInit(eqx.Module):
    """How a deep linear network's layers are drawn (module docstring)."""

    name: ClassVar[str]

    @abc.abstractmethod
    def layers(self, net: DeepLinearNetwork, keys, dtype) -> tuple[Array, ...]:
        """The layers of ``net``, drawn with ``keys`` (one per layer and more)."""

    def check(self, net: DeepLinearNetwork) -> None:
        """Refuse a network this initialization cannot draw."""


class GaussianLayers(AbstractLayerInit):
    r"""Entries $N(0, \sigma^2/n_{in})$."""

    name = "gaussian"

    def layers(self, net, keys, dtype):
        shapes = list(zip(net.sizes[1:], net.sizes[:-1]))  # (n_out, n_in) per layer
        return tuple(net.scale / math.sqrt(i) * jax.random.normal(k, (o, i), dtype)
                     for k, (o, i) in zip(keys, shapes))


class OrthogonalLayers(AbstractLayerInit):
    r"""$\sigma$ times a (semi-)orthogonal matrix per layer."""

    name = "orthogonal"

    def layers(self, net, keys, dtype):
        shapes = list(zip(net.sizes[1:], net.sizes[:-1]))
        return tuple(net.scale * _semi_orthogonal(k, o, i, dtype)
                     for k, (o, i) in zip(keys, shapes))


class BalancedLayers(AbstractLayerInit):
    """The balanced layers of a Gaussian end-to-end map (module docstring)."""

    name = "balanced"

    def layers(self, net, keys, dtype):
        d, o = net.sizes[0], net.sizes[-1]
        a = net.scale / math.sqrt(d) * jax.random.normal(keys[0], (o, d), dtype)
        return balanced_layers(net.sizes, a, dtype)


class AlignedLayers(AbstractLayerInit):
    r"""Saxe et al.'s: the balanced layers of the data's own modes, each at
    strength $\sigma$ (module docstring)."""

    name = "aligned"

    def layers(self, net, keys, dtype):
        return balanced_layers(
            net.sizes, net.scale * correlation_directions(net.x_train, net.y_train), dtype)


class LambdaBalancedLayers(AbstractLayerInit):
    r"""Two layers with $W_2^\top W_2 - W_1 W_1^\top = \lambda I$ (module docstring)."""

    name = "lambda_balanced"

    def check(self, net):
        if len(net.widths) != 1:
            raise ValueError("lambda_balanced init is for two layers (one hidden width)")

    def layers(self, net, keys, dtype):
        # W2^T W2 = lam I + W1 W1^T has full rank h when lam > 0, so W2 needs
        # d_out >= h; W1 W1^T = W2^T W2 - lam I likewise needs d >= h when lam < 0.
        d, h, o = net.sizes
        eye = jnp.eye(h, dtype=dtype)
        if float(net.lam) >= 0:
            if o < h:
                raise ValueError(f"lambda_balanced with lambda >= 0 needs d_out >= hidden width;"
                                 f" got d_out={o}, hidden={h}")
            w1 = net.scale / math.sqrt(d) * jax.random.normal(keys[0], (h, d), dtype)
            w2 = _semi_orthogonal(keys[1], o, h, dtype) @ _psd_sqrt(net.lam * eye + w1 @ w1.T)
        else:
            if d < h:
                raise ValueError(f"lambda_balanced with lambda < 0 needs input dim >= hidden "
                                 f"width; got d={d}, hidden={h}")
            w2 = net.scale / math.sqrt(h) * jax.random.normal(keys[1], (o, h), dtype)
            w1 = _psd_sqrt(w2.T @ w2 - net.lam * eye) @ _semi_orthogonal(keys[0], h, d, dtype)
        return (w1, w2)


LAYER_INITS: dict[str, AbstractLayerInit] = {i.name: i for i in (
    GaussianLayers(), OrthogonalLayers(), BalancedLayers(), AlignedLayers(),
    LambdaBalancedLayers())}


def layer_init(spec: str | AbstractLayerInit) -> AbstractLayerInit:
    """An object, or its name (``"gaussian"``, ``"orthogonal"``, ``"balanced"``,
    ``"aligned"``, ``"lambda_balanced"``)."""
    if isinstance(spec, AbstractLayerInit):
        return spec
    if isinstance(spec, str) and spec in LAYER_INITS:
        return LAYER_INITS[spec]
    raise ValueError(f"unknown init {spec!r}; allowed: {', '.join(LAYER_INITS)} (or an "
                     "AbstractLayerInit)")
