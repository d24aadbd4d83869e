"""Achieved FLOP/s of the two-layer vector field vs a dense matmul.

The mean-field two-layer tanh network's vector field (``jax.grad`` of the
objective, what every solver step evaluates) at m = 8192, n = 4096, d = 32
(m n d = 1.07e9), float32, against a square dense matmul (4096^3) measured in
the same process: the machine's practical peak. FLOPs of the vector field are
counted from its matmuls, 4 m n d (forward x w^T, backward delta^T x) plus
4 m n (output and its gradient). A profile of the parts (the n x d x m
matmul alone, tanh on n x m alone) says what limits the ratio.
Target: vector-field FLOP/s >= 0.5 x matmul FLOP/s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import mfsim

from ._util import best_of, machine

M, N, D = 8192, 4096, 32
TARGET = 0.5


def run(m=M, n=N, d=D, size=4096, repeat=5) -> dict:
    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    y = jax.random.normal(jax.random.key(1), (n,), jnp.float32)
    system = mfsim.TwoLayerNetwork(x, y, width=m, activation="tanh")
    state = system.init(jax.random.key(2))
    vf = jax.jit(lambda s: system.vector_field(0.0, s, None))
    compiled = vf.lower(state).compile()
    t_vf = best_of(lambda: compiled(state), repeat)
    flops_vf = 4.0 * m * n * d + 4.0 * m * n

    a = jax.random.normal(jax.random.key(3), (size, size), jnp.float32)
    b = jax.random.normal(jax.random.key(4), (size, size), jnp.float32)
    mm = jax.jit(jnp.matmul).lower(a, b).compile()
    t_mm = best_of(lambda: mm(a, b), repeat)
    flops_mm = 2.0 * size**3
    rate_vf, rate_mm = flops_vf / t_vf, flops_mm / t_mm
    # profile: the thin matmul and the activation on their own
    w = state.params.w
    thin = jax.jit(lambda x, w: x @ w.T).lower(x, w).compile()
    t_thin = best_of(lambda: thin(x, w), repeat)
    pre = thin(x, w)
    act = jax.jit(jnp.tanh).lower(pre).compile()
    t_act = best_of(lambda: act(pre), repeat)
    return {"vf_s": t_vf, "vf_gflops": rate_vf / 1e9, "mm_s": t_mm,
            "mm_gflops": rate_mm / 1e9, "ratio": rate_vf / rate_mm,
            "counted_flops_vf": flops_vf, "block": system.block, "thin_s": t_thin,
            "thin_gflops": 2.0 * m * n * d / t_thin / 1e9, "tanh_s": t_act}


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"two-layer vector field m={M} n={N} d={D} (particle block {r['block']}): "
          f"{r['vf_s'] * 1e3:.1f} ms, {r['vf_gflops']:.1f} GFLOP/s "
          f"({r['counted_flops_vf'] / 1e9:.2f} GFLOP)")
    print(f"dense 4096^3 matmul: {r['mm_s'] * 1e3:.1f} ms, {r['mm_gflops']:.1f} GFLOP/s")
    print(f"ratio {r['ratio']:.2f} (target >= {TARGET})")
    print(f"profile: x w^T alone {r['thin_s'] * 1e3:.1f} ms ({r['thin_gflops']:.1f} GFLOP/s, "
          f"inner dimension d={D}); tanh on the {N}x{M} pre-activations alone "
          f"{r['tanh_s'] * 1e3:.1f} ms (the vector field evaluates it twice: forward, and "
          "recomputed for the gradient)")
    return r
