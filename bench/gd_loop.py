"""Gradient descent through mfsim vs the loop a researcher would write.

Mean-field two-layer tanh network (m = 8192, n = 512, d = 32, float32),
1000 full-batch gradient-descent steps: ``mfsim.simulate`` with the ``euler``
solver (the train loss recorded at 11 save points) vs a hand-written
``jax.lax.scan`` loop of the same update, recording the loss at the same 11
iterates. Both jitted and compiled before timing; best of ``repeat``
interleaved calls. Target: mfsim / scan <= 1.05.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import mfsim

from ._util import machine

M, N, D, STEPS, DT = 8192, 512, 32, 1000, 0.05
TARGET = 1.05


def problem(m=M, n=N, d=D):
    data = mfsim.teacher_task(jax.random.key(0), d=d, n_train=n, n_test=8, teacher_width=4,
                              activation="tanh", dtype=jnp.float32)
    system = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=m, activation="tanh")
    return system, system.init(jax.random.key(1))


def hand_written(x, y, m, lr, steps, n_save):
    """Plain JAX: params (v, w), f = tanh(x w^T) v / m, L = mean((f - y)^2) / 2."""

    def loss(p):
        f = jnp.tanh(x @ p[1].T) @ p[0] / m
        return 0.5 * jnp.mean((f - y) ** 2)

    def step(p, _):
        g = jax.grad(loss)(p)
        return (p[0] - lr * g[0], p[1] - lr * g[1]), None

    def chunk(p, _):
        p, _ = jax.lax.scan(step, p, None, length=steps // (n_save - 1))
        return p, loss(p)

    @jax.jit
    def run(v, w):
        p = (v, w)
        p, losses = jax.lax.scan(chunk, p, None, length=n_save - 1)
        return p, jnp.concatenate([loss((v, w))[None], losses])

    return run


def run(repeat: int = 2, m=M, n=N, d=D, steps=STEPS) -> dict:
    system, state = problem(m, n, d)
    n_save = 11
    t1 = steps * DT
    save = np.linspace(0.0, t1, n_save)
    kw = dict(t1=t1, solver="euler", dt=DT, save_times=save, monitors=[mfsim.TrainLoss()],
              max_steps=steps + 10)
    lr = float(system.time_scale()) * DT  # euler on the flow = GD with lr tau * dt
    loop = hand_written(system.x_train, system.y_train, m, lr, steps, n_save)
    v, w = state.params.v, state.params.w

    first = mfsim.simulate(system, state, **kw)  # compiles
    compile_s = first.stats["compile_time"]
    (_, _), losses = jax.block_until_ready(loop(v, w))
    np.testing.assert_allclose(np.asarray(first.values["train_loss"]), np.asarray(losses),
                               rtol=2e-3)
    assert first.stats["num_steps"] == steps, first.stats
    t_mfsim = t_scan = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        mfsim.simulate(system, state, **kw)
        t_mfsim = min(t_mfsim, time.perf_counter() - start)
        start = time.perf_counter()
        jax.block_until_ready(loop(v, w))
        t_scan = min(t_scan, time.perf_counter() - start)
    return {"mfsim_s": t_mfsim, "scan_s": t_scan, "ratio": t_mfsim / t_scan,
            "compile_s": compile_s, "loss_first": float(losses[0]),
            "loss_last": float(losses[-1])}


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"m={M} n={N} d={D} tanh, {STEPS} GD steps: mfsim euler {r['mfsim_s']:.2f} s, "
          f"hand-written lax.scan {r['scan_s']:.2f} s, ratio {r['ratio']:.3f} "
          f"(target <= {TARGET}); loss {r['loss_first']:.4f} -> {r['loss_last']:.4f}")
    return r
