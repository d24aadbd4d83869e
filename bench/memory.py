"""Peak memory at a million particles.

Mean-field two-layer tanh network, m = 10^6 neurons, d = 100, n = 1000,
float32, two gradient-descent steps (``euler``) with monitors on a subsample:
train loss (all n inputs), kernel drift on 64 inputs, and Sinkhorn W2 between
the first 1024 neurons now and at the start. Runs in a fresh process so that
its peak resident memory is its own. Must fit this machine (24 GB).
"""

from __future__ import annotations

import json
import time

import diffrax

from ._util import run_child

M, D, N = 10**6, 100, 1000
LIMIT_GB = 24.0


def child() -> None:
    import jax
    import jax.numpy as jnp

    import mfsim

    from ._util import peak_rss_bytes

    start = time.perf_counter()
    rss_start = peak_rss_bytes()
    data = mfsim.teacher_task(jax.random.key(0), d=D, n_train=N, n_test=8,
                              activation="tanh", dtype=jnp.float32)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=M, activation="tanh")
    state = net.init(jax.random.key(1))
    monitors = [mfsim.TrainLoss(), mfsim.KernelMonitor(subsample=64, quantities=("drift",)),
                mfsim.Wasserstein(subsample=1024)]
    traj = mfsim.simulate(net, state, mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=1.0), n_save=3,
                          monitors=monitors)
    print(json.dumps({
        "peak_rss_gb": peak_rss_bytes() / 1e9, "rss_before_gb": rss_start / 1e9,
        "wall_s": time.perf_counter() - start, "solve_s": traj.stats["wall_time"],
        "compile_s": traj.stats["compile_time"], "status": traj.status, "block": net.block,
        "state_gb": sum(x.nbytes for x in jax.tree.leaves(state)) / 1e9,
        "train_loss": [float(v) for v in traj.values["train_loss"]],
        "w2": float(traj.values["w2_init"][-1]),
        "kernel_drift": float(traj.values["kernel_drift"][-1]),
    }))


def run() -> dict:
    return run_child("memory")


def main():
    r = run()
    print(f"m = {M:,} particles, d = {D}, n = {N}, float32 (state {r['state_gb']:.2f} GB, "
          f"particle block {r['block']}), 2 GD steps, status {r['status']}")
    print(f"  peak RSS {r['peak_rss_gb']:.2f} GB (limit {LIMIT_GB:g} GB), whole run "
          f"{r['wall_s']:.1f} s (solve {r['solve_s']:.1f} s, compile {r['compile_s']:.1f} s)")
    print(f"  train loss {r['train_loss'][0]:.4f} -> {r['train_loss'][-1]:.4f}, "
          f"kernel drift {r['kernel_drift']:.3g}, W2 (1024 particles) {r['w2']:.3g}")
    return r
