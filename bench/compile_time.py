"""Compile time of the quickstart scenario (issue 22, P4).

1. In a fresh process with no compilation cache: trace, lower and backend
   compile of its solve (``Trajectory.stats``). Target: < 10 s.
2. ``mfsim run scenarios/quickstart.toml`` twice, each a fresh process, with
   a new, empty persistent compilation cache (``MFSIM_COMPILE_CACHE``): the
   first compiles and writes the cache, the second loads the solve from it.
   The compile times are the run's own (``provenance.json``: tracing,
   lowering, and compiling or loading). Target for the second: <= 1 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ._util import run_child

TARGET_S = 10.0
CACHED_TARGET_S = 1.0
SCENARIO = "scenarios/quickstart.toml"


def child() -> None:
    import mfsim
    from mfsim._scenario.build import build

    built = build(mfsim.load_scenario(SCENARIO))
    first = mfsim.simulate(built.system, built.state0, built.settings, monitors=built.monitors)
    again = mfsim.simulate(built.system, built.state0, built.settings, monitors=built.monitors)
    print(json.dumps({"compile_s": first.stats["compile_time"],
                      "first_call_s": first.stats["wall_time"],
                      "second_call_s": again.stats["wall_time"],
                      "second_compile_s": again.stats["compile_time"]}))


def _cli_compile_times() -> list[float]:
    exe = Path(sys.executable).with_name("mfsim")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MFSIM_COMPILE_CACHE": str(Path(tmp) / "cache")}
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        for i in range(2):
            run_dir = Path(tmp) / f"run{i}"
            subprocess.run([str(exe), "run", SCENARIO, "--out", str(run_dir), "--quiet"],
                           env=env, check=True, capture_output=True)
            stats = json.loads((run_dir / "provenance.json").read_text())["stats"]
            out.append(stats["compile_time"])
    return out


def run() -> dict:
    r = run_child("compile_time")
    r["cli_first_s"], r["cli_cached_s"] = _cli_compile_times()
    return r


def main():
    r = run()
    print(f"quickstart, no cache: compile {r['compile_s']:.2f} s (target < {TARGET_S:g} s); "
          f"first call {r['first_call_s']:.2f} s, second call {r['second_call_s']:.2f} s "
          f"(compiling {r['second_compile_s']:.2f} s)")
    print(f"mfsim run {SCENARIO}, fresh processes sharing a new compilation cache: "
          f"first {r['cli_first_s']:.2f} s, second {r['cli_cached_s']:.2f} s "
          f"(target <= {CACHED_TARGET_S:g} s)")
    return r
