r"""Empirical NTK of any ``f(params, x)``.

$\Theta(x, x') = \langle \nabla_\theta f(x;\theta), \nabla_\theta f(x';\theta)\rangle$
for ``params`` any PyTree and ``f(params, x)`` mapping a batch ``(k, d)`` to
``(k,)`` (scalar outputs: the Gram is ``(n1, n2)``) or ``(k, o)`` (vector
outputs: ``(n1, n2, o, o)``).

Two implementations, both blocked over inputs so that peak memory stays
within ``memory_budget`` bytes:

- ``"jacobian"``: per block of inputs, the per-example Jacobians
  (``vmap(jacrev)``), contracted block against block;
- ``"ntvp"``: NTK-vector products $\Theta e_j = J (J^\top e_j)$: a ``vjp``
  at a block of columns gives $J^\top e_j$, then ``jvp`` over the rows;
  no pair of Jacobian blocks is ever held.

Parts of ``params`` cut from the gradient by ``jax.lax.stop_gradient`` inside
``f`` (frozen layers) do not contribute, as in the training flow.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jax_core

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB


def _num_params(params) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params) if eqx.is_array(x))


def _itemsize(params) -> int:
    leaves = [x for x in jax.tree.leaves(params) if eqx.is_array(x)]
    return max((x.dtype.itemsize for x in leaves), default=8)


def forward_elements(f: Callable, params, x) -> int:
    """Elements of every intermediate of ``f(params, x[:1])``: one example's
    activations (what a backward pass keeps and the cotangents it makes; a
    convolutional layer's feature maps can outnumber its parameters)."""
    jaxpr = jax.make_jaxpr(f)(params, x[:1])

    def count(jp) -> int:
        total = 0
        for eqn in jp.eqns:
            # arrays count by their elements; tokens and other non-array values are shapeless
            total += sum(int(np.prod(getattr(v.aval, "shape", (0,)))) for v in eqn.outvars)
            for sub in jax_core.jaxprs_in_params(eqn.params):  # inner jit, scan, cond
                total += count(getattr(sub, "jaxpr", sub))
        return total
    return count(jaxpr.jaxpr)


def choose_blocking(params, n_outputs: int, n_inputs: int, memory_budget: int,
                    result_elements: int = 0, activation_elements: int = 0
                    ) -> tuple[int, int]:
    """``(block, chunk)``: the largest block of inputs whose Jacobian rows fit
    ``memory_budget`` bytes, and the inputs per backward pass (``chunk``, a
    divisor of ``block``) whose activations fit a quarter of it.

    The budget covers everything the computation allocates: the result
    (held twice: the stacked blocks and their reordering); per input of a
    block, about five ``(outputs, P)`` arrays (two Jacobian blocks, the
    backward pass that builds one, and the copies a contraction may make);
    per input of a chunk, three copies of its ``activation_elements`` (the
    forward pass's intermediates, their cotangents, a workspace: a
    convolutional layer's feature maps can outnumber its parameters).
    """
    item = _itemsize(params)
    free = memory_budget - 2 * result_elements * item
    if free <= 0:
        raise ValueError(
            f"memory_budget of {memory_budget} bytes cannot even hold the result "
            f"({2 * result_elements * item} bytes with its copy); raise it"
        )
    per_act = 3 * activation_elements * item
    per_row = 5 * n_outputs * _num_params(params) * item
    chunk = n_inputs if per_act == 0 else int(max(1, min(n_inputs, (free // 4) // per_act)))
    block = int(max(1, min(n_inputs, (free - chunk * per_act) // max(per_row, 1))))
    if per_act == 0:
        return block, block
    chunk = min(chunk, block)
    return block - block % chunk, chunk


def choose_block_size(params, n_outputs: int, n_inputs: int, memory_budget: int,
                      result_elements: int = 0, activation_elements: int = 0) -> int:
    """The ``block`` of :func:`choose_blocking`."""
    return choose_blocking(params, n_outputs, n_inputs, memory_budget, result_elements,
                           activation_elements)[0]


def _pad_blocks(x, block):
    n = x.shape[0]
    nb = -(-n // block)
    pad = nb * block - n
    x = jnp.concatenate([x, jnp.zeros((pad,) + x.shape[1:], x.dtype)]) if pad else x
    return x.reshape((nb, block) + x.shape[1:])


def _as_vector_fn(f):
    """f(params, x_batch) -> (k, o), whatever f's output rank."""

    def g(params, x):
        out = f(params, x)
        return out[:, None] if out.ndim == 1 else out

    return g


def _jacobian_block(g, params, xb, chunk: int | None = None):
    """Per-input Jacobians of a block, ``chunk`` inputs per backward pass."""
    single = lambda p, x: g(p, x[None])[0]  # noqa: E731  (o,)
    jacobian = jax.vmap(jax.jacrev(single), in_axes=(None, 0))
    b = xb.shape[0]
    if chunk is None or chunk >= b:
        jac = jacobian(params, xb)
    else:
        parts = jax.lax.map(lambda xc: jacobian(params, xc),
                            xb.reshape((b // chunk, chunk) + xb.shape[1:]))
        jac = jax.tree.map(lambda a: a.reshape((b,) + a.shape[2:]), parts)
    leaves = [j.reshape(j.shape[0], j.shape[1], -1) for j in jax.tree.leaves(jac)]
    return leaves  # list of (b, o, p_leaf)


def _contract(j1, j2):
    return sum(jnp.einsum("iap,jbp->ijab", a, b) for a, b in zip(j1, j2))


@eqx.filter_jit
def _ntk_jacobian(f, params, x1, x2, block, chunk=None):
    g = _as_vector_fn(f)
    b1, b2 = _pad_blocks(x1, block), _pad_blocks(x2, block)

    def row(xb1):
        j1 = _jacobian_block(g, params, xb1, chunk)
        return jax.lax.map(lambda xb2: _contract(j1, _jacobian_block(g, params, xb2, chunk)),
                           b2)

    k = jax.lax.map(row, b1)  # (nb1, nb2, b, b, o, o)
    nb1, nb2, bs, _, o, _ = k.shape
    k = k.transpose(0, 2, 1, 3, 4, 5).reshape(nb1 * bs, nb2 * bs, o, o)
    return k[: x1.shape[0], : x2.shape[0]]


@eqx.filter_jit
def _ntk_ntvp(f, params, x1, x2, block):
    g = _as_vector_fn(f)
    b1, b2 = _pad_blocks(x1, block), _pad_blocks(x2, block)

    def column_block(xb2):
        out, vjp = jax.vjp(lambda p: g(p, xb2), params)
        bs, o = out.shape
        basis = jnp.eye(bs * o, dtype=out.dtype).reshape(bs * o, bs, o)
        tangents = jax.vmap(vjp)(basis)[0]  # params-shaped, leading bs*o

        def rows(xb1):
            push = lambda t: jax.jvp(lambda p: g(p, xb1), (params,), (t,))[1]  # noqa: E731
            return jax.vmap(push)(tangents)  # (bs*o, b1, o)

        cols = jax.lax.map(rows, b1)  # (nb1, bs*o, b1, o)
        nb1, _, b1s, _ = cols.shape
        cols = cols.reshape(nb1, bs, o, b1s, o).transpose(0, 3, 1, 4, 2)
        return cols.reshape(nb1 * b1s, bs, o, o)  # rows x (this block's columns)

    k = jax.lax.map(column_block, b2)  # (nb2, n1p, bs, o, o)
    nb2, n1p, bs, o, _ = k.shape
    k = k.transpose(1, 0, 2, 3, 4).reshape(n1p, nb2 * bs, o, o)
    return k[: x1.shape[0], : x2.shape[0]]


def empirical_ntk(
    f: Callable,
    params,
    x1,
    x2=None,
    *,
    method: str = "jacobian",
    block_size: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
):
    r"""The empirical NTK Gram matrix $\\Theta(x_1, x_2)$ of ``f`` at ``params``.

    **Arguments:**

    - ``f``: ``f(params, x)`` with ``x`` a batch ``(k, d)``, returning
      ``(k,)`` or ``(k, o)``. Pass a stable callable (a function, or a
      bound method of an Equinox module such as ``system.predict``) to
      reuse the compilation across calls.
    - ``params``: a PyTree of arrays.
    - ``x1``, ``x2``: inputs ``(n1, d)``, ``(n2, d)`` (``x2`` defaults to ``x1``).
    - ``method``: ``"jacobian"`` or ``"ntvp"``.
    - ``block_size``: inputs per block (default: the largest for which the
      whole computation, result included, fits ``memory_budget`` bytes,
      with the per-input Jacobians of a block built a ``chunk`` of inputs
      at a time so that the activations fit too; :func:`choose_blocking`).

    **Returns:** ``(n1, n2)`` for scalar outputs, ``(n1, n2, o, o)`` otherwise.
    """
    x1 = jnp.asarray(x1)
    x2 = x1 if x2 is None else jnp.asarray(x2)
    out_shape = jax.eval_shape(f, params, x1[:1]).shape
    o = 1 if len(out_shape) == 1 else out_shape[1]
    if method not in ("jacobian", "ntvp"):
        raise ValueError(f"unknown NTK method {method!r}; allowed: jacobian, ntvp")
    chunk = None
    if block_size is None:
        block_size, chunk = choose_blocking(
            params, o, max(x1.shape[0], x2.shape[0]), memory_budget,
            result_elements=x1.shape[0] * x2.shape[0] * o * o,
            activation_elements=forward_elements(f, params, x1))
    if method == "jacobian":
        k = _ntk_jacobian(f, params, x1, x2, int(block_size),
                          None if chunk is None or chunk >= block_size else int(chunk))
    else:  # a block's backward pass holds its activations: at most a chunk's
        k = _ntk_ntvp(f, params, x1, x2, int(min(block_size, chunk or block_size)))
    return k[..., 0, 0] if len(out_shape) == 1 else k


def ntk_vector_product(f: Callable, params, x, v):
    r"""$\\Theta(X, X)\\,v = J (J^\\top v)$ without forming $\\Theta$ (scalar outputs)."""
    out, vjp = jax.vjp(lambda p: f(p, x), params)
    (tangent,) = vjp(jnp.asarray(v, out.dtype))
    return jax.jvp(lambda p: f(p, x), (params,), (tangent,))[1]



