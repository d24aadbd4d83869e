"""Sweep batching: N seeds solved in one batch (``simulate_batch``, what a
sweep does when it batches) vs N sequential ``simulate`` calls (what it does
otherwise; same shapes, so one compilation through JAX's cache). Three
sides, interleaved, after compilation:

- ``batched``: ``simulate_batch`` as a sweep calls it: a fixed-step batch is
  one solve of the stacked state (``mfsim._solve.core.solve_stacked``), an
  adaptive one a vmapped solve;
- ``vmapped``: ``simulate_batch(..., stack=False)``: diffrax's solve under
  ``vmap`` (a while-loop that masks finished problems);
- ``sequential``: one ``simulate`` per seed.

All give the same trajectories (checked: bitwise for the fixed-step case).
Two problems:

- ``quickstart``: the shipped scenario (mean-field ReLU, m=512, n=256, d=8,
  float32, adaptive Tsit5) up to t = 20; a vmapped adaptive solve runs every
  seed for as many steps as the slowest;
- ``tiny-gd``: the same network at m=16, n=16, tanh, gradient descent
  (``euler``, dt = 0.01, 2000 steps): equal steps for every seed, tiny state.

Then the rule of ``batch = "auto"`` (``mfsim._solve.batching``) re-measured:
16 seeds of tiny-gd at growing widths (state size), batched vs sequential.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import mfsim
from mfsim._scenario.build import build
from mfsim._scenario.sweep import apply_overrides, expand
from mfsim._solve.batching import auto_batch_size, state_bytes

from ._util import best_of, interleaved, machine

CASES = {
    "quickstart": {"solver.t1": 20.0},
    "tiny-gd": {"solver.t1": 20.0, "solver.name": "euler", "solver.dt": 0.01,
                "system.width": 16, "system.activation": "tanh",
                "task.activation": "tanh", "task.n_train": 16, "task.n_test": 64},
}
WIDTHS = (16, 64, 128, 256, 512, 1024)  # the auto rule's scan (tiny-gd, n = 16)


def _problems(case: str, n_seeds: int, **extra):
    base = mfsim.load_scenario("scenarios/quickstart.toml")
    overrides = {**CASES[case], **extra, "seed": list(range(n_seeds))}
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


def _sides(built):
    settings = built[0].settings
    systems, states = [b.system for b in built], [b.state0 for b in built]
    monitors = [b.monitors for b in built]
    return {
        "batched": lambda: mfsim.simulate_batch(systems, states, settings, monitors=monitors),
        "vmapped": lambda: mfsim.simulate_batch(systems, states, settings, monitors=monitors,
                                                stack=False),
        "sequential": lambda: [mfsim.simulate(s, y0, settings, monitors=m)
                               for s, y0, m in zip(systems, states, monitors)],
    }


def run(case: str, n_seeds: int, rounds: int = 3) -> dict:
    built = _problems(case, n_seeds)
    settings = built[0].settings
    sides = _sides(built)
    first = {name: fn() for name, fn in sides.items()}  # compiles
    differ = {name: max(float(np.max(np.abs(a.values["train_loss"] - b.values["train_loss"])
                                     / np.abs(b.values["train_loss"])))
                        for a, b in zip(first[name], first["sequential"]))
              for name in ("batched", "vmapped")}
    if jax.default_backend() == "cpu":  # (a GPU's batched matmuls round differently)
        # a fixed-step batch takes its members' own steps: bitwise equal
        limit = 1e-4 if settings.adaptive else 0.0
        assert max(differ.values()) <= limit, differ
    times = interleaved(sides, rounds)
    steps = [t.stats["num_steps"] for t in first["sequential"]]
    auto = auto_batch_size(built[0].state0, n_seeds, adaptive=settings.adaptive)
    vf_one, vf_many = vector_field_profile(built)
    seq = times["sequential"]["min"]
    return {"case": case, "n_seeds": n_seeds, "times": times,
            "stacked": bool(first["batched"][0].stats["batch_stacked"]),
            "batched_s": times["batched"]["min"], "vmapped_s": times["vmapped"]["min"],
            "sequential_s": seq, "speedup": seq / times["batched"]["min"],
            "vmapped_speedup": seq / times["vmapped"]["min"],
            "steps_min": min(steps), "steps_max": max(steps), "steps_sum": sum(steps),
            "auto_batch": auto, "vf_single_s": vf_one, "vf_vmapped_s": vf_many,
            "max_rel_diff": differ}


def auto_rule(n_seeds: int = 16, rounds: int = 3) -> list[dict]:
    """Fixed-step seeds at growing state size: batched / sequential."""
    rows = []
    for width in WIDTHS:
        built = _problems("tiny-gd", n_seeds, **{"system.width": width, "solver.t1": 5.0})
        sides = _sides(built)
        del sides["vmapped"]
        for fn in sides.values():
            fn()
        times = interleaved(sides, rounds)
        rows.append({"width": width, "state_bytes": state_bytes(built[0].state0),
                     "speedup": times["sequential"]["min"] / times["batched"]["min"],
                     "auto_batch": auto_batch_size(built[0].state0, n_seeds, adaptive=False)})
    return rows


def main():
    print(f"machine: {machine()}")
    results = []
    print(f"{'case':<11} {'seeds':>5} {'steps/seed':>12} {'sequential':>11} {'vmapped':>9} "
          f"{'batched':>9} {'speedup':>8} {'auto batch':>10}")
    for case in CASES:
        for n in (8, 16):
            r = run(case, n)
            results.append(r)
            print(f"{case:<11} {n:>5} {r['steps_min']:>5}..{r['steps_max']:<6} "
                  f"{r['sequential_s']:>10.3f}s {r['vmapped_s']:>8.3f}s {r['batched_s']:>8.3f}s "
                  f"{r['speedup']:>7.2f}x {r['auto_batch']:>10}", flush=True)
    print("(min of 3 interleaved rounds; batched: stacked for fixed-step batches, vmapped "
          "otherwise; speedup: sequential / batched; auto batch: points per batch that a "
          "sweep's batch='auto' picks here)")
    for r in results:
        t = r["times"]
        print(f"  {r['case']} x {r['n_seeds']}: medians sequential "
              f"{t['sequential']['median']:.3f} s, vmapped {t['vmapped']['median']:.3f} s, "
              f"batched {t['batched']['median']:.3f} s ({'stacked' if r['stacked'] else 'vmapped'})")
    print("profile: vector field alone, N single evaluations vs one vmapped over N")
    for r in results:
        print(f"  {r['case']} x {r['n_seeds']}: {r['vf_single_s'] * 1e3:.2f} ms vs "
              f"{r['vf_vmapped_s'] * 1e3:.2f} ms ({r['vf_single_s'] / r['vf_vmapped_s']:.2f}x); "
              f"solver steps: vmapped runs {r['steps_max']} per seed, sequential "
              f"{r['steps_sum'] / r['n_seeds']:.0f} on average")
    print("auto rule: 16 fixed-step seeds (tiny-gd, 500 steps) at growing width, "
          "batched / sequential")
    rule = auto_rule()
    for x in rule:
        print(f"  width {x['width']:>5}: state {x['state_bytes']:>7} B, batched "
              f"{x['speedup']:.2f}x, auto picks {x['auto_batch']}")
    return {"cases": results, "auto_rule": rule}
