r"""Training losses of supervised systems: squared error (the default),
logistic and cross-entropy.

A loss is $L(f) = \frac1n\sum_i \ell(f(x_i), y_i)$ over the ``n`` rows; a
supervised system's objective is $w\,L$ (``loss_weight``) and its flow in
function space is

$$\dot f(X) = -\frac{\tau}{n}\,\Theta_t(X, X)\,\ell'(f(X), y),$$

$\ell'$ the derivative of the per-example loss in the prediction (for the
squared loss, the residual $f - y$; for the logistic loss,
$-y\,\sigma(-y f)$). The constant-kernel twin freezes $\Theta$ in this flow.

- :class:`SquaredLoss`: $\ell = \frac12|f - y|^2$ (scalar or vector outputs).
- :class:`LogisticLoss`: labels $y = \pm1$, $\ell = \log(1 + e^{-y f})$
  (``softplus``, stable for large margins). On separable data gradient flow
  drives the loss to 0 and $|\theta| \to \infty$; a linear model's direction
  tends to the hard-margin SVM's like $1/\log t$ (Soudry et al. 2018).
- :class:`CrossEntropyLoss`: vector outputs (logits) and one-hot targets,
  $\ell = -\sum_c y_c \log\mathrm{softmax}(f)_c$.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class AbstractLoss(eqx.Module):
    """A per-example loss $\\ell(f, y)$, averaged over the rows."""

    name: ClassVar[str]

    @abc.abstractmethod
    def per_example(self, pred: Array, target: Array) -> Float[Array, " n"]:
        """$\\ell(f(x_i), y_i)$ for each row ``i``."""

    def __call__(self, pred: Array, target: Array) -> Float[Array, ""]:
        """$\\frac1n\\sum_i \\ell(f(x_i), y_i)$."""
        return jnp.mean(self.per_example(pred, target))

    def derivative(self, pred: Array, target: Array) -> Array:
        """$\\partial\\ell/\\partial f$ at each row (shaped like ``pred``)."""
        return jax.grad(lambda p: jnp.sum(self.per_example(p, target)))(pred)


class SquaredLoss(AbstractLoss):
    """$\\ell = \\frac12|f - y|^2$."""

    name: ClassVar[str] = "squared"

    def per_example(self, pred, target):
        diff = (pred - target).reshape(pred.shape[0], -1)
        return 0.5 * jnp.sum(diff**2, axis=1)

    def __call__(self, pred, target):
        # the same operations as mfsim.squared_loss (bitwise the runs before losses)
        return 0.5 * jnp.sum((pred - target) ** 2) / pred.shape[0]

    def derivative(self, pred, target):
        return pred - target


class LogisticLoss(AbstractLoss):
    """$\\ell = \\log(1 + e^{-y f})$, labels $y = \\pm 1$."""

    name: ClassVar[str] = "logistic"

    def per_example(self, pred, target):
        return jax.nn.softplus(-target * pred)

    def derivative(self, pred, target):
        return -target * jax.nn.sigmoid(-target * pred)


class CrossEntropyLoss(AbstractLoss):
    """$\\ell = -\\sum_c y_c \\log\\mathrm{softmax}(f)_c$: logits ``(n, C)``,
    one-hot (or probability) targets ``(n, C)``."""

    name: ClassVar[str] = "cross_entropy"

    def per_example(self, pred, target):
        return -jnp.sum(target * jax.nn.log_softmax(pred, axis=-1), axis=-1)

    def derivative(self, pred, target):
        return jax.nn.softmax(pred, axis=-1) * jnp.sum(target, axis=-1, keepdims=True) - target


LOSSES: dict[str, type[AbstractLoss]] = {
    cls.name: cls for cls in (SquaredLoss, LogisticLoss, CrossEntropyLoss)}


def get_loss(loss: str | AbstractLoss) -> AbstractLoss:
    """A loss object from its name (``squared``, ``logistic``, ``cross_entropy``)."""
    if isinstance(loss, AbstractLoss):
        return loss
    try:
        return LOSSES[loss]()
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}") from None
