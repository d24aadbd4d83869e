"""Gradient flow to a given endpoint accuracy: adaptive Tsit5 vs small-step
gradient descent.

Mean-field two-layer tanh network (m = 256, n = 128, d = 8, float64), flow
to t = 50. The reference endpoint comes from Tsit5 at rtol = 1e-12. Each
method is made just accurate enough to reach the endpoint within relative
parameter error ``TOL`` (Tsit5: rtol lowered by 10x until it does; gradient
descent: number of steps doubled until it does); then the run that reached it
is timed (best of 2, after compilation). Target: GD time / adaptive time >= 10.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import mfsim

from ._util import machine

T1, TOL = 50.0, 1e-4
TARGET = 10.0


def _flat(state) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(x)) for x in jax.tree.leaves(state.params)])


def _timed(fn, repeat=2):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run() -> dict:
    with jax.enable_x64(True):
        data = mfsim.teacher_task(jax.random.key(0), d=8, n_train=128, n_test=8,
                                  activation="tanh", dtype=jnp.float64)
        system = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=256,
                                       activation="tanh")
        state = system.init(jax.random.key(1))
        ref = _flat(mfsim.simulate(system, state, t1=T1, rtol=1e-12, atol=1e-14,
                                   n_save=2).final_state)
        scale = np.linalg.norm(ref)

        def error(traj):
            return float(np.linalg.norm(_flat(traj.final_state) - ref) / scale)

        rtol = 1e-3
        while True:
            kw = dict(t1=T1, rtol=rtol, atol=rtol * 1e-3, n_save=2)
            traj = mfsim.simulate(system, state, **kw)
            if error(traj) <= TOL:
                break
            rtol /= 10
        t_adaptive, traj = _timed(lambda: mfsim.simulate(system, state, **kw))
        adaptive = {"rtol": rtol, "steps": traj.stats["num_steps"], "error": error(traj),
                    "s": t_adaptive}

        steps = 500
        while True:
            gd = dict(t1=T1, solver="euler", dt=T1 / steps, n_save=2, max_steps=steps + 10)
            traj = mfsim.simulate(system, state, **gd)
            if error(traj) <= TOL:
                break
            steps *= 2
        t_gd, traj = _timed(lambda: mfsim.simulate(system, state, **gd))
        descent = {"steps": steps, "lr": float(system.time_scale()) * T1 / steps,
                   "error": error(traj), "s": t_gd}
    return {"adaptive": adaptive, "gd": descent, "speedup": t_gd / t_adaptive}


def main():
    print(f"machine: {machine()}")
    r = run()
    a, g = r["adaptive"], r["gd"]
    print(f"endpoint error <= {TOL:g} at t = {T1:g} (m=256, n=128, d=8, tanh, float64):")
    print(f"  Tsit5 rtol {a['rtol']:g}: {a['steps']} steps, error {a['error']:.2e}, {a['s']:.3f} s")
    print(f"  gradient descent: {g['steps']} steps (lr {g['lr']:.4g}), error {g['error']:.2e}, "
          f"{g['s']:.3f} s")
    print(f"  speedup {r['speedup']:.1f}x (target >= {TARGET:g})")
    return r
