"""Sweep batching: N seeds solved as one vmapped solve (``simulate_batch``,
what a sweep does when it batches) vs N sequential ``simulate`` calls (what it
does otherwise; same shapes, so one compilation through JAX's cache), after
compilation, best of ``repeat`` interleaved calls. Both give the same
trajectories (checked). Two problems, the two sides of the CPU rule in
``mfsim._batching``:

- ``quickstart``: the shipped scenario (mean-field ReLU, m=512, n=256, d=8,
  float32, adaptive Tsit5) up to t = 20; a vmapped adaptive solve runs every
  seed for as many steps as the slowest;
- ``tiny-gd``: the same network at m=16, n=16, tanh, gradient descent
  (``euler``, dt = 0.01, 2000 steps): equal steps for every seed, tiny state.
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import mfsim
from mfsim._scenario.build import build
from mfsim._scenario.sweep import apply_overrides, expand
from mfsim._solve.batching import auto_batch_size

from ._util import best_of, machine

CASES = {
    "quickstart": {"solver.t1": 20.0},
    "tiny-gd": {"solver.t1": 20.0, "solver.name": "euler", "solver.dt": 0.01,
                "system.width": 16, "system.activation": "tanh",
                "task.activation": "tanh", "task.n_train": 16, "task.n_test": 64},
}


def _problems(case: str, n_seeds: int):
    base = mfsim.load_scenario("scenarios/quickstart.toml")
    overrides = {**CASES[case], "seed": list(range(n_seeds))}
    return [build(p.scenario) for p in expand(apply_overrides(base, overrides))]


def vector_field_profile(built) -> tuple[float, float]:
    """Seconds for N single vector-field evaluations and for one vmapped over N."""
    systems, states = [b.system for b in built], [b.state0 for b in built]
    dynamic = [eqx.partition(s, eqx.is_array)[0] for s in systems]
    static = eqx.partition(systems[0], eqx.is_array)[1]

    def vf(d, y):
        return eqx.combine(d, static).vector_field(0.0, y, None)

    one, many = jax.jit(vf), jax.jit(jax.vmap(vf))
    stacked = jax.tree.map(lambda *x: jnp.stack(x), *dynamic)
    ys = jax.tree.map(lambda *x: jnp.stack(x), *states)
    t_one = best_of(lambda: [one(d, y) for d, y in zip(dynamic, states)], 20)
    t_many = best_of(lambda: many(stacked, ys), 20)
    return t_one, t_many


def run(case: str, n_seeds: int, repeat: int = 2) -> dict:
    built = _problems(case, n_seeds)
    settings = built[0].settings
    systems, states = [b.system for b in built], [b.state0 for b in built]
    monitors = [b.monitors for b in built]

    def batched():
        return mfsim.simulate_batch(systems, states, settings, monitors=monitors)

    def sequential():
        return [mfsim.simulate(s, y0, settings, monitors=m)
                for s, y0, m in zip(systems, states, monitors)]

    start = time.perf_counter()
    first_batch = batched()  # compiles
    compile_batch = time.perf_counter() - start
    start = time.perf_counter()
    first_seq = sequential()  # compiles once (same shapes), then reuses
    compile_seq = time.perf_counter() - start
    for a, b in zip(first_batch, first_seq):
        np.testing.assert_allclose(a.values["train_loss"], b.values["train_loss"], rtol=1e-4)
    t_batch, t_seq = float("inf"), float("inf")
    for _ in range(repeat):  # interleaved, best of `repeat`
        start = time.perf_counter()
        batched()
        t_batch = min(t_batch, time.perf_counter() - start)
        start = time.perf_counter()
        sequential()
        t_seq = min(t_seq, time.perf_counter() - start)
    steps = [t.stats["num_steps"] for t in first_seq]
    auto = auto_batch_size(states[0], n_seeds, adaptive=settings.adaptive)
    vf_one, vf_many = vector_field_profile(built)
    return {"case": case, "n_seeds": n_seeds, "batched_s": t_batch, "sequential_s": t_seq,
            "speedup": t_seq / t_batch, "first_call_batched_s": compile_batch,
            "first_call_sequential_s": compile_seq, "steps_min": min(steps),
            "steps_max": max(steps), "steps_sum": sum(steps), "auto_batch": auto,
            "vf_single_s": vf_one, "vf_vmapped_s": vf_many}


def main():
    print(f"machine: {machine()}")
    results = []
    print(f"{'case':<11} {'seeds':>5} {'steps/seed':>12} {'sequential':>11} {'vmapped':>9} "
          f"{'speedup':>8} {'auto batch':>10}")
    for case in CASES:
        for n in (8, 16):
            r = run(case, n)
            results.append(r)
            print(f"{case:<11} {n:>5} {r['steps_min']:>5}..{r['steps_max']:<6} "
                  f"{r['sequential_s']:>10.2f}s {r['batched_s']:>8.2f}s "
                  f"{r['speedup']:>7.2f}x {r['auto_batch']:>10}", flush=True)
    print("(auto batch: points per vmapped solve that a sweep's batch='auto' picks here; "
          "first calls include compilation)")
    for r in results:
        print(f"  {r['case']} x {r['n_seeds']}: first call batched "
              f"{r['first_call_batched_s']:.1f} s, sequential {r['first_call_sequential_s']:.1f} s")
    print("profile: vector field alone, N single evaluations vs one vmapped over N")
    for r in results:
        print(f"  {r['case']} x {r['n_seeds']}: {r['vf_single_s'] * 1e3:.2f} ms vs "
              f"{r['vf_vmapped_s'] * 1e3:.2f} ms ({r['vf_single_s'] / r['vf_vmapped_s']:.2f}x); "
              f"solver steps: vmapped runs {r['steps_max']} per seed, sequential "
              f"{r['steps_sum'] / r['n_seeds']:.0f} on average")
    return results
