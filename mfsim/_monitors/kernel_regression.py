r"""Kernel-regression predictors beside the network: the test loss of kernel
(ridge) regression on the training labels with the network's own empirical
NTK at the current time $\Theta_t$ (at the end of training, the
"after-kernel"), with the NTK at initialization $\Theta_0$, and with the
infinite-width NTK where the system has one.

The predictor on test inputs $X'$ is
$\hat f(X') = \Theta(X', X)\,(\Theta(X, X) + \lambda\,\bar\theta\,I)^{-1} y$
with $\bar\theta = \mathrm{tr}\,\Theta(X,X)/n$ (the ridge ``ridge`` = $\lambda$
is relative to the kernel's mean eigenvalue, so one value means the same for
kernels of any scale). With $\lambda = 0$ (ridgeless) the inverse is the
pseudo-inverse on the eigenvalues above $n\,\varepsilon\max|\lambda_i|$. The
network's initial function is not added: for a centred network ($f_0 = 0$)
$\hat f$ with $\Theta_0$ is the limit $t\to\infty$ of the constant-kernel flow.
The test loss is $\frac{1}{2n'}\sum_i(\hat f(x'_i) - y'_i)^2$, as
:class:`mfsim.TestLoss`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._system import (
    AbstractInfiniteWidthSystem,
    AbstractScalarOutputSystem,
    AbstractSupervisedSystem,
    requirement_message,
    squared_loss,
)
from .base import AbstractMonitor, MonitorContext
from .variable import reference

KERNEL_CHOICES = ("current", "init", "analytic")


def kernel_regression(k_train: Float[Array, "n n"], k_test: Float[Array, "k n"],
                      y: Float[Array, " n"], ridge: float) -> Float[Array, " k"]:
    r"""$\Theta(X',X)(\Theta(X,X) + \lambda\bar\theta I)^{-1}y$ (see the module)."""
    k_train = 0.5 * (k_train + k_train.T)
    n = k_train.shape[0]
    lam, u = jnp.linalg.eigh(k_train)
    shifted = lam + ridge * jnp.trace(k_train) / n
    cutoff = jnp.max(jnp.abs(lam)) * n * jnp.finfo(lam.dtype).eps
    inv = jnp.where(shifted > cutoff, 1.0 / jnp.where(shifted > cutoff, shifted, 1.0), 0.0)
    return k_test @ (u @ (inv * (u.T @ y)))


class KernelRegression(AbstractMonitor):
    """Test losses of kernel regression with the network's kernels.

    ``kernels``: any of ``"current"`` ($\\Theta_t$: ``kr_current_test_loss``),
    ``"init"`` ($\\Theta_0$: ``kr_init_test_loss``, computed once) and
    ``"analytic"`` (the infinite-width NTK: ``kr_analytic_test_loss``, computed
    once; needs an :class:`mfsim.AbstractInfiniteWidthSystem`). ``theory``
    (optional): the test loss of kernel regression that theory predicts,
    averaged over training sets (:func:`mfsim.sphere_learning_curve` at this
    ridge and ``n``: half its ``test_error``), recorded as
    ``kr_theory_test_loss``. Figures draw them over the network's test loss."""

    x_test: Float[Array, "k d"]
    y_test: Float[Array, " k"]
    ridge: float = eqx.field(default=0.0, static=True)
    kernels: tuple[str, ...] = eqx.field(default=("current", "init"), static=True)
    theory: Float[Array, ""] | None = None

    requires: ClassVar = (AbstractSupervisedSystem, AbstractScalarOutputSystem)

    def __check_init__(self):
        bad = [k for k in self.kernels if k not in KERNEL_CHOICES]
        if bad or not self.kernels:
            raise ValueError(f"kernels {self.kernels!r}: allowed any of "
                             f"{', '.join(KERNEL_CHOICES)}")
        if self.ridge < 0:
            raise ValueError(f"ridge must be >= 0; got {self.ridge}")

    def _loss(self, kernel, system) -> Float[Array, ""]:
        x = system.x_train
        pred = kernel_regression(kernel(x, x), kernel(self.x_test, x), system.y_train,
                                 self.ridge)
        return squared_loss(pred, self.y_test)

    def prepare(self, system, state0):
        out = {}
        if "init" in self.kernels:
            out["init"] = self._loss(lambda a, b: system.ntk(state0, a, b), system)
        if "analytic" in self.kernels:
            if not isinstance(system, AbstractInfiniteWidthSystem):
                raise TypeError("KernelRegression(kernels=[..., 'analytic']) on "
                                f"{type(system).__name__}: " + requirement_message(
                                    type(system), [AbstractInfiniteWidthSystem]))
            out["analytic"] = self._loss(system.analytic_ntk(), system)
        return out

    def __call__(self, t, state, ctx: MonitorContext):
        out = {f"kr_{k}_test_loss": v for k, v in ctx.data.items()}
        if "current" in self.kernels:
            system = ctx.system
            out["kr_current_test_loss"] = self._loss(
                lambda a, b: system.ntk(state, a, b), system)
        out = {f"kr_{k}_test_loss": out[f"kr_{k}_test_loss"] for k in self.kernels}
        if self.theory is not None:
            out["kr_theory_test_loss"] = jnp.asarray(self.theory, self.y_test.dtype)
        return out

    def variables(self):
        what = {"current": "the empirical NTK at time t (at the end: the after-kernel)",
                "init": "the empirical NTK at initialization",
                "analytic": "the infinite-width NTK"}
        ridge = f"ridge {self.ridge:g} x mean eigenvalue" if self.ridge else "ridgeless"
        legend = {"current": "kernel regression, NTK now", "init": "kernel regression, NTK at init",
                  "analytic": "kernel regression, infinite width"}
        out = {f"kr_{k}_test_loss": reference(
            f"test loss of kernel regression ({ridge}) with {what[k]}", "test loss",
            "test_loss", legend[k], symbol="$L_{test}$", scale="log") for k in self.kernels}
        if self.theory is not None:
            out["kr_theory_test_loss"] = reference(
                f"test loss of kernel regression ({ridge}) with the infinite-width NTK "
                "predicted from its spectrum, averaged over training sets (eigenlearning: "
                "mfsim.sphere_learning_curve)", "test loss", "test_loss",
                "theory (from the spectrum)", symbol="$L_{test}$", scale="log",
                figure="learning_curve")
        return out
