"""Scaling of the two-layer vector field (issue 22, item 5): time per
evaluation and memory against the width m (10^3 ... 10^6) and the number of
training inputs n, with exponents fitted on a log-log scale.

Mean-field two-layer ReLU network, d = 10, float32, the width-dependent
particle blocking as a run chooses it (``auto_block``). Time: min of 5 calls of
the compiled vector field (after compilation). Memory: XLA's own account of
the compiled evaluation (arguments + outputs + temporaries,
``memory_analysis``): what one evaluation needs on the device, without the
solver's stages. Exponents: least squares of log time (log memory) on log m at
each n over the widths >= 10^5 (all blocked: below, the unblocked and blocked
regimes would mix in one fit), and on log n at m = 10^5.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import mfsim

from ._util import best_of, machine

WIDTHS = (1_000, 10_000, 100_000, 300_000, 1_000_000)
INPUTS = (256, 1024, 4096)
D = 10


def measure(m: int, n: int) -> dict:
    x = jax.random.normal(jax.random.key(0), (n, D), jnp.float32)
    y = jax.random.normal(jax.random.key(1), (n,), jnp.float32)
    net = mfsim.TwoLayerNetwork(x, y, width=m, activation="relu")
    state = net.init(jax.random.key(2))
    compiled = jax.jit(lambda s: net.vector_field(0.0, s, None)).lower(state).compile()
    mem = compiled.memory_analysis()
    total = (mem.argument_size_in_bytes + mem.output_size_in_bytes
             + mem.temp_size_in_bytes) if mem is not None else float("nan")
    seconds = best_of(lambda: compiled(state), 5)
    return {"m": m, "n": n, "block": net.block, "seconds": seconds, "bytes": total,
            "temp_bytes": mem.temp_size_in_bytes if mem is not None else float("nan")}


def _slope(xs, ys) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def run() -> dict:
    rows = [measure(m, n) for n in INPUTS for m in WIDTHS if m * n <= 10**6 * 1024]
    fits = {}
    for n in INPUTS:
        pts = [(r["m"], r["seconds"], r["bytes"]) for r in rows if r["n"] == n
               and r["m"] >= 100_000]
        if len(pts) >= 2:
            ms, ts, bs = zip(*pts)
            fits[f"m (n={n})"] = (_slope(ms, ts), _slope(ms, bs))
    pts = [(r["n"], r["seconds"], r["bytes"]) for r in rows if r["m"] == 100_000]
    ns, ts, bs = zip(*pts)
    fits["n (m=100000)"] = (_slope(ns, ts), _slope(ns, bs))
    return {"rows": rows, "fits": fits}


def table(r) -> list[str]:
    out = ["| m | n | block | time per evaluation | per m n | memory (XLA) | temporaries |",
           "|---|---|---|---|---|---|---|"]
    for x in r["rows"]:
        out.append(f"| {x['m']:,} | {x['n']:,} | {x['block']} | {x['seconds'] * 1e3:.2f} ms | "
                   f"{x['seconds'] / (x['m'] * x['n']) * 1e9:.2f} ns | "
                   f"{x['bytes'] / 2**20:.1f} MiB | {x['temp_bytes'] / 2**20:.1f} MiB |")
    out += ["", "| against | time exponent | memory exponent |", "|---|---|---|"]
    out += [f"| {k} | {t:.2f} | {b:.2f} |" for k, (t, b) in r["fits"].items()]
    return out


def main():
    print(f"machine: {machine()}")
    print(f"two-layer ReLU vector field, d = {D}, float32")
    r = run()
    print("\n".join(table(r)))
    return r
