"""What a user waits for around the solves (issue 36, P2).

1. A 16-seed sweep of tiny gradient descent (the quickstart network at
   m = 16, n = 16, tanh, 2,000 Euler steps; ``sweep_batching``'s tiny-gd)
   through ``mfsim.run`` (the Python API, no output directory): batched
   (``sweep.batch = 16``) vs sequential (``batch = 1``), end to end (plan,
   build, solves, results), warm (after a first call of each), in
   interleaved rounds in this process. Target: batched >= 1.5x sequential.
2. ``mfsim run scenarios/quickstart.toml --timings`` in fresh processes with
   the persistent compilation cache filled by a first run: the whole
   process's wall time (measured outside) against the compile and solve
   time it reports. Target: wall <= compile + solve + 3 s (cached).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mfsim

from ._util import machine

ROOT = Path(__file__).resolve().parents[1]
TINY = {"solver.t1": 20.0, "solver.name": "euler", "solver.dt": 0.01, "system.width": 16,
        "system.activation": "tanh", "task.activation": "tanh", "task.n_train": 16,
        "task.n_test": 64, "save.n": 21}
SEEDS, ROUNDS, CLI_ROUNDS = 16, 5, 3
TARGET_RATIO, TARGET_OVERHEAD = 1.5, 3.0


def _sweep(batch: int) -> float:
    overrides = {k.replace(".", "__"): v for k, v in TINY.items()}
    begin = time.perf_counter()
    mfsim.run(ROOT / "scenarios" / "quickstart.toml", seed=list(range(SEEDS)),
              sweep__batch=batch, **overrides)
    return time.perf_counter() - begin


def sweep_end_to_end() -> dict:
    cold = {b: _sweep(b) for b in (16, 1)}  # each side's first call: its compile
    times = {1: [], 16: []}
    for _ in range(ROUNDS):
        for b in (1, 16):
            times[b].append(_sweep(b))
    return {"cold_s": cold, "sequential_s": min(times[1]), "batched_s": min(times[16]),
            "median_s": {b: statistics.median(t) for b, t in times.items()},
            "ratio": min(times[1]) / min(times[16])}


def _phases(text: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^\s+(\w+)\s+([\d.]+) s", text, re.MULTILINE)}


def quickstart_process() -> dict:
    env = {**os.environ}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(CLI_ROUNDS + 1):  # the first fills the compilation cache
            cmd = [sys.executable, "-c", "import mfsim_entry; mfsim_entry.entry()", "run",
                   str(ROOT / "scenarios" / "quickstart.toml"), "--out", f"{tmp}/q{i}",
                   "--quiet", "--timings"]
            begin = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
            wall = time.perf_counter() - begin
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-2000:])
            phases = _phases(proc.stdout)
            rows.append({"wall_s": wall, **phases,
                         "overhead_s": wall - phases["compile"] - phases["solve"]})
    cached = rows[1:]
    best = min(cached, key=lambda r: r["overhead_s"])
    return {"first": rows[0], "cached": cached, "best": best,
            "median_overhead_s": statistics.median(r["overhead_s"] for r in cached)}


def run() -> dict:
    return {"machine": machine(), "sweep": sweep_end_to_end(), "cli": quickstart_process()}


def main():
    print(f"machine: {machine()}")
    r = run()
    s = r["sweep"]
    print(f"16-seed tiny-GD sweep through mfsim.run (no output directory), end to end; warm: "
          f"min (median) of {ROUNDS} interleaved rounds; cold: the first call of each")
    print(f"  sequential (batch 1)   warm {s['sequential_s']:.3f} s ({s['median_s'][1]:.3f}), "
          f"cold {s['cold_s'][1]:.2f} s")
    print(f"  batched (batch 16)     warm {s['batched_s']:.3f} s ({s['median_s'][16]:.3f}), "
          f"cold {s['cold_s'][16]:.2f} s")
    print(f"  batched / sequential: {s['ratio']:.2f}x (target >= {TARGET_RATIO})")
    c = r["cli"]
    print("`mfsim run scenarios/quickstart.toml --timings`, fresh processes: the first fills "
          f"the compilation cache, then {CLI_ROUNDS} cached; wall measured outside")
    for name, row in [("first", c["first"])] + [(f"cached {i + 1}", x)
                                                for i, x in enumerate(c["cached"])]:
        phases = ", ".join(f"{k} {v:.2f}" for k, v in row.items()
                           if k not in ("wall_s", "overhead_s", "total"))
        print(f"  {name:9s} wall {row['wall_s']:5.2f} s, beyond compile + solve "
              f"{row['overhead_s']:.2f} s ({phases})")
    print(f"beyond compile + solve, cached: best {c['best']['overhead_s']:.2f} s, median "
          f"{c['median_overhead_s']:.2f} s (target <= {TARGET_OVERHEAD} s)")
    return r


if __name__ == "__main__":
    main()
