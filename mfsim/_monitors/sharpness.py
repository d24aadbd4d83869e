r"""Sharpness: the top eigenvalues of the objective's Hessian, by Lanczos on
Hessian-vector products (never a dense Hessian).

$\lambda_1 \ge \dots \ge \lambda_k$ of $\nabla^2\mathcal J(\theta)$, with
$\mathcal J$ the system's objective (including its weight, e.g. the
$1/\alpha^2$ of an output scale) over the trainable arrays
(``system.trainable``); where the flow has per-array rates $r$
(``system.step_rates``, e.g. the standard-parameterized MLP) the matrix is
$R^{1/2}\nabla^2\mathcal J R^{1/2}$, whose spectrum is that of the step's
$R\nabla^2\mathcal J$. Gradient descent with learning rate $\eta = \tau\,dt$
on a quadratic is stable iff $\eta\lambda_1 < 2$: compare ``sharpness`` with
$2/\eta$ (edge of stability: it hovers there; catapult: it falls below).
For the squared loss the Gauss-Newton part of the Hessian is $\frac{w}{n}
J^\top J$, whose top eigenvalue is $\lambda_{\max}(\Theta)/n$ (``ntk = true``
records it as ``ntk_sharpness``: $\Theta$ the empirical NTK, with its weight).

Lanczos runs ``iterations`` Hessian-vector products (forward over reverse
mode) with full reorthogonalization from a fixed seeded start vector; an
exhausted Krylov space restarts from a fresh orthogonal vector, so with
``iterations`` equal to the number of parameters the eigenvalues are exact
to rounding (tests/test_sharpness.py checks them against a dense numpy
Hessian). Each save starts afresh (monitors are pure functions of the state).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .._system import AbstractGradientFlowSystem, AbstractSupervisedSystem
from .base import AbstractMonitor
from .variable import Variable, hidden


def lanczos_eigenvalues(matvec, v0: jax.Array, iterations: int, key) -> jax.Array:
    """Ritz values (ascending) of the symmetric operator ``matvec`` after
    ``iterations`` Lanczos steps from ``v0``, with full reorthogonalization
    (twice, classical Gram-Schmidt) and restarts from random vectors when the
    Krylov space is exhausted."""
    n = v0.size
    m = int(iterations)
    dtype = v0.dtype
    V = jnp.zeros((m + 1, n), dtype).at[0].set(v0 / jnp.linalg.norm(v0))
    alpha = jnp.zeros(m, dtype)
    beta = jnp.zeros(m, dtype)
    tiny = jnp.finfo(dtype).eps ** 0.75

    def orthogonalize(w, V):
        w = w - V.T @ (V @ w)
        return w - V.T @ (V @ w)

    def body(j, carry):
        V, alpha, beta, scale = carry
        v = V[j]
        w = matvec(v)
        a = jnp.dot(w, v)
        w = orthogonalize(w, V)
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(a) + b)
        exhausted = b <= tiny * jnp.maximum(scale, 1.0)
        fresh = orthogonalize(jax.random.normal(jax.random.fold_in(key, j), (n,), dtype), V)
        nxt = jnp.where(exhausted, fresh / jnp.linalg.norm(fresh), w / jnp.where(exhausted, 1, b))
        # an exhausted space: beta = 0 decouples the tridiagonal matrix (a restart)
        return (V.at[j + 1].set(nxt), alpha.at[j].set(a),
                beta.at[j].set(jnp.where(exhausted, 0, b)), scale)

    V, alpha, beta, _ = jax.lax.fori_loop(0, m, body, (V, alpha, beta, jnp.zeros((), dtype)))
    T = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    return jnp.linalg.eigvalsh(T)


def hessian_eigenvalues(objective, state, *, k: int = 1, iterations: int | None = None,
                        mask=None, rates=None, key=None) -> jax.Array:
    """The top ``k`` eigenvalues (descending) of the Hessian of the scalar
    ``objective(state)`` over the arrays ``mask`` marks (default: every
    floating array), preconditioned as $R^{1/2} H R^{1/2}$ by per-array
    ``rates`` (a tree like ``state``; default all 1), by Lanczos on
    Hessian-vector products (``iterations``: default ``min(p, max(2k + 20,
    32))`` for ``p`` parameters)."""
    flat, unravel = ravel_pytree(state)
    if mask is None:
        mask = jax.tree.map(eqx.is_inexact_array, state)
    if rates is None:
        rates = jax.tree.map(lambda _: 1.0, state)
    weights = ravel_pytree(jax.tree.map(
        lambda x, m, r: jnp.full(jnp.shape(x), bool(m), x.dtype) * jnp.sqrt(r),
        state, mask, rates))[0]
    p = flat.size
    iterations = min(p, max(2 * k + 20, 32)) if iterations is None else min(int(iterations), p)
    if k > iterations:
        raise ValueError(f"k = {k} eigenvalues need at least k Lanczos iterations of "
                         f"{p} parameters")
    key = jax.random.key(0) if key is None else key
    grad = jax.grad(lambda f: objective(unravel(f)))

    def hvp(v):
        return jax.jvp(grad, (flat,), (v * weights,))[1] * weights

    v0 = jax.random.normal(key, (p,), flat.dtype) * weights
    ritz = lanczos_eigenvalues(hvp, v0, iterations, jax.random.fold_in(key, 1))
    return ritz[::-1][:k]


class Sharpness(AbstractMonitor):
    """``sharpness``: the top ``k`` eigenvalues of the objective's Hessian
    (module docstring); with ``ntk=True`` also ``ntk_sharpness`` =
    lambda_max(Theta_t(X, X)) / n (supervised systems)."""

    requires: ClassVar = (AbstractGradientFlowSystem,)
    k: int = eqx.field(static=True, default=1)
    iterations: int | None = eqx.field(static=True, default=None)
    ntk: bool = eqx.field(static=True, default=False)

    def __call__(self, t, state, ctx):
        system = ctx.system
        out = {"sharpness": hessian_eigenvalues(system.objective, state, k=self.k,
                                                iterations=self.iterations,
                                                mask=system.trainable(state),
                                                rates=system.step_rates(state))}
        if self.ntk:
            if not isinstance(system, AbstractSupervisedSystem):
                raise TypeError(f"ntk_sharpness needs a supervised system, not "
                                f"{type(system).__name__}")
            x = system.x_train
            out["ntk_sharpness"] = jnp.linalg.eigvalsh(system.ntk(state, x, x))[-1] / x.shape[0]
        return out

    def variables(self):
        out = {"sharpness": hidden(
            "top eigenvalues of the objective's Hessian (Lanczos on Hessian-vector products; GD "
            "is stable iff eta lambda_1 < 2)", "sharpness", symbol="$\\lambda_i(\\nabla^2 J)$",
            scale="log", figure="stability")}
        if self.ntk:
            out["ntk_sharpness"] = Variable(
                "top eigenvalue of the NTK Theta_t(X, X) / n", "NTK sharpness",
                "$\\lambda_{max}(\\Theta_t) / n$", scale="log", rank=30)
        return out

    def dims(self):
        return {"sharpness": ("sharpness_index",)}
