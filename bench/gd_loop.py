"""Gradient descent through mfsim vs the loop a researcher would write.

Mean-field two-layer tanh network (m = 8192, n = 512, d = 32, float32),
1000 full-batch gradient-descent steps: ``mfsim.simulate`` with the ``euler``
solver (the train loss recorded at 11 save points) vs a hand-written
``jax.lax.scan`` loop of the same update, recording the loss at the same 11
iterates; and, where PyTorch is installed (``pip install -e '.[bench]'``), the
same loop in PyTorch, eager and under ``torch.compile``. PyTorch gets as many
intra-op threads as XLA uses (the machine's cores). Every side is compiled
(where it compiles) before timing; PyTorch runs in processes of its own
(:mod:`bench._peer`), alternated with mfsim's calls here over ``rounds``
rounds; min and median. Targets (issue 22, P5): mfsim / scan <= 1.0 (measurement noise:
1.05), PyTorch eager / mfsim >= 2.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

import mfsim

from ._peer import PeerProcess
from ._util import interleaved, machine, min_median

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


def torch_peer(arrays: dict, *, m, lr, steps, n_save, kind):
    """The same GD loop in PyTorch, ``kind`` ``"eager"`` or ``"compile"``
    (``torch.compile``, inductor: C++ on CPU), returning the 11 losses; run in
    a peer process (:mod:`bench._peer`), where a failure to compile is
    reported, not fatal."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)  # as many as XLA's (every core)
    xt, yt = torch.from_numpy(np.array(arrays["x"])), torch.from_numpy(np.array(arrays["y"]))
    v0, w0 = torch.from_numpy(np.array(arrays["v"])), torch.from_numpy(np.array(arrays["w"]))

    def loss(v, w):
        f = torch.tanh(xt @ w.T) @ v / m
        return 0.5 * torch.mean((f - yt) ** 2)

    def step(v, w):
        v, w = v.detach().requires_grad_(), w.detach().requires_grad_()
        gv, gw = torch.autograd.grad(loss(v, w), (v, w))
        return v.detach() - lr * gv, w.detach() - lr * gw

    if kind == "compile":
        step = torch.compile(step)
        step(v0, w0)  # compiles

    def loop():
        v, w = v0.clone(), w0.clone()
        losses = [float(loss(v, w))]
        for _ in range(n_save - 1):
            for _ in range(steps // (n_save - 1)):
                v, w = step(v, w)
            with torch.no_grad():
                losses.append(float(loss(v, w)))
        return losses

    return loop


def run(rounds: int = 3, m=M, n=N, d=D, steps=STEPS) -> dict:
    system, state = problem(m, n, d)
    n_save = 11
    t1 = steps * DT
    save = np.linspace(0.0, t1, n_save)
    kw = dict(save_times=save, monitors=[mfsim.TrainLoss()])
    lr = float(system.time_scale()) * DT  # euler on the flow = GD with lr tau * dt
    loop = hand_written(system.x_train, system.y_train, m, lr, steps, n_save)
    v, w = state.params.v, state.params.w

    first = mfsim.simulate(system, state,
                           mfsim.SolveSettings.of(diffrax.Euler(), t1=t1, dt=DT, max_steps=steps + 10),
                           **kw)  # compiles
    compile_s = first.stats["compile_time"]
    (_, _), losses = jax.block_until_ready(loop(v, w))
    np.testing.assert_allclose(np.asarray(first.values["train_loss"]), np.asarray(losses),
                               rtol=2e-3)
    assert first.stats["num_steps"] == steps, first.stats
    sides = {"mfsim": lambda: mfsim.simulate(system, state,
                                             mfsim.SolveSettings.of(diffrax.Euler(), t1=t1, dt=DT,
                                                                    max_steps=steps + 10), **kw),
             "scan": lambda: jax.block_until_ready(loop(v, w))}
    skipped = {}
    arrays = {"x": system.x_train, "y": system.y_train, "v": v, "w": w}
    peers = {f"torch {kind}": PeerProcess("bench.gd_loop:torch_peer", arrays, m=m, lr=lr,
                                          steps=steps, n_save=n_save, kind=kind)
             for kind in ("eager", "compile")}
    try:
        for name, peer in peers.items():
            if peer.error:
                skipped[name] = peer.error
                continue
            np.testing.assert_allclose(peer.result, np.asarray(losses), rtol=2e-3)
            sides[name] = peer
        timed = interleaved(sides, rounds)
    finally:
        for peer in peers.values():
            peer.close()
    best = {k: t["min"] for k, t in timed.items()}
    versions = {}
    for pkg in ("torch",):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return {"mfsim_s": best["mfsim"], "scan_s": best["scan"],
            "ratio": best["mfsim"] / best["scan"], "times": timed,
            "torch_eager_over_mfsim": best.get("torch eager", float("nan")) / best["mfsim"],
            "torch_compile_over_mfsim": best.get("torch compile", float("nan")) / best["mfsim"],
            "skipped": skipped, "versions": versions, "rounds": rounds,
            "threads": os.cpu_count(),
            "compile_s": compile_s, "loss_first": float(losses[0]),
            "loss_last": float(losses[-1])}


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"m={M} n={N} d={D} tanh, {STEPS} GD steps, float32, loss {r['loss_first']:.4f} -> "
          f"{r['loss_last']:.4f}; min (median) of {r['rounds']} alternated rounds, "
          f"{r['threads']} threads each (PyTorch in processes of its own); "
          f"{', '.join(f'{k} {v}' for k, v in r['versions'].items()) or 'no peers'}")
    for name, t in r["times"].items():
        print(f"  {name:14s} {min_median(t)}")
    for name, why in r["skipped"].items():
        print(f"  {name:14s} skipped: {why}")
    print(f"mfsim / lax.scan {r['ratio']:.3f} (target <= {TARGET}); PyTorch eager / mfsim "
          f"{r['torch_eager_over_mfsim']:.2f} (target >= 2); torch.compile / mfsim "
          f"{r['torch_compile_over_mfsim']:.2f}")
    return r
