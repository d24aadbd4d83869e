r"""Any Equinox model as a system: ``mfsim.network(model, x_train, y_train)``.

The model maps one example (any shape: a vector, an image ``(c, h, w)``) to a
scalar or a vector; it is applied to a batch with ``jax.vmap``. Every floating
array of the model trains (or the subset ``filter_spec`` selects, as for
``eqx.partition``); the rest is frozen. ``init(key)`` returns the model's
own arrays, or, with ``init_fn`` (a callable ``key -> model`` of the same
structure), a fresh model per key, so seeds redraw the network (its trainable
arrays: frozen ones stay ``model``'s). With the richness ``gamma0``
($\gamma_0$) and centring:

$$f(x;\theta) = \frac{h(x;\theta) - [\text{center}]\,h(x;\theta_0)}{\gamma_0},
\qquad \mathcal J(\theta) = \gamma_0^2\,L(f),\qquad
\dot\theta = -\tau\nabla_\theta\mathcal J,$$

$L$ the squared loss $\frac1{2n}\sum_i\|f(x_i) - y_i\|^2$. So
$\dot\theta = -\tau\gamma_0\,\nabla_\theta h^\top (f - y)/n$ and the function
moves as $\dot f = -\frac{\tau}{n}\Theta(f - y)$ with $\Theta = \nabla h\nabla
h^\top$ whatever $\gamma_0$: as $\gamma_0\to 0$ the parameters move
$O(\gamma_0)$ for an $O(1)$ change of $f$, the lazy limit (the two-layer
network's output scale is $\alpha = 1/\gamma_0$). ``time_scale`` is $\tau$
(1 by default; a mean-field model of width $m$ wants $m$).

The NTK is the generic empirical kernel (:func:`mfsim.empirical_ntk`,
blocked to a memory budget; Jacobian contraction, or NTK-vector products when
the parameters outnumber the entries of a block's Jacobian contraction).
:func:`network` builds a :class:`ScalarNetwork` for a model with scalar
outputs (an :class:`mfsim.AbstractScalarOutputSystem`, so scalar-kernel
monitors and the constant-kernel twins accept it), else a :class:`Network`;
``Network(model, ...)`` of a scalar-output model is refused, naming it.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PyTree

from .._kernels.empirical import (
    DEFAULT_MEMORY_BUDGET,
    JacobianContraction,
    NTKVectorProducts,
    empirical_ntk,
)
from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem, as_float_array
from .losses import AbstractLoss, SquaredLoss, get_loss


class NetworkState(eqx.Module):
    """The trainable arrays of the model and, for a centred network, their
    initial values (constant)."""

    params: PyTree
    anchor: PyTree | None


def _path_name(path) -> str:
    name = jax.tree_util.keystr(path, simple=True, separator="_")
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_") or "params"


class Network(AbstractSupervisedSystem):
    """An Equinox model trained by gradient flow on the squared loss (module
    docstring). ``init(key)`` returns the model's own arrays (the key is not
    used: the model is its initialization) unless ``init_fn`` is given.
    ``memory_budget`` (bytes) bounds the empirical NTK's working memory.
    ``loss``: ``"squared"`` (default), ``"logistic"`` (labels +-1),
    ``"cross_entropy"`` (logits, one-hot targets), or an :class:`mfsim.AbstractLoss`."""

    x_train: Array
    y_train: Array
    params0: PyTree
    frozen: PyTree
    gamma0: Array
    tau: Array
    center: bool = eqx.field(static=True)
    filter_spec: Callable | PyTree = eqx.field(static=True)
    init_fn: Callable | None = eqx.field(static=True, default=None)
    loss_fn: AbstractLoss = eqx.field(default_factory=SquaredLoss)
    memory_budget: int = eqx.field(static=True, default=DEFAULT_MEMORY_BUDGET)

    def __init__(self, model: eqx.Module, x_train, y_train, *, gamma0: float = 1.0,
                 center: bool = False, time_scale: float = 1.0,
                 filter_spec: Callable | PyTree = eqx.is_inexact_array,
                 init_fn: Callable | None = None,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET,
                 loss: str | AbstractLoss = "squared"):
        self.x_train = as_float_array(x_train)
        dtype = self.x_train.dtype
        self.y_train = jnp.asarray(y_train, dtype)
        params, self.frozen = eqx.partition(model, filter_spec)
        self.params0 = jax.tree.map(lambda a: jnp.asarray(a, dtype), params)
        if not float(gamma0) > 0:  # checked on the number: a build on data shapes traces this
            raise ValueError(f"gamma0 must be > 0; got {float(gamma0)}")
        self.gamma0 = jnp.asarray(gamma0, dtype)
        self.tau = jnp.asarray(time_scale, dtype)
        self.center = bool(center)
        # kept for init_fn's draws only (a static field must hash)
        self.filter_spec = filter_spec if init_fn is not None else None
        self.init_fn = init_fn
        self.memory_budget = int(memory_budget)
        self.loss_fn = get_loss(loss)
        if (not isinstance(self, AbstractScalarOutputSystem)
                and _scalar_outputs(model, filter_spec, self.x_train)):
            # one way in: the builder keeps the model's capabilities
            raise TypeError(
                f"mfsim.{type(self).__name__}({type(model).__name__}, ...) would lose the "
                "model's scalar outputs (kernel monitors and twins need them): build it with "
                "mfsim.network(model, x_train, y_train, ...)")

    def loss_function(self) -> AbstractLoss:
        return self.loss_fn

    def __check_init__(self):
        if not jax.tree.leaves(self.params0):
            raise ValueError("the model has no floating arrays to train (check filter_spec)")
        out = jax.eval_shape(self.model(self.params0), self.x_train[0])
        expected = self.y_train.shape[1:]
        if out.shape != expected:
            raise ValueError(f"the model maps one example to shape {out.shape}, but y_train "
                             f"has per-example shape {expected}")

    def model(self, params) -> eqx.Module:
        """The Equinox model with ``params`` as its trainable arrays."""
        return eqx.combine(params, self.frozen)

    def raw_output(self, params, x):
        """$h(x;\\theta)$ on a batch (``jax.vmap`` of the model)."""
        return jax.vmap(self.model(params))(x)

    def init(self, key=None) -> NetworkState:
        """The model's arrays; with ``init_fn``, those of ``init_fn(key)``
        (a fresh draw per key, cast to the run's dtype)."""
        params = self.params0
        if self.init_fn is not None:
            if key is None:
                raise ValueError("this Network draws its model with init_fn: pass a key")
            drawn, _ = eqx.partition(self.init_fn(key), self.filter_spec)
            params = jax.tree.map(lambda a, b: jnp.asarray(a, b.dtype), drawn, self.params0)
        return NetworkState(params, params if self.center else None)

    def trainable(self, state: NetworkState) -> NetworkState:
        return NetworkState(jax.tree.map(eqx.is_inexact_array, state.params),
                            jax.tree.map(lambda _: False, state.anchor))

    def predict(self, state: NetworkState, x):
        h = self.raw_output(state.params, x)
        if self.center:
            h = h - self.raw_output(jax.lax.stop_gradient(state.anchor), x)
        return h / self.gamma0

    def train_outputs(self, state: NetworkState):
        return self.predict(state, self.x_train)

    def loss_weight(self):
        return self.gamma0**2

    def time_scale(self):
        return self.tau

    def ntk(self, state: NetworkState, x1, x2):
        r"""$\gamma_0^2\langle\nabla f(x_1), \nabla f(x_2)\rangle = \langle\nabla h, \nabla
        h\rangle$, the generic empirical kernel of the trainable arrays."""
        n_params = sum(a.size for a in jax.tree.leaves(state.params))
        method = (NTKVectorProducts() if n_params > 64 * (x1.shape[0] + x2.shape[0])
                  else JacobianContraction())
        params = state.params

        def h(p, x):
            return self.raw_output(p, x)
        return empirical_ntk(h, params, x1, x2, method=method, memory_budget=self.memory_budget)

    def parameters(self, state: NetworkState) -> dict[str, Array]:
        """The trainable arrays, named by their path in the model
        (``layers_0_weight``)."""
        leaves = jax.tree_util.tree_flatten_with_path(state.params)[0]
        return {_path_name(path): leaf for path, leaf in leaves}


class ScalarNetwork(Network, AbstractScalarOutputSystem):
    """A :class:`Network` whose model has scalar outputs."""


def _scalar_outputs(model, filter_spec, x_train) -> bool:
    """Whether ``model`` maps one input to a scalar (traced, not run)."""
    params, frozen = eqx.partition(model, filter_spec)
    x0 = x_train[0]
    params = jax.tree.map(lambda a: jnp.asarray(a, x0.dtype), params)
    return jax.eval_shape(eqx.combine(params, frozen), x0).shape == ()


def network(model: eqx.Module, x_train, y_train, **kwargs) -> Network:
    """``model`` as a system trained on ``(x_train, y_train)``: a
    :class:`ScalarNetwork` when it maps an input to a scalar (scalar-kernel
    monitors and twins accept it), else a :class:`Network`; keyword
    arguments as :class:`Network`'s."""
    x = as_float_array(x_train)
    scalar = _scalar_outputs(model, kwargs.get("filter_spec", eqx.is_inexact_array), x)
    return (ScalarNetwork if scalar else Network)(model, x, y_train, **kwargs)
