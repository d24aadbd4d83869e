"""Compile time of the quickstart scenario, in a fresh process (no JAX cache):
trace, lower and backend-compile of its solve (``Trajectory.stats``), and the
whole first ``simulate`` call. Target: compile < 10 s.
"""

from __future__ import annotations

import json

from ._util import run_child

TARGET_S = 10.0


def child() -> None:
    import mfsim
    from mfsim._scenario.build import build

    built = build(mfsim.load_scenario("scenarios/quickstart.toml"))
    first = mfsim.simulate(built.system, built.state0, built.settings, monitors=built.monitors)
    again = mfsim.simulate(built.system, built.state0, built.settings, monitors=built.monitors)
    print(json.dumps({"compile_s": first.stats["compile_time"],
                      "first_call_s": first.stats["wall_time"],
                      "second_call_s": again.stats["wall_time"],
                      "second_compile_s": again.stats["compile_time"]}))


def run() -> dict:
    return run_child("compile_time")


def main():
    r = run()
    print(f"quickstart: compile {r['compile_s']:.2f} s (target < {TARGET_S:g} s); first call "
          f"{r['first_call_s']:.2f} s, second call {r['second_call_s']:.2f} s "
          f"(compiling {r['second_compile_s']:.2f} s)")
    return r
