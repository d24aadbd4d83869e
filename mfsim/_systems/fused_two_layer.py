r"""The two-layer network's output and its gradient as fused Pallas kernels.

$h(x_i) = c\sum_j v_j\,\phi(a\,w_j\cdot x_i + b_j)$ and, for a cotangent $g$
on the outputs, $\partial_{v_j} = c\sum_i g_i\phi(z_{ij})$,
$\partial_{w_j} = c\,a\sum_i g_i v_j\phi'(z_{ij})\,x_i$,
$\partial_{b_j} = c\sum_i g_i v_j\phi'(z_{ij})$, with $z_{ij} = a\,w_j\cdot x_i
+ b_j$. The plain field (:meth:`TwoLayerNetwork.raw_output` under
``jax.grad``) writes the $n\times m$ pre-activations to memory and reads them
back several times; here they live only in a tile:

- the output kernel runs one program per tile of ``block_n`` inputs and loops
  over tiles of ``block_m`` neurons, accumulating $\phi(z)\,v$;
- the gradient kernel runs one program per tile of neurons and loops over
  tiles of inputs, recomputing $z$ (one more matmul, as fused attention's
  backward pass does) and accumulating the three sums.

Sizes are padded to whole tiles with zeros (a padded input has cotangent 0,
a padded neuron has $v = 0$; both add nothing) and $d$ to a power of two (at
least 16, what a GPU matmul tile needs). On a GPU the kernels compile through
Pallas' Triton backend; elsewhere they run in Pallas' interpret mode (correct,
slow: the tests' check of the kernels on a CPU). Only reverse-mode
differentiation is defined (``jax.custom_vjp``): :class:`TwoLayerNetwork`
uses the kernels for the gradient of its objective (``fused=True``) and keeps
the plain path for everything else (losses, forward-mode Hessian products).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from .activations import ACTIVATIONS, activation_derivative

BLOCK_N = 64  # inputs per tile
BLOCK_M = 64  # neurons per tile


def _interpret() -> bool:
    return jax.default_backend() != "gpu"


def _tiles(size: int, block: int) -> tuple[int, int]:
    """(tile, padded size): ``block``, or the next power of two >= 16 when
    ``size`` is smaller."""
    tile = min(block, pl.next_power_of_2(max(size, 16)))
    return tile, pl.cdiv(size, tile) * tile


def _pad(a, shape):
    return jnp.pad(a, [(0, s - n) for n, s in zip(a.shape, shape)])


def _output_kernel(x_ref, w_ref, v_ref, b_ref, out_ref, *, activation, scale, block_m):
    phi = ACTIVATIONS[activation]
    x = x_ref[...]
    n_blocks = w_ref.shape[0] // block_m

    def body(k, acc):
        rows = pl.ds(k * block_m, block_m)
        z = scale * jnp.dot(x, w_ref[rows, :].T) + b_ref[rows][None, :]
        return acc + jnp.sum(phi(z) * v_ref[rows][None, :], axis=1)

    out_ref[...] = jax.lax.fori_loop(0, n_blocks, body, jnp.zeros(x.shape[0], out_ref.dtype)
                                     ).astype(out_ref.dtype)


def _gradient_kernel(x_ref, g_ref, w_ref, v_ref, b_ref, gw_ref, gv_ref, gb_ref, *, activation,
                     scale, block_n):
    phi = ACTIVATIONS[activation]
    w, v, b = w_ref[...], v_ref[...], b_ref[...]
    n_blocks = x_ref.shape[0] // block_n

    def body(k, acc):
        gw, gv, gb = acc
        rows = pl.ds(k * block_n, block_n)
        x, g = x_ref[rows, :], g_ref[rows]
        z = scale * jnp.dot(x, w.T) + b[None, :]
        gv = gv + jnp.sum(g[:, None] * phi(z), axis=0)
        t = g[:, None] * activation_derivative(phi, z) * v[None, :]
        return gw + scale * jnp.dot(t.T, x), gv, gb + jnp.sum(t, axis=0)

    zeros = (jnp.zeros(w.shape, gw_ref.dtype), jnp.zeros(v.shape, gv_ref.dtype),
             jnp.zeros(b.shape, gb_ref.dtype))
    gw, gv, gb = jax.lax.fori_loop(0, n_blocks, body, zeros)
    gw_ref[...] = gw.astype(gw_ref.dtype)
    gv_ref[...] = gv.astype(gv_ref.dtype)
    gb_ref[...] = gb.astype(gb_ref.dtype)


def _padded(x, w, v, b):
    (n, d), m = x.shape, w.shape[0]
    bn, n_pad = _tiles(n, BLOCK_N)
    bm, m_pad = _tiles(m, BLOCK_M)
    d_pad = pl.next_power_of_2(max(d, 16))
    b = jnp.zeros(m, w.dtype) if b is None else b
    return (bn, bm), (_pad(x, (n_pad, d_pad)), _pad(w, (m_pad, d_pad)), _pad(v, (m_pad,)),
                      _pad(b, (m_pad,)))


def _whole(shape):
    return pl.BlockSpec(shape, lambda i: (0,) * len(shape))


def _output(x, w, v, b, activation, scale):
    (bn, bm), (xp, wp, vp, bp) = _padded(x, w, v, b)
    kernel = functools.partial(_output_kernel, activation=activation, scale=scale, block_m=bm)
    out = pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((xp.shape[0],), x.dtype),
        grid=(xp.shape[0] // bn,),
        in_specs=[pl.BlockSpec((bn, xp.shape[1]), lambda i: (i, 0)), _whole(wp.shape),
                  _whole(vp.shape), _whole(bp.shape)],
        out_specs=pl.BlockSpec((bn,), lambda i: (i,)),
        interpret=_interpret(), name="two_layer_output",
    )(xp, wp, vp, bp)
    return out[: x.shape[0]]


def _gradient(x, g, w, v, b, activation, scale):
    (bn, bm), (xp, wp, vp, bp) = _padded(x, w, v, b)
    gp = _pad(g, (xp.shape[0],))
    kernel = functools.partial(_gradient_kernel, activation=activation, scale=scale, block_n=bn)
    neurons = pl.BlockSpec((bm, wp.shape[1]), lambda j: (j, 0))
    vector = pl.BlockSpec((bm,), lambda j: (j,))
    gw, gv, gb = pl.pallas_call(
        kernel, out_shape=(jax.ShapeDtypeStruct(wp.shape, w.dtype),
                           jax.ShapeDtypeStruct(vp.shape, v.dtype),
                           jax.ShapeDtypeStruct(bp.shape, v.dtype)),
        grid=(wp.shape[0] // bm,),
        in_specs=[_whole(xp.shape), _whole(gp.shape), neurons, vector, vector],
        out_specs=(neurons, vector, vector),
        interpret=_interpret(), name="two_layer_gradient",
    )(xp, gp, wp, vp, bp)
    m, d = w.shape
    return gw[:m, :d], gv[:m], gb[:m]


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def fused_output(x, w, v, b, activation: str, scale: float):
    r"""$\sum_j v_j\phi(\text{scale}\,w_j\cdot x_i + b_j)$ for the rows of ``x``
    (``b`` may be ``None``), by the output kernel; its VJP in ``w``, ``v``,
    ``b`` by the gradient kernel (``x`` gets no cotangent: it is data)."""
    return _output(x, w, v, b, activation, scale)


def _fused_output_fwd(x, w, v, b, activation, scale):
    return _output(x, w, v, b, activation, scale), (x, w, v, b)


def _fused_output_bwd(activation, scale, residuals, g):
    x, w, v, b = residuals
    gw, gv, gb = _gradient(x, g, w, v, b, activation, scale)
    return jnp.zeros_like(x), gw, gv, None if b is None else gb


fused_output.defvjp(_fused_output_fwd, _fused_output_bwd)
