"""The orthogonal adaptive sequence model's vector field at N = 400: the
Riemannian gradient flow on the orthogonal group (mfsim) against the chart
A = A0 expm(W - W^T) it replaced (written out here: autodiff through
``jax.scipy.linalg.expm``) and against the free model, per evaluation, in
one process (float64, jit-compiled, the mean of 20 calls after a warm-up).
"""

from __future__ import annotations

import time

N = 400
CALLS = 20


def _time(f, *args) -> float:
    import jax

    jax.block_until_ready(f(*args))
    start = time.perf_counter()
    for _ in range(CALLS):
        jax.block_until_ready(f(*args))
    return (time.perf_counter() - start) / CALLS


def run() -> dict:
    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl

    import mfsim

    jax.config.update("jax_enable_x64", True)
    data = mfsim.sequence_model_task(jax.random.key(0), N=N, n=2000.0, p=1.0, q=2.0,
                                     gamma=1.5, dtype=jnp.float64)
    free = mfsim.AdaptiveSequenceModel(data)
    ortho = mfsim.AdaptiveSequenceModel(data, orthogonal=True)
    state = jax.tree.map(lambda a: a + 1e-3, free.init())
    z = data.z

    def chart_field(w, d, beta):  # the old parameterization: state W, A = expm(W - W^T)
        def objective(w, d, beta):
            theta = jsl.expm(w - w.T) @ (d * beta)
            return 0.5 * jnp.sum((z - theta) ** 2)
        return jax.tree.map(lambda g: -g, jax.grad(objective, argnums=(0, 1, 2))(w, d, beta))

    out = {
        "free_ms": 1e3 * _time(jax.jit(lambda s: free.vector_field(0.0, s, None)), state),
        "riemannian_ms": 1e3 * _time(jax.jit(lambda s: ortho.vector_field(0.0, s, None)),
                                     state),
        "expm_chart_ms": 1e3 * _time(jax.jit(chart_field), 1e-3 * state.A, state.d,
                                     state.beta),
    }
    out["speedup"] = out["expm_chart_ms"] / out["riemannian_ms"]
    out["vs_free"] = out["riemannian_ms"] / out["free_ms"]
    return out


def main():
    r = run()
    print(f"N = {N}, per vector-field evaluation: free A {r['free_ms']:.2f} ms; orthogonal A: "
          f"Riemannian flow {r['riemannian_ms']:.2f} ms, expm chart {r['expm_chart_ms']:.2f} ms; "
          f"speedup {r['speedup']:.1f}x, Riemannian / free {r['vs_free']:.1f}x")
    return r


if __name__ == "__main__":
    main()
