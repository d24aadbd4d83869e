r"""The central flow of gradient descent: the flow that gradient descent's
time-averaged trajectory follows at the edge of stability (Cohen, Damian et
al. 2024, "Understanding Optimization in Deep Learning with Central Flows").

Gradient descent with step ``dt`` on a gradient-flow system
$\dot\theta = -\tau R\nabla\mathcal J$ is, in the coordinates
$z = S^{-1}\theta$ with $S^2 = \tau R$ (trainable entries), plain gradient
descent $z^+ = z - dt\,\nabla_z\mathcal J$ on a loss whose Hessian is
$A = S\nabla^2\mathcal J S$; it is stable while $dt\,\lambda_{\max}(A) < 2$.
Past that edge it oscillates along the top eigenvectors $u_i$ of $A$, and its
time average $\bar z$ follows

$$\frac{d\bar z}{dt} = -\nabla_z\mathcal J - \tfrac12\nabla_z\langle X, A(\bar z)\rangle,
\qquad X = \sum_{ij} X_{ij} u_i u_j^\top \succeq 0,$$

$X$ the oscillation's covariance, held to the top-$k$ eigenspace of $A$ and
chosen at every instant so that those eigenvalues do not pass $2/dt$: with
$G_{ij} = \nabla_z(u_i^\top A u_j)$ (a third derivative, by nested
autodiff; $u$ held fixed),

$$\alpha_{ij} = G_{ij}\cdot\nabla_z\mathcal J + \kappa\,(2/dt - \lambda_i)\,\delta_{ij},\qquad
\beta_{ij,kl} = G_{ij}\cdot G_{kl},$$

$X$ solves the semidefinite complementarity problem $X \succeq 0$,
$\alpha + \tfrac12\beta[X] \succeq 0$, $\langle X, \alpha + \tfrac12\beta[X]\rangle
= 0$, i.e. $X = \arg\min_{X\succeq0}\langle\alpha, X\rangle + \tfrac14\beta[X, X]$
($k = 1$: $X = \max(0, -2\alpha/\beta)$; else accelerated projected gradient).
$\alpha + \frac12\beta[X]$ is $-\frac{d}{dt}(U^\top A U) + \kappa(2/dt - \Lambda)$:
the eigenvalues may rise only as fast as $\kappa$ times their distance to the
edge, so they approach $2/dt$ and stay there (at a steady state exactly at
it, whatever $\kappa$). ``relaxation`` $= 1/(\kappa\,dt)$ in steps (default 1,
as the reference code's one-step look-ahead). Below the edge the constraint
is slack, $X = 0$ exactly and the flow *is* gradient flow. Time is the
system's ($t$ = steps $\times$ ``dt``).

Predictions: the time-averaged objective $\mathcal J(\bar\theta) +
\frac12\langle X, \Lambda\rangle$, the time-averaged loss $L(\bar\theta) +
\frac12\sum_{ij}X_{ij}(Su_i)^\top\nabla^2 L\,(Su_j)$, the oscillation's mean
square $E|\delta\theta|^2 = \sum_{ij}X_{ij}(Su_i)\cdot(Su_j)$ and the sharpness
$\lambda_i(A)/\tau$ (the ``sharpness`` monitor's $R^{1/2}\nabla^2\mathcal J
R^{1/2}$, held at $2/\eta$, $\eta = \tau\,dt$). The eigenpairs come from a dense
``eigh`` (at most ``DENSE_MAX`` entries) or block Krylov on batched
Hessian-vector products (:func:`mfsim._monitors.sharpness.block_krylov_pairs`,
blocks of $k + 3$ from a fixed draw, at every evaluation; ``residual``
records $\max_i\|Au_i - \lambda_i u_i\|/\lambda_1$): the $k$ eigenvalues
held at the edge are equal, a cluster that single-vector Lanczos resolves
only slowly (it left the flow chattering about the edge).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PyTree

from .._monitors.sharpness import block_krylov_pairs, rate_scale
from .._system import (
    AbstractGradientFlowSystem,
    AbstractLossSystem,
    AbstractRegressionSystem,
    AbstractScalarOutputSystem,
    AbstractSystem,
)


def solve_psd_qp(alpha: Float[Array, "k k"], beta: Float[Array, "k k k k"], *,
                 steps: int = 400) -> Float[Array, "k k"]:
    r"""$\arg\min_{X\succeq0}\langle\alpha, X\rangle + \frac14\beta[X, X]$ for
    symmetric $\alpha$ and a positive semidefinite $\beta$ (a Gram tensor):
    exact for $k = 1$, else ``steps`` of accelerated projected gradient
    (FISTA, step $2/\|\beta\|$, projection by clipping eigenvalues)."""
    k = alpha.shape[0]
    if k == 1:
        b = beta.reshape(())
        safe = jnp.where(b > 0, b, 1.0)
        return jnp.where(b > 0, jnp.maximum(0.0, -2 * alpha / safe), 0.0).reshape(1, 1)
    B = beta.reshape(k * k, k * k)
    B = 0.5 * (B + B.T)
    lipschitz = 0.5 * jnp.max(jnp.linalg.eigvalsh(B)) + jnp.finfo(alpha.dtype).tiny

    def project(M):
        lam, V = jnp.linalg.eigh(0.5 * (M + M.T))
        return (V * jnp.maximum(lam, 0.0)) @ V.T

    def step(carry, _):
        X, Y, t = carry
        grad = alpha + 0.5 * (B @ Y.reshape(-1)).reshape(k, k)
        Xn = project(Y - grad / lipschitz)
        tn = 0.5 * (1 + jnp.sqrt(1 + 4 * t * t))
        return (Xn, Xn + ((t - 1) / tn) * (Xn - X), tn), None

    zero = jnp.zeros_like(alpha)
    X = jax.lax.scan(step, (zero, zero, jnp.ones((), alpha.dtype)), None, length=steps)[0][0]
    return X


#: states with at most this many entries get their eigenpairs by a dense eigh
DENSE_MAX = 256


class Oscillation(eqx.Module):
    """The central flow's view of one state (flattened over the state's entries).

    - ``covariance``: $X$ ``(k, k)`` in the coordinates $z$;
      ``eigenvalues``: the top $\\lambda_i(A)$; ``directions``: $S u_i$
      ``(p, k)``, the oscillation's directions in the state's entries.
    - ``velocity``: $\\dot\\theta$, flattened; ``objective``: $\\mathcal J$.
    """

    covariance: Float[Array, "k k"]
    eigenvalues: Float[Array, " k"]
    directions: Float[Array, "p k"]
    velocity: Float[Array, " p"]
    objective: Float[Array, ""]
    residual: Float[Array, ""]

    def mean_objective(self) -> Float[Array, ""]:
        r"""$\mathcal J + \frac12\langle X, \Lambda\rangle$: the time-averaged objective."""
        return self.objective + 0.5 * jnp.sum(jnp.diagonal(self.covariance) * self.eigenvalues)

    def mean_square(self) -> Float[Array, ""]:
        r"""$E|\delta\theta|^2 = \sum_{ij} X_{ij}(Su_i)\cdot(Su_j)$."""
        return jnp.sum(self.covariance * (self.directions.T @ self.directions))


class CentralFlow(AbstractSystem):
    r"""The central flow of gradient descent with step ``dt`` on ``system``
    (module docstring), tracking the top ``k`` eigenpairs (a dense
    ``eigh`` of a small state, else ``blocks`` blocks of block Krylov). The state is
    the system's. Build it with :func:`mfsim.central_flow` (which keeps the
    system's regression capabilities)."""

    system: AbstractGradientFlowSystem
    dt: float = eqx.field(static=True)
    k: int = eqx.field(static=True, default=1)
    blocks: int = eqx.field(static=True, default=10)
    relaxation: float = eqx.field(static=True, default=1.0)
    qp_steps: int = eqx.field(static=True, default=400)

    def __check_init__(self):
        if not isinstance(self.system, AbstractGradientFlowSystem):
            raise TypeError(f"the central flow needs a gradient-flow system, not "
                            f"{type(self.system).__name__}")
        if self.k < 1 or self.relaxation <= 0:
            raise ValueError(f"central flow: k >= 1 and relaxation > 0 (got k = {self.k}, "
                             f"relaxation = {self.relaxation})")

    def init(self, key) -> PyTree:
        return self.system.init(key)

    def parameters(self, state) -> dict:
        return self.system.parameters(state)

    def _scale(self, state) -> Array:
        """$S$: $\\sqrt{\\tau r}$ on the trainable entries, 0 elsewhere (flattened)."""
        return rate_scale(state, self.system.trainable(state), self.system.step_rates(state),
                          self.system.time_scale())

    def _top_pairs(self, state, flat, s, hvp) -> tuple[Array, Array]:
        r"""The top ``k`` eigenpairs of $A = S\nabla^2\mathcal J S$: by a dense
        ``eigh`` up to ``DENSE_MAX`` entries, else on a block Krylov space
        (``blocks`` blocks of ``k + 3`` vectors from a fixed draw): the edge
        holds up to ``k`` eigenvalues equal, a cluster single-vector Lanczos
        cannot resolve."""
        p = flat.size
        if p <= DENSE_MAX:
            A = jax.vmap(lambda v: s * hvp(flat, s * v))(jnp.eye(p, dtype=flat.dtype))
            values, vectors = jnp.linalg.eigh(0.5 * (A + A.T))
            return values[::-1][:self.k], vectors[:, ::-1][:, :self.k]
        b = self.k + 3
        V0 = jax.random.normal(jax.random.key(0), (p, b), flat.dtype) * s[:, None]
        return block_krylov_pairs(lambda v: s * hvp(flat, s * v), V0, self.blocks, k=self.k)

    def oscillation(self, state, *, residual: bool = True) -> Oscillation:
        """$X$, the eigenpairs and the velocity at ``state`` (module docstring);
        ``residual=False`` skips the eigenpairs' residual (NaN; ``k`` more
        Hessian-vector products, which the vector field does not need)."""
        flat, unravel = ravel_pytree(state)
        s = self._scale(state)
        objective = lambda f: self.system.objective(unravel(f))  # noqa: E731
        grad = jax.grad(objective)

        def hvp(w, v):
            return jax.jvp(grad, (w,), (v,))[1]

        values, vectors = self._top_pairs(state, flat, s, hvp)
        gap = jnp.asarray(jnp.nan, flat.dtype)
        if residual:
            Au = jax.vmap(lambda v: s * hvp(flat, s * v), in_axes=1, out_axes=1)(vectors)
            gap = (jnp.max(jnp.linalg.norm(Au - vectors * values, axis=0))
                   / jnp.maximum(jnp.abs(values[0]), jnp.finfo(flat.dtype).tiny))
        directions = s[:, None] * vectors  # S u_i
        k = self.k
        pairs_i, pairs_j = jnp.divmod(jnp.arange(k * k), k)

        def third(i, j):  # G_ij = S grad_theta <S u_i, H(theta) S u_j>
            a, b = directions[:, i], directions[:, j]
            return s * jax.grad(lambda w: jnp.vdot(a, hvp(w, b)))(flat)

        G = jax.vmap(third)(pairs_i, pairs_j)  # (k*k, p)
        value, g = jax.value_and_grad(objective)(flat)
        kappa = 1.0 / (self.relaxation * self.dt)
        edge = 2.0 / self.dt
        alpha = (G @ (s * g)).reshape(k, k) + kappa * jnp.diag(edge - values)
        beta = (G @ G.T).reshape(k, k, k, k)
        X = solve_psd_qp(alpha, beta, steps=self.qp_steps)
        flow = ravel_pytree(self.system.vector_field(0.0, state, None))[0]
        velocity = flow - 0.5 * s * (X.reshape(-1) @ G)
        return Oscillation(X, values, directions, velocity, value, gap)

    def vector_field(self, t, state, args) -> PyTree:
        return ravel_pytree(state)[1](self.oscillation(state, residual=False).velocity)

    def mean_loss(self, state, oscillation: Oscillation) -> Float[Array, ""]:
        r"""$L(\bar\theta) + \frac12\sum_{ij}X_{ij}(Su_i)^\top\nabla^2L\,(Su_j)$: the
        time-averaged training loss (a system with a loss)."""
        if not isinstance(self.system, AbstractLossSystem):
            raise TypeError(f"{type(self.system).__name__} has no training loss")
        flat, unravel = ravel_pytree(state)
        grad = jax.grad(lambda f: self.system.loss(unravel(f)))
        D = oscillation.directions
        HD = jax.vmap(lambda v: jax.jvp(grad, (flat,), (v,))[1])(D.T)  # (k, p)
        return self.system.loss(state) + 0.5 * jnp.sum(oscillation.covariance * (HD @ D))


class RegressionCentralFlow(CentralFlow, AbstractRegressionSystem):
    """The central flow of a regression system: its predictions at the
    time-averaged weights $\\bar\\theta$ (``train_loss``, ``test_loss``
    monitors record $L(\\bar\\theta)$; :meth:`mean_loss` the time average)."""

    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]

    def __init__(self, system, dt, *, k: int = 1, blocks: int = 10, relaxation: float = 1.0,
                 qp_steps: int = 400):
        self.system, self.dt = system, float(dt)
        self.k, self.blocks, self.relaxation, self.qp_steps = (
            int(k), int(blocks), float(relaxation), int(qp_steps))
        self.x_train, self.y_train = system.x_train, system.y_train

    def predict(self, state, x):
        return self.system.predict(state, x)

    def train_outputs(self, state):
        return self.system.train_outputs(state)

    def loss_function(self):
        return self.system.loss_function()

    def loss(self, state):
        return self.system.loss(state)


class ScalarCentralFlow(RegressionCentralFlow, AbstractScalarOutputSystem):
    """The central flow of a system with scalar outputs."""


def central_flow(system: AbstractGradientFlowSystem, dt: float, **kw) -> CentralFlow:
    """The central flow of gradient descent with step ``dt`` (learning rate
    $\\eta = \\tau\\,dt$) on ``system``, keeping its regression and
    scalar-output capabilities; ``kw``: :class:`CentralFlow`'s ``k``,
    ``blocks``, ``relaxation``, ``qp_steps``."""
    if isinstance(system, AbstractScalarOutputSystem) and isinstance(
            system, AbstractGradientFlowSystem):
        return ScalarCentralFlow(system, dt, **kw)
    if isinstance(system, AbstractRegressionSystem) and isinstance(
            system, AbstractGradientFlowSystem):
        return RegressionCentralFlow(system, dt, **kw)
    return CentralFlow(system, float(dt), **kw)
