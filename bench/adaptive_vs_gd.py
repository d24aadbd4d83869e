"""Gradient flow to a given endpoint accuracy: adaptive Tsit5 vs small-step
gradient descent.

Mean-field two-layer tanh network (m = 256, n = 128, d = 8, float64), flow
to t = 50. The reference endpoint comes from Tsit5 at rtol = 1e-12. Each
method is made just accurate enough to reach the endpoint within relative
parameter error ``TOL`` (Tsit5: rtol lowered by 10x until it does; gradient
descent: number of steps doubled until it does); then the run that reached it
is timed (best of 2, after compilation). Target: GD time / adaptive time >= 10.

The peer: ``scipy.integrate.solve_ivp`` (RK45, Dormand-Prince 5(4), the
method a user would reach for) on the same flow, its right-hand side the
same vector field compiled by JAX and called on the flattened parameters,
its rtol lowered by 10x until the endpoint is as accurate; timed interleaved
with mfsim's adaptive solve (3 rounds, min and median).
"""

from __future__ import annotations

import statistics
import time

import diffrax
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
        ref = _flat(mfsim.simulate(system, state,
                                   mfsim.SolveSettings.of(diffrax.Tsit5(), t1=T1, rtol=1e-12, atol=1e-14),
                                   n_save=2).final_state)
        scale = np.linalg.norm(ref)

        def error(traj):
            return float(np.linalg.norm(_flat(traj.final_state) - ref) / scale)

        rtol = 1e-3
        while True:
            kw = dict(n_save=2)
            traj = mfsim.simulate(system, state,
                                  mfsim.SolveSettings.of(diffrax.Tsit5(), t1=T1, rtol=rtol,
                                                         atol=rtol * 1e-3), **kw)
            if error(traj) <= TOL:
                break
            rtol /= 10
        t_adaptive, traj = _timed(lambda: mfsim.simulate(system, state,
                                                         mfsim.SolveSettings.of(diffrax.Tsit5(), t1=T1,
                                                                                rtol=rtol,
                                                                                atol=rtol * 1e-3), **kw))
        adaptive = {"rtol": rtol, "steps": traj.stats["num_steps"], "error": error(traj),
                    "s": t_adaptive}

        steps = 500
        while True:
            gd = dict(n_save=2)
            traj = mfsim.simulate(system, state,
                                  mfsim.SolveSettings.of(diffrax.Euler(), t1=T1, dt=T1 / steps,
                                                         max_steps=steps + 10), **gd)
            if error(traj) <= TOL:
                break
            steps *= 2
        t_gd, traj = _timed(lambda: mfsim.simulate(system, state,
                                                   mfsim.SolveSettings.of(diffrax.Euler(), t1=T1,
                                                                          dt=T1 / steps,
                                                                          max_steps=steps + 10), **gd))
        descent = {"steps": steps, "lr": float(system.time_scale()) * T1 / steps,
                   "error": error(traj), "s": t_gd}
        flow = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=T1, rtol=rtol, atol=rtol * 1e-3)
        peer = _solve_ivp_peer(system, state, error,
                               lambda: mfsim.simulate(system, state, flow, **kw))
    return {"adaptive": adaptive, "gd": descent, "speedup": t_gd / t_adaptive, "scipy": peer}


def _solve_ivp_peer(system, state, error, adaptive_fn, rounds: int = 3) -> dict:
    """scipy's RK45 to the same endpoint accuracy, timed against mfsim's solve."""
    import scipy
    from jax.flatten_util import ravel_pytree
    from scipy.integrate import solve_ivp

    y0, unravel = ravel_pytree(state)
    field = jax.jit(lambda y: ravel_pytree(system.vector_field(0.0, unravel(y), None))[0])

    def rhs(t, y):
        return np.asarray(field(jnp.asarray(y)))

    class _Final:  # what error() reads
        def __init__(self, y):
            self.final_state = unravel(jnp.asarray(y))

    rtol = 1e-3
    while True:
        sol = solve_ivp(rhs, (0.0, T1), np.asarray(y0), method="RK45", rtol=rtol,
                        atol=rtol * 1e-3)
        if error(_Final(sol.y[:, -1])) <= TOL or rtol < 1e-13:
            break
        rtol /= 10
    times = {"mfsim": [], "scipy": []}
    for _ in range(rounds):
        start = time.perf_counter()
        adaptive_fn()
        times["mfsim"].append(time.perf_counter() - start)
        start = time.perf_counter()
        sol = solve_ivp(rhs, (0.0, T1), np.asarray(y0), method="RK45", rtol=rtol,
                        atol=rtol * 1e-3)
        times["scipy"].append(time.perf_counter() - start)
    return {"rtol": rtol, "nfev": int(sol.nfev), "error": error(_Final(sol.y[:, -1])),
            "scipy_s": min(times["scipy"]), "scipy_median_s": statistics.median(times["scipy"]),
            "mfsim_s": min(times["mfsim"]), "mfsim_median_s": statistics.median(times["mfsim"]),
            "speedup": min(times["scipy"]) / min(times["mfsim"]), "version": scipy.__version__}


def main():
    print(f"machine: {machine()}")
    r = run()
    a, g = r["adaptive"], r["gd"]
    print(f"endpoint error <= {TOL:g} at t = {T1:g} (m=256, n=128, d=8, tanh, float64):")
    print(f"  Tsit5 rtol {a['rtol']:g}: {a['steps']} steps, error {a['error']:.2e}, {a['s']:.3f} s")
    print(f"  gradient descent: {g['steps']} steps (lr {g['lr']:.4g}), error {g['error']:.2e}, "
          f"{g['s']:.3f} s")
    print(f"  speedup {r['speedup']:.1f}x (target >= {TARGET:g})")
    p = r["scipy"]
    print(f"peer: scipy {p['version']} solve_ivp RK45 rtol {p['rtol']:g}: {p['nfev']} field "
          f"evaluations, error {p['error']:.2e}, {p['scipy_s']:.3f} s (median "
          f"{p['scipy_median_s']:.3f}) vs mfsim Tsit5 {p['mfsim_s']:.3f} s (median "
          f"{p['mfsim_median_s']:.3f}): mfsim {p['speedup']:.1f}x faster")
    return r
