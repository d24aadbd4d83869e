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

Lanczos runs at most ``iterations`` Hessian-vector products (forward over
reverse mode) with full reorthogonalization from a seeded start vector (drawn
once per solve, in ``prepare``). It stops early once every one of the top
``k`` Ritz pairs $(\theta_i, u_i)$ has the residual $\|H u_i - \theta_i u_i\|
= \beta_j |s_{ji}| \le$ ``rtol`` $\max_i |\theta_i|$: a symmetric matrix has an
eigenvalue within the residual of each Ritz value, so the values are then
within ``rtol`` (relative) of eigenvalues of the Hessian (default ``rtol``
1e-8 in float64, 1e-5 in float32; at least 4 eps of the dtype; at most
``iterations`` steps either way).
An exhausted Krylov space restarts from a fresh orthogonal vector (a shifted
copy of the start vector: no random draw inside the loop) and then runs every
iteration, so with ``iterations`` equal to the number of parameters the
eigenvalues are exact to rounding, multiplicities included
(tests/test_sharpness.py checks them against a dense numpy Hessian). Each save
starts afresh (monitors are pure functions of the state).
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

#: the stopping tolerance by dtype where none is given (relative, on the residual)
DEFAULT_RTOL = {jnp.dtype(jnp.float64): 1e-8, jnp.dtype(jnp.float32): 1e-5}


def default_rtol(dtype) -> float:
    """``rtol`` where none is given: 1e-8 in float64, 1e-5 in float32."""
    return DEFAULT_RTOL.get(jnp.dtype(dtype), 1e-5)


def min_rtol(dtype) -> float:
    """The smallest ``rtol`` the dtype can meet: 4 eps, as for a solve's rtol
    (``mfsim._solve.settings.PRECISION_ULPS``); float32 4.8e-7."""
    return 4 * float(jnp.finfo(dtype).eps)


def _tridiagonal(alpha, beta, steps, floor):
    """The Lanczos matrix of the first ``steps`` steps, padded to full size by
    a decoupled diagonal at ``floor`` (below every Ritz value)."""
    m = alpha.size
    inside = jnp.arange(m) < steps
    a = jnp.where(inside, alpha, floor)
    b = jnp.where(jnp.arange(m - 1) < steps - 1, beta[:-1], 0)
    return jnp.diag(a) + jnp.diag(b, 1) + jnp.diag(b, -1)


def lanczos_eigenvalues(matvec, v0: jax.Array, iterations: int, *, k: int = 1,
                        rtol: float = 0.0) -> tuple[jax.Array, jax.Array]:
    """The top ``k`` Ritz values (descending) of the symmetric operator
    ``matvec`` after at most ``iterations`` Lanczos steps from ``v0``, and the
    number of steps taken: full reorthogonalization (classical Gram-Schmidt,
    twice where needed), restarts from shifted copies of ``v0`` when the Krylov
    space is exhausted, and a stop once the top ``k`` residuals are at most
    ``rtol`` times the largest of their values (``rtol = 0``: every step)."""
    n = v0.size
    m = int(iterations)
    dtype = v0.dtype
    V = jnp.zeros((m + 1, n), dtype).at[0].set(v0 / jnp.linalg.norm(v0))
    tiny = jnp.finfo(dtype).eps ** 0.75

    def project(w, V):
        return w - V.T @ (V @ w)

    def orthogonalize(w, V):
        # classical Gram-Schmidt, repeated only where cancellation lost more
        # than a factor sqrt(2) of the norm (Daniel, Gragg, Kaufman and Stewart's criterion):
        # each pass reads the whole basis, the loop's main cost after the matvec
        u = project(w, V)
        again = jnp.linalg.norm(u) < jnp.sqrt(0.5) * jnp.linalg.norm(w)
        return jax.lax.cond(again, project, lambda u, V: u, u, V)

    def fresh(j, V):
        u = orthogonalize(jnp.roll(v0, j + 1), V)
        return u / jnp.linalg.norm(u)

    def top(alpha, beta, steps, scale):
        T = _tridiagonal(alpha, beta, steps, -2 * scale - 1)
        values, vectors = jnp.linalg.eigh(T)
        return values[::-1][:k], vectors[:, ::-1][:, :k]

    def body(carry):
        j, V, alpha, beta, scale, restarted, _ = carry
        v = V[j]
        w = matvec(v)
        a = jnp.dot(w, v)
        # the three-term recurrence first, then the full reorthogonalization
        w = orthogonalize(w - a * v - beta[j - 1] * V[j - 1] * (j > 0), V)
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(a) + 2 * b)
        exhausted = b <= tiny * jnp.maximum(scale, 1.0)
        nxt = jax.lax.cond(exhausted, fresh, lambda j, V: w / b, j, V)
        # an exhausted space: beta = 0 decouples the tridiagonal matrix (a restart)
        alpha, beta = alpha.at[j].set(a), beta.at[j].set(jnp.where(exhausted, 0, b))
        restarted = restarted | exhausted
        done = jnp.asarray(False)
        if rtol > 0:
            values, vectors = top(alpha, beta, j + 1, scale)
            residual = b * jnp.abs(vectors[j])
            done = ((j + 1 >= k) & ~restarted
                    & jnp.all(residual <= rtol * jnp.max(jnp.abs(values))))
        return j + 1, V.at[j + 1].set(nxt), alpha, beta, scale, restarted, done

    def more(carry):
        return (carry[0] < m) & ~carry[-1]

    zero = jnp.zeros((), dtype)
    init = (0, V, jnp.zeros(m, dtype), jnp.zeros(m, dtype), zero, jnp.asarray(False),
            jnp.asarray(False))
    steps, _, alpha, beta, scale, _, _ = jax.lax.while_loop(more, body, init)
    return top(alpha, beta, steps, scale)[0], steps


def block_krylov_pairs(matvec, V0: jax.Array, blocks: int, *, k: int = 1
                       ) -> tuple[jax.Array, jax.Array]:
    """The top ``k`` Ritz pairs ``(values (k,), vectors (n, k))`` of the
    symmetric operator ``matvec`` on the block Krylov space of ``blocks``
    blocks from ``V0`` ``(n, b)``: each block is ``matvec`` of the last,
    batched (one call per block), orthogonalized against all before it (twice)
    and by QR. Unlike single-vector Lanczos this resolves a cluster of up to
    ``b`` (nearly) equal eigenvalues, the central flow's eigenvalues held at
    the edge of stability."""
    block = jax.vmap(matvec, in_axes=1, out_axes=1)
    Q = jnp.linalg.qr(V0)[0]
    basis, images = [Q], []
    for j in range(blocks):
        images.append(block(basis[-1]))
        if j == blocks - 1:
            break
        B = jnp.concatenate(basis, axis=1)
        W = images[-1] - B @ (B.T @ images[-1])
        basis.append(jnp.linalg.qr(W - B @ (B.T @ W))[0])
    B, AB = jnp.concatenate(basis, axis=1), jnp.concatenate(images, axis=1)
    T = B.T @ AB
    values, Y = jnp.linalg.eigh(0.5 * (T + T.T))
    return values[::-1][:k], B @ Y[:, ::-1][:, :k]


def start_vector(state, key=None) -> jax.Array:
    """The Lanczos start vector for ``state``'s parameters (flattened): a
    standard normal draw from ``key`` (default ``jax.random.key(0)``)."""
    flat = ravel_pytree(state)[0]
    key = jax.random.key(0) if key is None else key
    return jax.random.normal(key, flat.shape, flat.dtype)


def rate_scale(state, mask, rates=None, tau=1.0) -> jax.Array:
    r"""$\sqrt{\tau r}$ per entry of ``state`` (flattened) where ``mask`` is
    True, 0 elsewhere: the scaling $S$ with $S^2 = \tau R$ that makes the
    step's $R\nabla^2\mathcal J$ the symmetric $S\nabla^2\mathcal J S$
    (``rates``: per-array rates like ``state``, default all 1)."""
    if rates is None:
        rates = jax.tree.map(lambda _: 1.0, state)
    return ravel_pytree(jax.tree.map(
        lambda x, m, r: jnp.full(jnp.shape(x), bool(m), x.dtype) * jnp.sqrt(tau * r),
        state, mask, rates))[0]


def hessian_eigenvalues(objective, state, *, k: int = 1, iterations: int | None = None,
                        mask=None, rates=None, key=None, rtol: float | None = None,
                        start: jax.Array | None = None) -> jax.Array:
    """The top ``k`` eigenvalues (descending) of the Hessian of the scalar
    ``objective(state)`` over the arrays ``mask`` marks (default: every
    floating array), preconditioned as $R^{1/2} H R^{1/2}$ by per-array
    ``rates`` (a tree like ``state``; default all 1), by Lanczos on
    Hessian-vector products (``iterations``: at most ``min(p, max(2k + 20,
    32))`` for ``p`` parameters by default), stopped at the relative residual
    ``rtol`` (default :func:`default_rtol`; 0: every iteration). ``start``:
    the start vector (default :func:`start_vector` from ``key``)."""
    flat, unravel = ravel_pytree(state)
    if mask is None:
        mask = jax.tree.map(eqx.is_inexact_array, state)
    weights = rate_scale(state, mask, rates)
    p = flat.size
    iterations = min(p, max(2 * k + 20, 32)) if iterations is None else min(int(iterations), p)
    if k > iterations:
        raise ValueError(f"k = {k} eigenvalues need at least k Lanczos iterations of "
                         f"{p} parameters")
    rtol = default_rtol(flat.dtype) if rtol is None else float(rtol)
    if 0 < rtol < min_rtol(flat.dtype):
        raise ValueError(f"rtol = {rtol:g} is below what {flat.dtype} can meet "
                         f"({min_rtol(flat.dtype):.1e}); use float64 or a larger rtol")
    grad = jax.grad(lambda f: objective(unravel(f)))

    def hvp(v):
        return jax.jvp(grad, (flat,), (v * weights,))[1] * weights

    v0 = (start_vector(state, key) if start is None else start) * weights
    return lanczos_eigenvalues(hvp, v0, iterations, k=k, rtol=rtol)[0]


class Sharpness(AbstractMonitor):
    """``sharpness``: the top ``k`` eigenvalues of the objective's Hessian
    (module docstring: at most ``iterations`` Lanczos steps, stopped at the
    relative residual ``rtol``); with ``ntk=True`` also ``ntk_sharpness`` =
    lambda_max(Theta_t(X, X)) / n (supervised systems)."""

    requires: ClassVar = (AbstractGradientFlowSystem,)
    k: int = eqx.field(static=True, default=1)
    iterations: int | None = eqx.field(static=True, default=None)
    ntk: bool = eqx.field(static=True, default=False)
    rtol: float | None = eqx.field(static=True, default=None)

    def specialize(self, system, state0):
        dtype = jax.eval_shape(lambda s: ravel_pytree(s)[0], state0).dtype  # state0 may be abstract
        rtol = default_rtol(dtype) if self.rtol is None else self.rtol
        if 0 < rtol < min_rtol(dtype):
            raise ValueError(f"sharpness rtol = {rtol:g} is below what {dtype} can meet "
                             f"({min_rtol(dtype):.1e}); use float64 or a larger rtol")
        return self

    def prepare(self, system, state0):
        return start_vector(state0)  # drawn once per solve, not at every save

    def __call__(self, t, state, ctx):
        system = ctx.system
        start = ctx.data if ctx.data is not None else start_vector(state)
        out = {"sharpness": hessian_eigenvalues(system.objective, state, k=self.k,
                                                iterations=self.iterations,
                                                mask=system.trainable(state),
                                                rates=system.step_rates(state),
                                                rtol=self.rtol, start=start)}
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
