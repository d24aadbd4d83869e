r"""Gradient-flow estimators in the Gaussian sequence model.

All minimize $\frac12\|z - \theta\|^2$ by gradient flow (time scale 1) over a
parameterization of $\theta$; the risk is $\|\theta - \theta^*\|^2$.

- :class:`VanillaSequenceModel`: $\theta_j = \lambda_j^{1/2}\beta_j$,
  $\beta(0) = 0$, so $\theta_j(t) = (1 - e^{-\lambda_j t}) z_j$ (fixed kernel).
- :class:`DiagonalSequenceModel` (Li & Lin 2024): $\theta_j = a_j b_j^D\beta_j$,
  $a(0) = \lambda^{1/2}$, $b(0) = b_0$, $\beta(0) = 0$. Conserved:
  $a^2 - \beta^2 = \lambda$ and $b^2 - D\beta^2 = b_0^2$; for $D = 0$,
  $\dot\theta = \sqrt{\lambda^2 + 4\theta^2}(z - \theta)$.
- :class:`AdaptiveSequenceModel`: $\theta = A\,\mathrm{diag}(d)\,\beta$ with a
  learnable matrix $A$ and diagonal $d$; $A(0) = A_0$ (identity by default),
  $d(0) = \lambda^{1/2}$, $\beta(0) = 0$; the learned kernel is
  $K = A\,\mathrm{diag}(d^2) A^\top$. Conserved quantities follow from the
  rescaling symmetries of $(A, d, \beta)\mapsto A\,\mathrm{diag}(d)\beta$ (a
  gradient flow conserves $\sum_{\text{scaled}} \pm\|\cdot\|^2$ for every
  one-parameter scaling symmetry):

  * $d_k\to c\,d_k,\ \beta_k\to\beta_k/c$: $\ d_k^2 - \beta_k^2$ (equal to $\lambda_k$);
  * free $A$: $A_{:k}\to c\,A_{:k},\ d_k\to d_k/c$: $\ \|A_{:k}\|^2 - d_k^2$
    (equal to $\|A_{0,:k}\|^2 - \lambda_k$).

  With ``orthogonal=True``, $A$ moves on the orthogonal group by its
  Riemannian gradient flow (the metric induced by the Frobenius inner
  product): $\dot A = -\tau A\,\mathrm{skew}(A^\top G)$ with
  $G = \nabla_A J$ the Euclidean gradient and
  $\mathrm{skew}(M) = (M - M^\top)/2$, the projection of $-\tau G$ on the
  tangent space at $A$; $d$ and $\beta$ follow their plain gradient flow.
  $A^\top A = I$ is conserved by the flow (a numerical solve keeps it to its
  tolerance: the invariant ``orthogonality``, $A^\top A - I$); the column
  scaling is no symmetry any more, and $d_k^2 - \beta_k^2$ remains. The
  gradient in $A$ is rank one, so the projection costs $O(N^2)$ like the
  free model's field; it replaced a chart $A = A_0\exp(W - W^\top)$ whose
  ``expm`` and its gradient made each evaluation ~250x slower than the free
  model's (N = 400; ``python -m bench orthogonal_flow``).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._system import (
    AbstractDiagonalSequenceModel,
    AbstractInvariantSystem,
    AbstractSequenceModel,
)


def _fields(data):
    return jnp.asarray(data.z), jnp.asarray(data.theta_star), jnp.asarray(data.lam)


class VanillaSequenceModel(AbstractDiagonalSequenceModel, AbstractInvariantSystem):
    """$\\theta_j = \\lambda_j^{1/2}\\beta_j$ from $\\beta = 0$: a fixed kernel."""

    z: Float[Array, " N"]
    theta_star: Float[Array, " N"]
    lam: Float[Array, " N"]

    def __init__(self, data):
        self.z, self.theta_star, self.lam = _fields(data)

    def init(self, key=None):
        return jnp.zeros_like(self.z)

    def theta(self, state):
        return jnp.sqrt(self.lam) * state

    def kernel_diagonal(self, state):
        """The (fixed) kernel diag(lambda), as its diagonal."""
        return self.lam

    def invariants(self, state):
        """None: a fixed-kernel flow has no rescaling symmetry."""
        return {}

    def solution(self, t):
        """$\\theta_j(t) = (1 - e^{-\\lambda_j t}) z_j$."""
        return -jnp.expm1(-self.lam * jnp.asarray(t)[..., None]) * self.z


class DiagonalState(eqx.Module):
    a: Float[Array, " N"]
    b: Float[Array, " N"]
    beta: Float[Array, " N"]


class DiagonalSequenceModel(AbstractDiagonalSequenceModel, AbstractInvariantSystem):
    """$\\theta_j = a_j b_j^D\\beta_j$, $a(0) = \\lambda^{1/2}$, $b(0) = b_0$, $\\beta(0) = 0$."""

    z: Float[Array, " N"]
    theta_star: Float[Array, " N"]
    lam: Float[Array, " N"]
    b0: Float[Array, ""]
    depth: int = eqx.field(static=True)

    def __init__(self, data, *, depth: int = 0, b0: float = 1.0):
        self.z, self.theta_star, self.lam = _fields(data)
        self.b0 = jnp.asarray(b0, self.z.dtype)
        self.depth = int(depth)

    def init(self, key=None):
        return DiagonalState(a=jnp.sqrt(self.lam), b=jnp.full_like(self.z, self.b0),
                             beta=jnp.zeros_like(self.z))

    def theta(self, state):
        return state.a * state.b**self.depth * state.beta

    def kernel_diagonal(self, state):
        """The learned kernel diag((a b^D)^2) (the feature scale of beta), as its diagonal."""
        return (state.a * state.b**self.depth) ** 2

    def invariants(self, state):
        """$a^2 - \\beta^2 - \\lambda$ and $b^2 - D\\beta^2 - b_0^2$ (zero along the flow)."""
        return {"a_beta": state.a**2 - state.beta**2 - self.lam,
                "b_beta": state.b**2 - self.depth * state.beta**2 - self.b0**2}

    def invariant_labels(self) -> dict[str, str]:
        return {"a_beta": "$a^2 - \\beta^2 - \\lambda$",
                "b_beta": "$b^2 - D\\beta^2 - b_0^2$"}


class AdaptiveState(eqx.Module):
    """``A`` (free, or orthogonal in the orthogonal model), ``d``, ``beta``."""

    A: Float[Array, "N N"]
    d: Float[Array, " N"]
    beta: Float[Array, " N"]


class AdaptiveSequenceModel(AbstractSequenceModel, AbstractInvariantSystem):
    """$\\theta = A\\,\\mathrm{diag}(d)\\,\\beta$ with learnable eigenvectors and eigenvalues."""

    z: Float[Array, " N"]
    theta_star: Float[Array, " N"]
    lam: Float[Array, " N"]
    basis: Float[Array, "N N"]
    orthogonal: bool = eqx.field(static=True)

    def __init__(self, data, *, orthogonal: bool = False, basis=None):
        self.z, self.theta_star, self.lam = _fields(data)
        n = self.z.shape[0]
        self.basis = jnp.eye(n, dtype=self.z.dtype) if basis is None else jnp.asarray(basis)
        self.orthogonal = bool(orthogonal)

    def init(self, key=None):
        return AdaptiveState(A=self.basis, d=jnp.sqrt(self.lam), beta=jnp.zeros_like(self.z))

    def vector_field(self, t, state, args):
        """The gradient flow; for an orthogonal model, $A$'s component
        projected on the tangent space of the orthogonal group at $A$."""
        flow = super().vector_field(t, state, args)
        if not self.orthogonal:
            return flow
        # -tau grad_A J = tau r u^T is rank one (J = |z - A u|^2 / 2, u = d beta,
        # r = z - A u), so the projection A skew(A^T tau r u^T) is
        # (tau/2) [(A A^T r) u^T - (A u)(A^T r)^T]: O(N^2), no N x N product
        a, u = state.A, state.d * state.beta
        atr = a.T @ (self.z - a @ u)
        half_tau = 0.5 * self.time_scale()
        return eqx.tree_at(lambda s: s.A, flow,
                           half_tau * (jnp.outer(a @ atr, u) - jnp.outer(a @ u, atr)))

    def matrix(self, state) -> Float[Array, "N N"]:
        """The eigenvector matrix $A$."""
        return state.A

    def theta(self, state):
        return self.matrix(state) @ (state.d * state.beta)

    def kernel(self, state) -> Float[Array, "N N"]:
        """The learned kernel $K = A\\,\\mathrm{diag}(d^2)A^\\top$."""
        a = self.matrix(state)
        return (a * state.d**2) @ a.T

    def invariants(self, state):
        out = {"d_beta": state.d**2 - state.beta**2 - self.lam}
        if self.orthogonal:
            out["orthogonality"] = state.A.T @ state.A - self.basis.T @ self.basis
        else:
            out["column_d"] = (jnp.sum(state.A**2, axis=0) - state.d**2
                               - (jnp.sum(self.basis**2, axis=0) - self.lam))
        return out

    def invariant_labels(self) -> dict[str, str]:
        return {"d_beta": "$d^2 - \\beta^2 - \\lambda$",
                "orthogonality": "orthogonality $A^\\top A - A_0^\\top A_0$",
                "column_d": "column balance $\\|a_k\\|^2 - d_k^2$ (minus its start)"}
