"""W2: exact or Sinkhorn, what ``Wasserstein(method="auto")`` should choose
(issue 22, build item 2). One save point of the Wasserstein monitor, exact
(``method="exact"``: scipy on the host, float64) against Sinkhorn
(``method="sinkhorn"``: the defaults, epsilon 1e-2, threshold 1e-3, at most
2000 iterations; float32, a run's default dtype), for

- equal sizes, ``n`` particles against ``n``: a mean-field two-layer ReLU
  network's neurons (v, w) after gradient flow to t = 20 against their start
  (``near start``: what ``W2(mu_t, mu_0)`` sees in a run), and two independent
  standard normal clouds (``independent``: the exact solver's hard case);
- unequal sizes, ``n`` against ``k`` (a teacher's neurons): independent
  clouds, where the exact side is the transport LP.

d = 11 (p = d_in + 1 with d_in = 10). Each side compiled ahead of time, then
``ROUNDS`` calls in turn (one from 8192 particles), min printed. Every case
prints what :func:`mfsim._monitors.wasserstein.auto_method` chooses on this
device and whether that was right at the requested accuracy: the cheaper
side (times within 10% of each other, this machine's run-to-run noise, are a
tie), except where Sinkhorn missed its threshold within its iteration cap (it
then did not deliver the accuracy asked for, and exact is right).
"""

from __future__ import annotations

import time

import numpy as np

from ._util import machine
from .w2 import D_IN, _cloud, near_start

EQUAL = (256, 1024, 2048, 4096, 8192)
UNEQUAL = ((1024, 4), (2048, 4), (4096, 4), (16384, 4), (1024, 16), (4096, 16), (300, 200))
ROUNDS = 2
LARGE = 8192  # from this many particles (squared: pairs), one round (minutes a call)
TIE = 1.1  # times within 10% count as a tie


def _side(x, y, method: str, dtype):
    """One save point of the monitor, compiled ahead of time: a callable."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    import mfsim

    cloud = _cloud()
    target = jnp.asarray(y, dtype)
    mon = mfsim.Wasserstein(method=method, target=target)
    xj = jnp.asarray(x, dtype)
    ctx = mfsim.MonitorContext(cloud, xj, jax.jit(lambda z: mon.prepare(cloud, z))(xj))
    # the monitor an argument, not a constant (XLA would fold its target's products)
    call = eqx.filter_jit(lambda z, c, m: m(0.0, z, c)).lower(xj, ctx, mon).compile()
    return lambda: jax.block_until_ready(call(xj, ctx, mon))


def _case(x, y, rounds: int) -> dict:
    import jax
    import jax.numpy as jnp

    from mfsim._monitors.w2_methods import auto_method

    sides = {"exact": _side(x, y, "exact", jnp.float64),
             "sinkhorn": _side(x, y, "sinkhorn", jnp.float32)}
    times = {k: [] for k in sides}
    values = {}
    for _ in range(rounds):
        for k, fn in sides.items():
            t = time.perf_counter()
            values[k] = fn()
            times[k].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    choice = auto_method(len(x), len(y), jax.default_backend()).name
    converged = bool(values["sinkhorn"]["sinkhorn_converged_init"])
    # at the requested accuracy: a Sinkhorn solve that missed its threshold
    # did not deliver it, so exact is then right whatever its time; otherwise
    # the cheaper side is, within TIE (timing noise between runs here)
    other = "sinkhorn" if choice == "exact" else "exact"
    right = (choice == "exact" and not converged) or best[choice] <= TIE * best[other]
    return {"exact_s": best["exact"], "sinkhorn_s": best["sinkhorn"], "auto": choice,
            "auto_is_cheaper": right, "rounds": rounds,
            "w2_exact": float(values["exact"]["w2_init"]),
            "w2_sinkhorn": float(values["sinkhorn"]["w2_init"]),
            "sinkhorn_converged": converged}


def run(equal=EQUAL, unequal=UNEQUAL, rounds: int = ROUNDS) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)  # the exact side in float64
    rng = np.random.default_rng(0)
    rows = []
    for n in equal:
        for case in ("near start", "independent"):
            x, y = near_start(n) if case == "near start" else (
                rng.normal(size=(n, D_IN + 1)), rng.normal(size=(n, D_IN + 1)))
            rows.append({"n": n, "k": n, "case": case,
                         **_case(x, y, 1 if n >= LARGE else rounds)})
            print(_row(rows[-1]), flush=True)
    for n, k in unequal:
        x, y = rng.normal(size=(n, D_IN + 1)), rng.normal(size=(k, D_IN + 1))
        rows.append({"n": n, "k": k, "case": "independent",
                     **_case(x, y, 1 if n * k >= LARGE**2 else rounds)})
        print(_row(rows[-1]), flush=True)
    return {"rows": rows, "platform": jax.default_backend(),
            "auto_always_cheaper": all(r["auto_is_cheaper"] for r in rows)}


def _row(row: dict) -> str:
    return (f"  {row['n']:>5d} x {row['k']:<5d} {row['case']:11s}  {row['exact_s']:7.3f}s  "
            f"{row['sinkhorn_s']:7.3f}s  {row['sinkhorn_s'] / row['exact_s']:13.1f}x  "
            f"{row['auto']:8s}{'' if row['auto_is_cheaper'] else ' (wrong)'}  "
            f"{row['w2_exact']:.4g} / {row['w2_sinkhorn']:.4g} "
            f"({'yes' if row['sinkhorn_converged'] else 'no'})")


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"W2 monitor, one save point: exact (host, float64) vs Sinkhorn (epsilon 1e-2, "
          f"float32), d = {D_IN + 1}, min of {ROUNDS} (1 from {LARGE}); auto's choice on "
          f"{r['platform']}, '(wrong)' where it was not the cheaper side (within 10%) at the "
          "requested accuracy")
    print(f"  {'n x k':>12s}  {'case':11s}  {'exact':>8s}  {'Sinkhorn':>8s}  "
          f"{'Sinkhorn/exact':>14s}  auto      W2 exact / Sinkhorn (converged)")
    for row in r["rows"]:
        print(_row(row))
    print(f"auto right in every case: {r['auto_always_cheaper']}")
    return r


if __name__ == "__main__":
    main()
