r"""Margins of a classifier trained on $\pm1$ labels (implicit bias toward max margin).

``margin`` $= \min_i y_i f(x_i)$ over the training set (positive once every
point is classified correctly); ``normalized_margin`` $= \text{margin} /
|\theta|^L$, with $|\theta|$ the Euclidean norm of the trainable arrays and $L$
the model's degree of homogeneity (``degree``: 1 for a linear model, the
number of layers for a bias-free ReLU network). Under gradient flow on the
logistic loss with separable data the normalized margin increases toward a
KKT point of the max-margin problem (Lyu and Li 2020); for a linear model the
direction converges to the hard-margin SVM's (Soudry et al. 2018).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._system import AbstractGradientFlowSystem, AbstractScalarOutputSystem
from .base import AbstractMonitor
from .variable import Variable


class Margin(AbstractMonitor):
    """``margin`` and ``normalized_margin`` on the training set (module docstring)."""

    requires: ClassVar = (AbstractScalarOutputSystem, AbstractGradientFlowSystem)
    degree: float = eqx.field(static=True, default=1.0)

    def __call__(self, t, state, ctx):
        system = ctx.system
        margin = jnp.min(system.y_train * system.train_outputs(state))
        mask = system.trainable(state)
        squares = [jnp.sum(x**2) for x, m in zip(jax.tree.leaves(state), jax.tree.leaves(mask))
                   if m]
        norm = jnp.sqrt(sum(squares))
        return {"margin": margin, "normalized_margin": margin / norm**self.degree}

    def variables(self):
        return {"margin": Variable("min_i y_i f(x_i) over the training set", "margin",
                                   "$\\min_i y_i f(x_i)$", scale="symlog", rank=20),
                "normalized_margin": Variable(
                    f"margin / |theta|^{self.degree:g} (trainable arrays)", "normalized margin",
                    f"$\\min_i y_i f(x_i) / \\|\\theta\\|^{{{self.degree:g}}}$", rank=20)}
