r"""The constant-kernel NTK flow: function-space gradient flow with a frozen kernel.

$$\dot f(X) = -\frac{\tau}{n}\,\Theta(X, X)\,(f(X) - y),\qquad
\dot f(X_*) = -\frac{\tau}{n}\,\Theta(X_*, X)\,(f(X) - y),$$

the network's function-space dynamics with the kernel frozen at its initial
(``empirical``) or infinite-width (``analytic``) value. With
$\Theta(X,X) = U\Lambda U^\top$ and $\eta = \tau/n$, the closed form is

$$f_t(X) - y = U e^{-\eta\Lambda t} U^\top (f_0(X) - y),\qquad
f_t(X_*) = f_0(X_*) + \Theta(X_*,X)\,U\,\frac{1 - e^{-\eta\Lambda t}}{\Lambda}\,U^\top(y - f_0(X))$$

(the ratio read as $\eta t$ where $\lambda = 0$): along eigenvector $u_i$ the
residual decays as $e^{-\eta\lambda_i t}$ (spectral bias).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem
from .losses import AbstractLoss, SquaredLoss, get_loss


class KernelFlowState(eqx.Module):
    """Outputs on the training inputs and on the extra (test) inputs."""

    train: Float[Array, " n"]
    test: Float[Array, " k"]


class EmpiricalKernel(eqx.Module):
    """``(x1, x2) -> system.ntk(state0, x1, x2)``: the empirical NTK frozen at ``state0``."""

    system: AbstractSupervisedSystem
    state0: PyTree

    def __call__(self, x1, x2):
        return self.system.ntk(self.state0, x1, x2)


class InitialFunction(eqx.Module):
    """``x -> system.predict(state0, x)``: the network's function at initialization."""

    system: AbstractSupervisedSystem
    state0: PyTree

    def __call__(self, x):
        return self.system.predict(self.state0, x)


class ConstantKernelFlow(AbstractScalarOutputSystem):
    """Function-space flow with a constant kernel, on train and test outputs.

    **Arguments:**

    - ``kernel``: callable ``(x1, x2) -> Theta`` (e.g. :class:`EmpiricalKernel`,
      or a system's ``analytic_ntk()``).
    - ``initial``: callable ``x -> f_0(x)`` (the network's initial function).
    - ``x_train``, ``y_train``; ``x_test``: extra inputs whose outputs are
      evolved too (``None``: none).
    - ``time_scale``: $\\tau$ (only $\\tau\\Theta$ matters).
    - ``loss``: the loss whose function-space flow this is,
      $\\dot f = -\\frac{\\tau}{n}\\Theta\\,\\ell'(f, y)$ (default squared: $\\ell' = f - y$;
      :meth:`solution`, the closed form, is for the squared loss only).

    ``predict(state, x)`` evaluates the flow at any input through the kernel
    representation $f_t(x) = f_0(x) + \\Theta(x, X)\\Theta(X,X)^+(f_t(X) - f_0(X))$.
    """

    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]
    x_test: Float[Array, "k d"]
    kernel: Callable
    initial: Callable
    tau: Float[Array, ""]
    k_train: Float[Array, "n n"]
    k_test: Float[Array, "k n"]
    f0_train: Float[Array, " n"]
    f0_test: Float[Array, " k"]
    eigenvalues: Float[Array, " n"]
    eigenvectors: Float[Array, "n n"]
    loss_fn: AbstractLoss

    def __init__(self, kernel, initial, x_train, y_train, x_test=None, time_scale=1.0,
                 loss: str | AbstractLoss = "squared"):
        x_train = jnp.asarray(x_train)
        dtype = x_train.dtype
        x_test = jnp.zeros((0, x_train.shape[1]), dtype) if x_test is None else jnp.asarray(
            x_test, dtype)
        self.x_train, self.y_train, self.x_test = x_train, jnp.asarray(y_train, dtype), x_test
        self.kernel, self.initial = kernel, initial
        self.tau = jnp.asarray(time_scale, dtype)
        # a Gram matrix is symmetric; quadrature kernels are only so to rounding
        k_train = kernel(x_train, x_train)
        self.k_train = 0.5 * (k_train + k_train.T)
        self.k_test = kernel(x_test, x_train)
        self.f0_train, self.f0_test = initial(x_train), initial(x_test)
        self.eigenvalues, self.eigenvectors = jnp.linalg.eigh(self.k_train)
        self.loss_fn = get_loss(loss)

    def loss_function(self) -> AbstractLoss:
        return self.loss_fn

    @classmethod
    def empirical_twin(cls, system: AbstractSupervisedSystem, state0, x_test=None):
        """The network's flow with its NTK frozen at ``state0`` (same $\\tau$)."""
        return cls(EmpiricalKernel(system, state0), InitialFunction(system, state0),
                   system.x_train, system.y_train, x_test, system.time_scale(),
                   system.loss_function())

    @classmethod
    def analytic_twin(cls, system, state0, x_test=None):
        """The infinite-width flow: ``system.analytic_ntk()`` (the limit of
        $\\tau\\Theta$, so $\\tau = 1$ here) from the network's actual $f_0$."""
        return cls(system.analytic_ntk(), InitialFunction(system, state0), system.x_train,
                   system.y_train, x_test, 1.0, system.loss_function())

    @property
    def rate(self) -> Float[Array, ""]:
        """$\\eta = \\tau / n$."""
        return self.tau / self.x_train.shape[0]

    def init(self, key=None) -> KernelFlowState:
        return KernelFlowState(train=self.f0_train, test=self.f0_test)

    def vector_field(self, t, state: KernelFlowState, args) -> KernelFlowState:
        r = self.loss_fn.derivative(state.train, self.y_train)
        return KernelFlowState(train=-self.rate * (self.k_train @ r),
                               test=-self.rate * (self.k_test @ r))

    def train_outputs(self, state: KernelFlowState):
        return state.train

    def _cutoff(self):
        lam = self.eigenvalues
        return jnp.max(jnp.abs(lam)) * lam.shape[0] * jnp.finfo(lam.dtype).eps

    def predict(self, state: KernelFlowState, x):
        lam, u = self.eigenvalues, self.eigenvectors
        inv = jnp.where(lam > self._cutoff(), 1.0 / jnp.where(lam > 0, lam, 1.0), 0.0)
        coef = u @ (inv * (u.T @ (state.train - self.f0_train)))
        return self.initial(x) + self.kernel(x, self.x_train) @ coef

    def solution(self, t) -> KernelFlowState:
        """The closed form at time(s) ``t`` (scalar, or ``(T,)`` for a batch):
        squared loss only."""
        if not isinstance(self.loss_fn, SquaredLoss):
            raise ValueError(f"the closed form is for the squared loss, not {self.loss_fn.name}")
        t = jnp.asarray(t, self.y_train.dtype)
        lam, u = self.eigenvalues, self.eigenvectors
        eta_t = self.rate * t[..., None]
        decay = jnp.exp(-eta_t * lam)  # (..., n)
        gain = jnp.where(lam > self._cutoff(), -jnp.expm1(-eta_t * lam) /
                         jnp.where(lam > 0, lam, 1.0), eta_t)
        r0 = u.T @ (self.f0_train - self.y_train)
        train = self.y_train + (decay * r0) @ u.T
        test = self.f0_test - (gain * r0) @ (self.k_test @ u).T
        return KernelFlowState(train=train, test=test)

    def mode_residuals(self, state: KernelFlowState) -> Float[Array, " n"]:
        """Residual $f(X) - y$ in the eigenbasis $U^\\top(f(X) - y)$."""
        return self.eigenvectors.T @ (state.train - self.y_train)
