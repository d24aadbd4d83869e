"""Monitors of the sequence model: risk and the learned kernel."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._system import AbstractDiagonalSequenceModel, AbstractSequenceModel
from .base import AbstractMonitor, MonitorContext
from .variable import Variable


class Risk(AbstractMonitor):
    r"""$\|\theta_t - \theta^*\|^2$."""

    requires = (AbstractSequenceModel,)

    def __call__(self, t, state, ctx: MonitorContext):
        return {"risk": ctx.system.risk(state)}

    def variables(self):
        return {"risk": Variable("risk ||theta - theta*||^2", "risk",
                                 "$\\|\\theta - \\theta^*\\|^2$", scale="log", role="metric",
                                 oracle=True, rank=0)}


class LearnedKernel(AbstractMonitor):
    r"""Top-``k`` eigenvalues of the learned kernel ($K = A D^2 A^\top$ for the
    adaptive model; $\mathrm{diag}((a b^D)^2)$ for the diagonal one, whose
    eigenvectors are coordinates; the fixed $\mathrm{diag}(\lambda)$ for the
    vanilla one) and the
    share of $\theta^*$ captured by its top-$j$ eigenvectors, $j = 1..k$:
    $\|P_j\theta^*\|^2/\|\theta^*\|^2$."""

    k: int = eqx.field(static=True, default=10)

    requires = (AbstractSequenceModel,)

    def __call__(self, t, state, ctx: MonitorContext):
        star = ctx.system.theta_star
        if isinstance(ctx.system, AbstractDiagonalSequenceModel):  # coordinate eigenvectors
            lam, idx = jax.lax.top_k(ctx.system.kernel_diagonal(state), self.k)
            captured = star[idx] ** 2
        else:
            lam, vec = jnp.linalg.eigh(ctx.system.kernel(state))
            lam, vec = lam[::-1][: self.k], vec[:, ::-1][:, : self.k]
            captured = (vec.T @ star) ** 2
        share = jnp.cumsum(captured) / jnp.sum(star**2)
        return {"kernel_eigenvalues": lam, "kernel_top_share": share}

    def variables(self):
        return {"kernel_eigenvalues": Variable(
                    f"top-{self.k} eigenvalues of the learned kernel A D^2 A^T",
                    "learned-kernel eigenvalues", "$\\lambda_j(A D^2 A^T)$", scale="log", rank=30),
                "kernel_top_share": Variable(
                    "share of ||theta*||^2 in the span of the top-j eigenvectors",
                    "target share on the top eigenvectors",
                    "$\\|P_j \\theta^*\\|^2 / \\|\\theta^*\\|^2$", bounds=(0.0, 1.0), rank=30)}
