"""Mean-field Langevin through mfsim vs the Euler-Maruyama loop a researcher
would write.

Mean-field two-layer ReLU network (m = 4,000 neurons in d = 5, n = 256
teacher points, float32), 2,000 Euler-Maruyama steps of
``dtheta = -tau grad J dt + sqrt(2 tau T / m) dW`` (temperature 0.01,
weight decay 0.01): ``mfsim.simulate`` with ``noise=mfsim.Langevin(...)``
(the train loss at 11 save points) vs the same run without noise vs a
hand-written ``jax.lax.scan`` loop drawing ``jax.random.normal`` per step.
Each side is timed cold (its first call: trace, compile and run) and warm,
in interleaved rounds. Targets (issue 36, P1): noisy / scan <= 1.5 and
noisy / noiseless <= 1.5, warm.
"""

from __future__ import annotations

import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

import mfsim

from ._util import interleaved, machine, min_median

M, N, D, STEPS, DT, T, DECAY = 4000, 256, 5, 2000, 0.01, 0.01, 0.01
TARGET = 1.5


def problem(m=M, n=N, d=D):
    data = mfsim.teacher_task(jax.random.key(0), d=d, n_train=n, n_test=8, teacher_width=4,
                              dtype=jnp.float32)
    system = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=m)
    return system, system.init(jax.random.key(1))


def hand_written(x, y, m, steps, n_save, dt, temperature, decay):
    """Plain JAX: params (v, w), f = relu(x w^T) v / m, L = mean((f - y)^2) / 2,
    theta += dt (-m grad L - decay theta) + sqrt(2 T dt) xi per step."""

    def loss(p):
        f = jax.nn.relu(x @ p[1].T) @ p[0] / m
        return 0.5 * jnp.mean((f - y) ** 2)

    def step(carry, k):
        p, key = carry
        g = jax.grad(loss)(p)
        kv, kw = jax.random.split(jax.random.fold_in(key, k))
        noise = jnp.sqrt(2 * temperature * dt)
        v = p[0] - dt * (m * g[0] + decay * p[0]) + noise * jax.random.normal(kv, p[0].shape)
        w = p[1] - dt * (m * g[1] + decay * p[1]) + noise * jax.random.normal(kw, p[1].shape)
        return ((v, w), key), None

    def chunk(carry, c):
        per = steps // (n_save - 1)
        carry, _ = jax.lax.scan(step, carry, c * per + jnp.arange(per))
        return carry, loss(carry[0])

    @jax.jit
    def run(v, w, key):
        carry, losses = jax.lax.scan(chunk, ((v, w), key), jnp.arange(n_save - 1))
        return carry[0], jnp.concatenate([loss((v, w))[None], losses])

    return run


def run(rounds: int = 3, m=M, n=N, d=D, steps=STEPS) -> dict:
    system, state = problem(m, n, d)
    n_save, t1 = 11, steps * DT
    kw = dict(save_times=np.linspace(0.0, t1, n_save), monitors=[mfsim.TrainLoss()])
    noise = mfsim.Langevin(T, DECAY, particles=m)
    noisy = mfsim.SolveSettings.of(diffrax.Euler(), t1=t1, dt=DT, noise=noise,
                                   max_steps=steps + 10)
    quiet = mfsim.SolveSettings.of(diffrax.Euler(), t1=t1, dt=DT, max_steps=steps + 10)
    start = mfsim.Start(state, jax.random.key(2))
    loop = hand_written(system.x_train, system.y_train, m, steps, n_save, DT, T, DECAY)
    v, w = state.params.v, state.params.w
    sides = {"mfsim Langevin": lambda: mfsim.simulate(system, start, noisy, **kw).final_state,
             "mfsim without noise": lambda: mfsim.simulate(system, state, quiet, **kw).final_state,
             "lax.scan EM loop": lambda: loop(v, w, jax.random.key(2))}
    cold = {}
    for name, fn in sides.items():  # the first call: trace, compile, run
        begin = time.perf_counter()
        jax.block_until_ready(fn())
        cold[name] = time.perf_counter() - begin
    traj = mfsim.simulate(system, start, noisy, **kw)
    _, losses = loop(v, w, jax.random.key(2))
    assert traj.succeeded and traj.stats["num_steps"] == steps, traj.stats
    warm = interleaved(sides, rounds)
    noisy_s = warm["mfsim Langevin"]["min"]
    return {"machine": machine(), "m": m, "n": n, "d": d, "steps": steps, "cold_s": cold,
            "times": warm, "over_scan": noisy_s / warm["lax.scan EM loop"]["min"],
            "over_noiseless": noisy_s / warm["mfsim without noise"]["min"],
            # the same law, not the same draws: the final losses of the two noisy runs
            "final_loss": {"mfsim": float(traj.values["train_loss"][-1]),
                           "scan": float(losses[-1])}, "target": TARGET}


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"m={r['m']} d={r['d']} n={r['n']} relu, {r['steps']} Euler-Maruyama steps, float32, "
          f"T={T}, weight decay {DECAY}; cold = the first call (trace, compile, run), warm = "
          "min (median) of 3 interleaved rounds")
    for name, t in r["times"].items():
        print(f"  {name:20s} cold {r['cold_s'][name]:7.2f} s, warm {min_median(t)}")
    print(f"final train loss: mfsim {r['final_loss']['mfsim']:.4g}, scan "
          f"{r['final_loss']['scan']:.4g} (the same law, other draws)")
    print(f"Langevin / lax.scan {r['over_scan']:.2f}, Langevin / without noise "
          f"{r['over_noiseless']:.2f} (targets <= {TARGET})")
    return r


if __name__ == "__main__":
    main()
