"""Abstract systems: what evolves.

A system is an immutable :class:`equinox.Module` holding data and
hyper-parameters. Its state is a separate PyTree created by ``init(key)`` and
evolved by ``vector_field(t, state, args)``, which has diffrax's signature.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from ._systems.losses import AbstractLoss, SquaredLoss


class AbstractSystem(eqx.Module):
    """Anything that can be integrated by :func:`mfsim.simulate`."""

    @abc.abstractmethod
    def init(self, key: PRNGKeyArray) -> PyTree:
        """Return the initial state drawn with ``key``."""

    @abc.abstractmethod
    def vector_field(self, t, state: PyTree, args) -> PyTree:
        """Return ``d state / dt`` at time ``t`` (diffrax's signature)."""

    def parameters(self, state: PyTree) -> dict[str, Array]:
        """The parameters, by name (what movement monitors measure); by default
        every floating array of the state, named by its path."""
        leaves = jax.tree_util.tree_flatten_with_path(state)[0]
        out = {}
        for path, leaf in leaves:
            if eqx.is_inexact_array(leaf):
                name = jax.tree_util.keystr(path, simple=True, separator="_") or "state"
                out[name] = leaf
        return out


class AbstractGradientFlowSystem(AbstractSystem):
    r"""A system trained by gradient flow on its objective.

    $\dot\theta = -\tau\, r \odot \nabla_\theta \mathcal{J}(\theta)$, with $\tau$
    the system's time scale and $r$ per-array rates (:meth:`step_rates`; all 1
    unless a parameterization trains its layers at different rates). Euler
    with step ``dt`` on this flow is full-batch gradient descent with learning
    rate $\tau\,dt$ (times $r$).

    Subclasses implement :meth:`objective` (which must block the gradient of
    any part of the state that does not train, e.g. with
    ``jax.lax.stop_gradient``) and :meth:`time_scale`; the vector field is
    :meth:`velocity` of :meth:`gradient` and is not overridden (``velocity``
    turns a gradient into the flow's velocity: what optimizers, Langevin noise
    and the sharpness monitor use too).
    """

    @abc.abstractmethod
    def objective(self, state: PyTree) -> Float[Array, ""]:
        """The scalar objective whose gradient flow the system follows."""

    @abc.abstractmethod
    def time_scale(self) -> Float[Array, ""]:
        r"""The factor $\\tau$ multiplying the negative gradient."""

    def trainable(self, state: PyTree) -> PyTree:
        """A PyTree of Python bools shaped like ``state``: which arrays the flow
        moves (Langevin noise and weight decay act on these only). Default:
        every floating array; systems with frozen arrays (a centred network's
        anchor, layers left untrained) override it."""
        return jax.tree.map(eqx.is_inexact_array, state)

    def step_rates(self, state: PyTree) -> PyTree | None:
        """Per-array rates $r$ multiplying $\tau$ (a diagonal preconditioner):
        a PyTree shaped like ``state``, or ``None`` when every rate is 1 (the
        default)."""
        return None

    def velocity(self, grad: PyTree, state: PyTree) -> PyTree:
        """The flow's velocity $-\tau\\, r\\odot g$ for the gradient ``grad`` of the
        objective (or of a batch's objective) at ``state``."""
        tau = self.time_scale()
        rates = self.step_rates(state)
        if rates is None:
            return jax.tree.map(lambda g: -tau * g, grad)
        return jax.tree.map(lambda g, r: (-tau * g) * r, grad, rates)

    def gradient(self, state: PyTree) -> PyTree:
        """$\\nabla_\\theta\\mathcal{J}$ at ``state``, what the vector field
        moves along: ``jax.grad`` of :meth:`objective`. A system with a faster
        way to the same gradient (a fused kernel) overrides this; second-order
        quantities (the sharpness monitor's Hessian products) differentiate
        :meth:`objective` itself."""
        return jax.grad(self.objective)(state)

    def vector_field(self, t, state: PyTree, args) -> PyTree:
        return self.velocity(self.gradient(state), state)


class AbstractLossSystem(AbstractSystem):
    """A system with a training loss (what the ``train_loss`` monitor records)."""

    @abc.abstractmethod
    def loss(self, state: PyTree) -> Float[Array, ""]:
        """The training loss at ``state``."""


class AbstractRegressionSystem(AbstractLossSystem):
    r"""A system whose state defines predictions $f(x)$ fitted to training data.

    The reported training loss is the loss of the predictions (:meth:`loss_function`:
    by default the squared loss $L = \frac{1}{2n}\sum_i (f(x_i) - y_i)^2$;
    :mod:`mfsim._systems.losses`), whatever scaling a training objective applies (e.g.
    the $1/\alpha^2$ of the output-scale parameterization).
    """

    x_train: eqx.AbstractVar[Float[Array, "n d"]]
    y_train: eqx.AbstractVar[Float[Array, " n"]]

    @abc.abstractmethod
    def predict(self, state: PyTree, x: Float[Array, "k d"]) -> Float[Array, " k"]:
        """Outputs $f(x)$ on the rows of ``x``."""

    @abc.abstractmethod
    def train_outputs(self, state: PyTree) -> Float[Array, " n"]:
        """Outputs on the training inputs (equal to ``predict(state, x_train)``,
        possibly computed with cached quantities)."""

    def loss_function(self) -> AbstractLoss:
        """The per-example loss averaged over the rows (default: squared error)."""
        return SquaredLoss()

    def loss(self, state: PyTree) -> Float[Array, ""]:
        r"""Training loss $\frac1n\sum_i \ell(f(x_i), y_i)$ (squared: $\frac{1}{2n}\sum_i
        (f(x_i)-y_i)^2$)."""
        return self.loss_function()(self.train_outputs(state), self.y_train)


class AbstractSupervisedSystem(AbstractRegressionSystem, AbstractGradientFlowSystem):
    r"""A parametric model $f(x;\theta)$ trained by gradient flow on the
    weighted squared loss $\mathcal J(\theta) = w\,L(f)$.

    Its function-space dynamics are $\dot f(X) = -\frac{\tau}{n}\Theta_t(X, X)
    (f(X) - y)$ with $\Theta_t = w\,J_t J_t^\top$ ($J$ the Jacobian of the
    outputs in the trainable parameters): :meth:`ntk` returns that $\Theta$.
    ``predict`` must cut frozen parts of the state from the gradient
    (``jax.lax.stop_gradient``), so that autodiff sees only what trains.
    """

    @abc.abstractmethod
    def loss_weight(self) -> Float[Array, ""]:
        """The weight $w$ of the squared loss in the objective."""

    @abc.abstractmethod
    def ntk(self, state: PyTree, x1, x2) -> Float[Array, "n1 n2"]:
        r"""$\Theta(x_1, x_2) = w\,\langle\nabla_\theta f(x_1), \nabla_\theta f(x_2)\rangle$."""

    def objective(self, state: PyTree) -> Float[Array, ""]:
        return self.loss_weight() * self.loss_function()(self.train_outputs(state), self.y_train)

    def batch_objective(self, state: PyTree, x, y) -> Float[Array, ""]:
        r"""The objective on a batch ``(x, y)`` instead of the training set,
        $w\,\frac{1}{2b}\sum_{i\le b}(f(x_i) - y_i)^2$: what a stochastic
        optimizer step differentiates (an unbiased estimate of the objective
        when the batch is drawn uniformly)."""
        return self.loss_weight() * self.loss_function()(self.predict(state, x), y)


# ------------------------------------------------------------- capabilities
# What monitors, twins and the scenario layer need from a system is declared
# here as abstract bases (equinox's rule: an attribute or method another part
# relies on is declared on an abstract class, never probed with ``hasattr``).
# A system inherits the capabilities it has; a monitor lists the ones it
# requires (``AbstractMonitor.requires``) and ``isinstance`` decides.


class AbstractScalarOutputSystem(AbstractRegressionSystem):
    r"""A regression system with scalar outputs: ``predict`` returns ``(k,)``,
    ``y_train`` is ``(n,)`` and, where it has one, its NTK is an ``(n1, n2)``
    matrix. (Vector-output systems such as the deep linear network do not
    inherit this: scalar-kernel monitors, constant-kernel twins and kernel
    eigenfunction tasks need it.)"""


class AbstractParticleSystem(AbstractSystem):
    r"""A system whose state is a cloud of ``width`` particles (the neurons of a
    two-layer network): its empirical measure $\mu_t = \frac1m\sum_j
    \delta_{p_j(t)}$ is what Wasserstein and particle monitors see, and its
    state arrays whose leading axis has length ``width`` are split along that
    axis when a solve is sharded over particles."""

    width: eqx.AbstractVar[int]

    @abc.abstractmethod
    def particles(self, state: PyTree) -> Float[Array, "m p"]:
        """The particles $p_j$, one row per particle."""


class AbstractInvariantSystem(AbstractSystem):
    """A system with quantities its flow conserves (balancedness, ...)."""

    @abc.abstractmethod
    def invariants(self, state: PyTree) -> dict[str, Array]:
        """Name -> the conserved quantity (any shape) at ``state``."""

    def invariant_labels(self) -> dict[str, str]:
        """Name -> what the conserved quantity is, as a figure writes it
        (words and mathtext: "balancedness $W_2^\\top W_2 - W_1 W_1^\\top$");
        a name not given is written as it is."""
        return {}


class OrderParameters(eqx.Module):
    r"""The overlaps of a soft committee machine: $Q = WW^\top/N$ (student),
    $R = W\tilde W^\top/N$ (student-teacher), $T = \tilde W\tilde W^\top/N$
    (teacher), and the second layers $v$ (student) and $\tilde v$ (teacher)."""

    Q: Float[Array, "K K"]
    R: Float[Array, "K M"]
    T: Float[Array, "M M"]
    v: Float[Array, " K"]
    v_teacher: Float[Array, " M"]

    def closed_form_args(self) -> tuple:
        return self.Q, self.R, self.T, self.v, self.v_teacher


class AbstractOrderParameterSystem(AbstractSystem):
    """A soft committee machine in the teacher-student setting, whose
    generalization error is a closed function of its order parameters (the
    network, or its order-parameter ODE twin)."""

    @abc.abstractmethod
    def order_parameters(self, state: PyTree) -> OrderParameters:
        """The overlaps and second layers at ``state``."""

    @abc.abstractmethod
    def generalization_error(self, state: PyTree) -> Float[Array, ""]:
        r"""$\epsilon_g = \frac12 E[(\phi(x) - \phi^*(x))^2]$ over fresh inputs (no noise)."""


class AbstractInfiniteWidthSystem(AbstractSystem):
    """A network with an analytic infinite-width NTK."""

    @abc.abstractmethod
    def analytic_ntk(self):
        """A callable kernel ``k(x1, x2) -> (n1, n2)``: the NTK in the
        infinite-width limit of this system's architecture (same time scale
        and loss weight conventions as its ``ntk``)."""


class AbstractFeatureSystem(AbstractSystem):
    r"""A network with hidden layers whose features (pre-activations) can be
    read: what the feature-movement monitor measures."""

    @abc.abstractmethod
    def features(self, state: PyTree, x) -> list[Float[Array, "k n_l"]]:
        r"""The hidden features $h_1(x), \dots, h_L(x)$, one ``(k, n_l)`` array per layer."""


class AbstractLinearPredictorSystem(AbstractSystem):
    r"""A model whose function is linear in the input, $f(x) = \langle\beta, x\rangle$."""

    @abc.abstractmethod
    def beta(self, state: PyTree) -> Float[Array, " d"]:
        r"""The linear predictor $\beta$."""


class AbstractLinearMapSystem(AbstractSystem):
    r"""A model whose function is a linear map $f(x) = M x$ (vector outputs)."""

    @abc.abstractmethod
    def end_to_end(self, state: PyTree) -> Float[Array, "o d"]:
        """The matrix $M$."""

    def singular_values(self, state: PyTree) -> Float[Array, " r"]:
        """Singular values of $M$ (descending)."""
        return jnp.linalg.svd(self.end_to_end(state), compute_uv=False)


class AbstractSequenceModel(AbstractGradientFlowSystem, AbstractLossSystem):
    r"""A parameterization $\theta(\text{state})$ fitted to ``z`` by gradient flow
    in the Gaussian sequence model (objective $\frac12\|z-\theta\|^2$, time scale 1)."""

    z: eqx.AbstractVar[Float[Array, " N"]]
    theta_star: eqx.AbstractVar[Float[Array, " N"]]
    lam: eqx.AbstractVar[Float[Array, " N"]]

    @abc.abstractmethod
    def theta(self, state) -> Float[Array, " N"]:
        r"""The estimate $\theta$."""

    @abc.abstractmethod
    def kernel(self, state) -> Float[Array, "N N"]:
        """The learned kernel (the feature covariance of the parameterization)."""

    def objective(self, state):
        return 0.5 * jnp.sum((self.z - self.theta(state)) ** 2)

    def loss(self, state):
        r"""$\frac12\|z - \theta\|^2$."""
        return self.objective(state)

    def risk(self, state):
        r"""$\|\theta - \theta^*\|^2$."""
        return jnp.sum((self.theta(state) - self.theta_star) ** 2)

    def time_scale(self):
        return jnp.ones((), self.z.dtype)


class AbstractDiagonalSequenceModel(AbstractSequenceModel):
    """A sequence model whose learned kernel is diagonal (its eigenvectors are
    the coordinates): monitors take its top eigenpairs with ``top_k``."""

    @abc.abstractmethod
    def kernel_diagonal(self, state) -> Float[Array, " N"]:
        """The diagonal of the learned kernel."""

    def kernel(self, state):
        return jnp.diag(self.kernel_diagonal(state))


def as_float_array(x) -> Array:
    """``x`` as a JAX array, cast to the default float dtype unless already floating
    (the dtype of a system's training inputs is the dtype of its run)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(float)


def squared_loss(pred: Array, target: Array) -> Float[Array, ""]:
    r"""$\frac{1}{2n}\sum_i \|p_i - y_i\|^2$ over the ``n`` rows (scalar or vector outputs)."""
    return 0.5 * jnp.sum((pred - target) ** 2) / pred.shape[0]


def requirement_message(cls: type, missing: tuple[type, ...] | list[type]) -> str:
    """Why a system class cannot serve a monitor or twin that requires the
    capability types ``missing``, and what the user can do: use one of
    mfsim's systems that has them (named), or, for their own class, derive
    it from the types and write the methods it lacks."""
    names = " and ".join(t.__name__ for t in missing)
    kinds = "types" if len(missing) > 1 else "type"
    examples = ", ".join(_systems_with(missing)[:3])
    such_as = f" (such as {examples})" if examples else ""
    said = f"it needs a system of {kinds} {names}{such_as}"
    if cls.__module__.split(".")[0] == "mfsim":  # not the user's to change
        return f"{said}, which {cls.__name__} is not"
    lacking = sorted({name for t in missing for name in getattr(t, "__abstractmethods__", ())
                      if name in getattr(cls, "__abstractmethods__", ())
                      or getattr(cls, name, None) is None})
    how = f" and implement {', '.join(lacking)}" if lacking else ""
    return f"{said}; for your own class, derive it from {'them' if len(missing) > 1 else 'it'}{how}"


def _systems_with(capabilities) -> list[str]:
    """The public, concrete systems of mfsim that have every capability in
    ``capabilities``, by name."""
    import inspect

    import mfsim

    found, todo = set(), [AbstractSystem]
    while todo:
        c = todo.pop()
        todo.extend(c.__subclasses__())
        if (not inspect.isabstract(c) and c.__name__ in mfsim.__all__
                and getattr(mfsim, c.__name__) is c
                and all(issubclass(c, t) for t in capabilities)):
            found.add(c.__name__)
    # the networks first (a twin, such as ScalarLinearized, is built from one)
    return sorted(found, key=lambda name: (not name.endswith("Network"), name))
