"""Achieved FLOP/s of the two-layer vector field vs a dense matmul, and a
profile of what bounds it (issue 22, P5).

The mean-field two-layer tanh network's vector field (``jax.grad`` of the
objective, what every solver step evaluates) at m = 8192, n = 4096, d = 32
(m n d = 1.07e9), float32, against a square dense matmul (4096^3): the
machine's practical peak. FLOPs of the vector field are counted from its
matmuls, 4 m n d (forward x w^T, backward delta^T x) plus 4 m n (output and
its gradient). Every phase is timed in turn in each round (vector field,
matmul, the parts, again ...), so load on the machine falls on all alike;
min and median of the rounds.

The profile: the same blocked field with relu and with no activation
(identity: only the matmuls and the element-wise products remain), and the
parts on their own, unblocked: the forward matmul ``x w^T`` (n x d by d x m, inner dimension
d = 32), the backward matmul ``delta^T x`` (m x n by n x d), and the
element-wise passes over the n x m pre-activations (tanh; tanh' times the
output weights and residual). Each element-wise pass reads or writes n m
floats (134 MB here), so the profile also gives the memory bandwidth those
passes reach.
Target: vector-field FLOP/s >= 0.6 x matmul FLOP/s, or a profile that shows
with numbers what bounds it (``bench/NOTES.md``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import mfsim

from ._util import interleaved, machine

M, N, D = 8192, 4096, 32
TARGET = 0.6


def run(m=M, n=N, d=D, size=4096, rounds=5) -> dict:
    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    y = jax.random.normal(jax.random.key(1), (n,), jnp.float32)
    system = mfsim.TwoLayerNetwork(x, y, width=m, activation="tanh")
    state = system.init(jax.random.key(2))
    w, v = state.params.w, state.params.v
    a = jax.random.normal(jax.random.key(3), (size, size), jnp.float32)
    b = jax.random.normal(jax.random.key(4), (size, size), jnp.float32)
    r = jax.random.normal(jax.random.key(5), (n,), jnp.float32)

    def compiled(fn, *args):
        c = jax.jit(fn).lower(*args).compile()
        return lambda: c(*args)

    pre = jax.jit(lambda x, w: x @ w.T)(x, w)
    delta = jax.jit(lambda p, v, r: (1 - jnp.tanh(p) ** 2) * v[None, :] * r[:, None])(pre, v, r)
    # the same field (same blocks, same matmuls) with a cheap or no activation
    others = {act: mfsim.TwoLayerNetwork(x, y, width=m, activation=act)
              for act in ("relu", "identity")}
    sides = {
        "vector field": compiled(lambda s: system.vector_field(0.0, s, None), state),
        "dense matmul": compiled(jnp.matmul, a, b),
        "field, relu": compiled(lambda s: others["relu"].vector_field(0.0, s, None), state),
        "field, identity": compiled(lambda s: others["identity"].vector_field(0.0, s, None),
                                    state),
        "forward x w^T": compiled(lambda x, w: x @ w.T, x, w),
        "backward delta^T x": compiled(lambda dl, x: dl.T @ x, delta, x),
        "tanh pass": compiled(jnp.tanh, pre),
    }
    times = interleaved(sides, rounds)
    t = {k: v["min"] for k, v in times.items()}
    flops_vf = 4.0 * m * n * d + 4.0 * m * n
    rate_vf, rate_mm = flops_vf / t["vector field"], 2.0 * size**3 / t["dense matmul"]
    nm_bytes = 4.0 * n * m
    return {"times": times, "vf_s": t["vector field"], "vf_gflops": rate_vf / 1e9,
            "mm_s": t["dense matmul"], "mm_gflops": rate_mm / 1e9, "ratio": rate_vf / rate_mm,
            "counted_flops_vf": flops_vf, "block": system.block,
            "forward_gflops": 2.0 * m * n * d / t["forward x w^T"] / 1e9,
            "backward_gflops": 2.0 * m * n * d / t["backward delta^T x"] / 1e9,
            "tanh_GBps": 2 * nm_bytes / t["tanh pass"] / 1e9,
            "identity_s": t["field, identity"], "relu_s": t["field, relu"],
            "identity_gflops": flops_vf / t["field, identity"] / 1e9,
            "nm_MB": nm_bytes / 1e6}


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"two-layer tanh vector field m={M} n={N} d={D} (particle block {r['block']}), "
          f"float32; min (median) of 5 interleaved rounds:")
    for name, t in r["times"].items():
        print(f"  {name:20s} {t['min'] * 1e3:8.1f} ms ({t['median'] * 1e3:.1f})")
    print(f"vector field {r['vf_gflops']:.1f} GFLOP/s ({r['counted_flops_vf'] / 1e9:.2f} GFLOP "
          f"counted), dense matmul {r['mm_gflops']:.1f} GFLOP/s: ratio {r['ratio']:.2f} "
          f"(target >= {TARGET})")
    print(f"profile: forward matmul {r['forward_gflops']:.1f} GFLOP/s and backward "
          f"{r['backward_gflops']:.1f} GFLOP/s (inner or outer dimension d={D}: each reads or "
          f"writes the {r['nm_MB']:.0f} MB n x m array for 2d = {2 * D} FLOPs per element); "
          f"a tanh pass over it moves {r['tanh_GBps']:.1f} GB/s.")
    print(f"  the same blocked field with no activation (identity): {r['identity_s'] * 1e3:.1f} "
          f"ms ({r['identity_gflops']:.1f} GFLOP/s, "
          f"{r['identity_gflops'] / r['mm_gflops']:.2f} of the matmul); with relu "
          f"{r['relu_s'] * 1e3:.1f} ms; so tanh and its derivative take "
          f"{(r['vf_s'] - r['identity_s']) * 1e3:.1f} ms of the {r['vf_s'] * 1e3:.1f} ms")
    return r
