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

import abc
import os
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jax_core

from .._named import named

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


def default_memory_budget() -> int:
    """A quarter of the default device's memory: an accelerator's own
    (``bytes_limit``), the machine's physical memory on CPU."""
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]) // 4
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):  # no sysconf: the old fixed default
        return DEFAULT_MEMORY_BUDGET


STREAM_BLOCK = 64  # inputs per streamed column block (enough for one efficient backward pass)


class Blocking(NamedTuple):
    """How the Jacobian contraction is cut (all counts are inputs):
    ``panel`` rows of the Jacobian are held at once, ``block`` columns are
    streamed past them (a divisor of ``panel``), and each backward pass takes
    ``chunk`` inputs (a divisor of ``block``)."""

    panel: int
    block: int
    chunk: int


def plan_blocking(params, n_outputs: int, n_rows: int, n_cols: int, memory_budget: int,
                  result_elements: int = 0, activation_elements: int = 0,
                  symmetric: bool = False) -> Blocking:
    """The :class:`Blocking` that computes each row's Jacobian once and
    recomputes columns as little as ``memory_budget`` bytes allow.

    The budget covers everything the computation allocates: the result, held
    three times (the padded blocks, their mirror, the result cut from it); per input of a
    ``chunk``, three copies of its ``activation_elements`` (the forward pass's
    intermediates, their cotangents, a workspace) and two ``(outputs, P)``
    rows (the backward pass that builds them); the ``panel`` rows; and per
    streamed input, two ``(outputs, P)`` rows (the block and the copy a
    contraction may make). With the inputs of a symmetric Gram all in one
    panel, nothing is streamed: every Jacobian is computed once, and the Gram
    is the panel against itself. Otherwise the panel is as large as the rest
    allows and the columns are streamed past it (those of a symmetric Gram
    only above the diagonal panel), so each column's Jacobian is computed
    once per panel to its left.
    """
    item = _itemsize(params)
    free = memory_budget - 3 * result_elements * item
    if free <= 0:
        raise ValueError(
            f"memory_budget of {memory_budget} bytes cannot even hold the result "
            f"({3 * result_elements * item} bytes with its copies); raise it"
        )
    row = n_outputs * _num_params(params) * item  # one input's Jacobian, bytes
    act = 3 * activation_elements * item
    n = max(n_rows, n_cols)
    chunk = n if act == 0 else int(max(1, min(n, (free // 4) // act)))
    chunk = int(max(1, min(chunk, (free // 4) // max(2 * row, 1))))
    work = chunk * (act + 2 * row)  # one backward pass in flight
    if symmetric and work + n_rows * row <= free:  # one panel: J J^T
        # the backward passes take what the panel leaves (fewer, larger passes)
        chunk = int(min(n_rows, (free - n_rows * row) // max(act + 2 * row, 1)))
        passes = -(-n_rows // chunk)
        chunk = -(-n_rows // passes)  # even backward passes, little padding
        return Blocking(chunk * passes, chunk * passes, chunk)
    block = min(STREAM_BLOCK, n_cols)
    if chunk < block:
        block = chunk * (block // chunk)
    chunk = min(chunk, block)
    while block > chunk and work + 6 * block * row > free:  # room for a panel of 4 blocks
        block -= chunk
    work = chunk * (act + 2 * row)
    panel = int((free - work - 2 * block * row) // max(row, 1))
    if panel < block:  # the least: one block of rows against one of columns
        panel = block = chunk = int(max(1, min(chunk, free // max(5 * row + act, 1))))
        return Blocking(panel, block, chunk)
    panel = min(panel, _multiple(n_rows, block))
    return Blocking(panel - panel % block, block, chunk)


def _multiple(n: int, k: int) -> int:
    """The least multiple of ``k`` that is at least ``n``."""
    return -(-n // k) * k


def choose_blocking(params, n_outputs: int, n_inputs: int, memory_budget: int,
                    result_elements: int = 0, activation_elements: int = 0
                    ) -> tuple[int, int]:
    """``(block, chunk)`` of :func:`plan_blocking` for the Gram of
    ``n_inputs`` against others: the streamed block and the backward pass."""
    b = plan_blocking(params, n_outputs, n_inputs, n_inputs, memory_budget, result_elements,
                      activation_elements)
    return b.block, b.chunk


def choose_block_size(params, n_outputs: int, n_inputs: int, memory_budget: int,
                      result_elements: int = 0, activation_elements: int = 0) -> int:
    """The ``block`` of :func:`choose_blocking`."""
    return choose_blocking(params, n_outputs, n_inputs, memory_budget, result_elements,
                           activation_elements)[0]


def _pad_blocks(x, block):
    n = x.shape[0]
    nb = -(-n // block)
    return _pad_to(x, nb * block).reshape((nb, block) + x.shape[1:])


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
    """``sum_p J1[i, a, p] J2[j, b, p]`` as ``(i, j, a, b)``: one plain matmul per
    leaf (an einsum with the output axes interleaved ran 1.2x slower)."""
    def one(a, b):
        (i, o, p), j = a.shape, b.shape[0]
        return (a.reshape(i * o, p) @ b.reshape(j * o, p).T).reshape(i, o, j, o)
    return sum(one(a, b) for a, b in zip(j1, j2)).transpose(0, 2, 1, 3)


def _pad_to(x, n: int):
    pad = n - x.shape[0]
    return jnp.concatenate([x, jnp.zeros((pad,) + x.shape[1:], x.dtype)]) if pad else x


@eqx.filter_jit
def _ntk_jacobian(f, params, x1, x2, panel: int, block: int, chunk: int | None,
                  symmetric: bool):
    """The Gram by panels of rows against streamed blocks of columns
    (:func:`plan_blocking`): each panel's Jacobian is computed once; a column
    block's once per panel (of a symmetric Gram: only right of the diagonal
    panel, whose own block is the panel against itself; the lower triangle is
    the mirror)."""
    g = _as_vector_fn(f)
    n1, n2 = x1.shape[0], x2.shape[0]
    n1p = -(-n1 // panel) * panel
    n2p = n1p if symmetric else -(-n2 // block) * block
    xr = _pad_to(x1, n1p)
    xc = xr if symmetric else _pad_to(x2, n2p)
    if symmetric and n1p == panel:  # one panel: J J^T, every Jacobian computed once
        j = _jacobian_block(g, params, xr, chunk)
        k = _contract(j, j)
        return ((k + k.transpose(1, 0, 3, 2)) / 2)[:n1, :n2]
    out = jax.eval_shape(g, params, x1[:1])
    o = out.shape[1]
    k0 = jnp.zeros((n1p, n2p, o, o), out.dtype)
    n_blocks = n2p // block

    def one_panel(i, k):
        xi = jax.lax.dynamic_slice_in_dim(xr, i * panel, panel)
        ji = _jacobian_block(g, params, xi, chunk)
        if symmetric:  # the diagonal panel: itself against itself, made exactly symmetric
            kd = _contract(ji, ji)
            kd = (kd + kd.transpose(1, 0, 3, 2)) / 2
            k = jax.lax.dynamic_update_slice(k, kd, (i * panel, i * panel, 0, 0))
            first = (i + 1) * (panel // block)
        else:
            first = 0

        def one_block(c, k):
            xb = jax.lax.dynamic_slice_in_dim(xc, c * block, block)
            kb = _contract(ji, _jacobian_block(g, params, xb, chunk))
            return jax.lax.dynamic_update_slice(k, kb, (i * panel, c * block, 0, 0))

        return jax.lax.fori_loop(first, n_blocks, one_block, k)

    k = jax.lax.fori_loop(0, n1p // panel, one_panel, k0)
    if symmetric:  # below the diagonal panels: Theta(x_j, x_i)_ab = Theta(x_i, x_j)_ba
        rows = jnp.arange(n1p) // panel
        lower = (rows[:, None] > rows[None, :])[:, :, None, None]
        k = jnp.where(lower, k.transpose(1, 0, 3, 2), k)
    return k[:n1, :n2]


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


class AbstractNTKMethod(eqx.Module):
    """How :func:`empirical_ntk` forms the Gram matrix of a blocking plan."""

    name: ClassVar[str]

    @abc.abstractmethod
    def gram(self, f, params, x1, x2, plan: Blocking, symmetric: bool):
        """The ``(n1, n2, o, o)`` kernel of ``f`` (outputs as vectors)."""


class JacobianContraction(AbstractNTKMethod):
    r"""Each input's Jacobian, computed once per panel of rows, contracted
    block by block: $J(x_1) J(x_2)^\top$ (for a symmetric Gram, only the
    blocks on and above the diagonal). Fast while the Jacobians fit."""

    name = "jacobian"

    def gram(self, f, params, x1, x2, plan, symmetric):
        return _ntk_jacobian(f, params, x1, x2, plan.panel, plan.block,
                             None if plan.chunk >= plan.panel else plan.chunk, symmetric)


class NTKVectorProducts(AbstractNTKMethod):
    r"""Columns as NTK-vector products $J(J^\top e_j)$, a block of inputs
    at a time, never a Jacobian: memory of one backward pass per block,
    for networks with many parameters per input."""

    name = "ntvp"

    def gram(self, f, params, x1, x2, plan, symmetric):
        # a block's backward pass holds its activations: at most a chunk's
        return _ntk_ntvp(f, params, x1, x2, min(plan.block, plan.chunk))


NTK_METHODS: dict[str, AbstractNTKMethod] = {
    m.name: m for m in (JacobianContraction(), NTKVectorProducts())}


def ntk_method(spec: str | AbstractNTKMethod) -> AbstractNTKMethod:
    """A method object, or its name (``"jacobian"``, ``"ntvp"``)."""
    return named(spec, AbstractNTKMethod, NTK_METHODS, "NTK method")


def empirical_ntk(
    f: Callable,
    params,
    x1,
    x2=None,
    *,
    method: str | AbstractNTKMethod = "jacobian",
    block_size: int | None = None,
    memory_budget: int | None = None,
):
    r"""The empirical NTK Gram matrix $\\Theta(x_1, x_2)$ of ``f`` at ``params``.

    **Arguments:**

    - ``f``: ``f(params, x)`` with ``x`` a batch ``(k, d)``, returning
      ``(k,)`` or ``(k, o)``. Pass a stable callable (a function, or a
      bound method of an Equinox module such as ``system.predict``) to
      reuse the compilation across calls.
    - ``params``: a PyTree of arrays.
    - ``x1``, ``x2``: inputs ``(n1, d)``, ``(n2, d)`` (``x2`` defaults to ``x1``).
    - ``method``: :class:`JacobianContraction` (``"jacobian"``) or
      :class:`NTKVectorProducts` (``"ntvp"``).
    - ``block_size``: inputs per block of rows and of columns (default:
      :func:`plan_blocking`'s panels and blocks, which fit the whole
      computation, result included, into ``memory_budget`` bytes).
    - ``memory_budget``: bytes (default: :func:`default_memory_budget`, a
      quarter of the device's memory). Within it :class:`JacobianContraction`
      computes each input's Jacobian once when the rows fit (and, for a
      symmetric Gram, ``x2`` omitted or the same array, only the blocks on
      and above the diagonal).

    **Returns:** ``(n1, n2)`` for scalar outputs, ``(n1, n2, o, o)`` otherwise.
    """
    symmetric = x2 is None or x2 is x1
    x1 = jnp.asarray(x1)
    x2 = x1 if symmetric else jnp.asarray(x2)
    out_shape = jax.eval_shape(f, params, x1[:1]).shape
    o = 1 if len(out_shape) == 1 else out_shape[1]
    method = ntk_method(method)
    if block_size is None:
        budget = default_memory_budget() if memory_budget is None else int(memory_budget)
        plan = plan_blocking(
            params, o, x1.shape[0], x2.shape[0], budget,
            result_elements=x1.shape[0] * x2.shape[0] * o * o,
            activation_elements=forward_elements(f, params, x1), symmetric=symmetric)
    else:
        b = int(block_size)
        plan = Blocking(b, b, b)
    k = method.gram(f, params, x1, x2, plan, symmetric)
    return k[..., 0, 0] if len(out_shape) == 1 else k


def ntk_vector_product(f: Callable, params, x, v):
    r"""$\\Theta(X, X)\\,v = J (J^\\top v)$ without forming $\\Theta$ (scalar outputs)."""
    out, vjp = jax.vjp(lambda p: f(p, x), params)
    (tangent,) = vjp(jnp.asarray(v, out.dtype))
    return jax.jvp(lambda p: f(p, x), (params,), (tangent,))[1]



