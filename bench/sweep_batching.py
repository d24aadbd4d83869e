"""Sweep batching: N seeds of the quickstart scenario (m=512, n=256, d=8,
float32, Tsit5) solved as one vmapped solve (``simulate_batch``, what a
sweep over seeds does) vs N sequential ``simulate`` calls, after
compilation. Both produce the same trajectories; the vmapped solve runs
every seed for as many steps as the slowest one.
"""

from __future__ import annotations

import time

import numpy as np

import mfsim
from mfsim._scenario.build import build
from mfsim._scenario.sweep import apply_overrides, expand

from ._util import machine


def _problems(n_seeds: int):
    base = mfsim.load_scenario("scenarios/quickstart.toml")
    points = expand(apply_overrides(base, {"seed": list(range(n_seeds))}))
    return [build(p.scenario) for p in points]


def run(n_seeds: int = 8, repeat: int = 3) -> dict:
    built = _problems(n_seeds)
    kwargs = built[0].simulate_kwargs
    systems, states = [b.system for b in built], [b.state0 for b in built]
    monitors = [b.monitors for b in built]

    def batched():
        return mfsim.simulate_batch(systems, states, monitors=monitors, **kwargs)

    def sequential():
        return [mfsim.simulate(s, y0, monitors=m, **kwargs)
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
    return {"n_seeds": n_seeds, "batched_s": t_batch, "sequential_s": t_seq,
            "speedup": t_seq / t_batch, "first_call_batched_s": compile_batch,
            "first_call_sequential_s": compile_seq, "steps_min": min(steps),
            "steps_max": max(steps)}


def main():
    print(f"machine: {machine()}")
    results = []
    for n in (8, 16):
        r = run(n)
        results.append(r)
        print(f"quickstart x {n} seeds (solver steps per seed {r['steps_min']}..{r['steps_max']})")
        print(f"  {n} sequential simulate calls  {r['sequential_s']:8.2f} s")
        print(f"  one vmapped simulate_batch    {r['batched_s']:8.2f} s")
        print(f"  speedup {r['speedup']:.2f}x (first calls, with compilation: batched "
              f"{r['first_call_batched_s']:.1f} s, sequential {r['first_call_sequential_s']:.1f} s)")
    return results
