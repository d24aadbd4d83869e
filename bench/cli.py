"""The time a user waits for the ``mfsim`` command itself (issue 34, U4 and U1).

Each case is a fresh process of the installed command, timed from its start
to its exit (or, for ``run: first line``, to the first line it prints on
stderr), cold as a user meets it: the interpreter, mfsim's imports and, where
the command needs it, JAX's. The cases run interleaved, one of each per round,
and the table gives the minimum and the median of the rounds.

- ``--help``, ``--version``, an unknown command: answered without importing
  JAX (``import mfsim`` imports its public names on first use);
- ``list``, ``keys solver``: the text derived from the registry, read back
  from mfsim's derived-text cache (``mfsim._store.derived_cache``; the cache is
  filled before the rounds, as a user's first call fills it: that first
  call, which imports JAX, is timed apart as ``list, first call``);
- ``check quickstart --no-memory-check``: loads and validates the scenario
  (JAX: the capability types are Equinox modules);
- ``run: first line``: ``mfsim run`` of the quickstart into a fresh
  directory, on a terminal (a pty), until it shows something (then stopped);
- ``rerun, already complete``: ``mfsim run`` of a finished quickstart, which
  reads the results back (the quick path: no validation, no JAX) and solves
  nothing.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"--help": 0.5, "--version": 0.5, "unknown command": 0.5, "list": 0.5,
           "keys solver": 0.5, "run: first line": 1.0, "rerun, already complete": 2.0}


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("mfsim")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "mfsim_entry"]


def _wall(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(_command() + args, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False,
                   env=dict(os.environ, MFSIM_CACHE=str(cwd / "derived")))
    return time.perf_counter() - start


def _first_line(args: list[str], cwd: Path) -> float:
    """Until the command shows something on a terminal (its stderr a pty, as
    a user's: the bar, and before it the line said while JAX loads)."""
    import os
    import pty

    leader, follower = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(_command() + args, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=follower)
    os.close(follower)
    os.read(leader, 1)
    took = time.perf_counter() - start
    proc.kill()
    proc.wait()
    os.close(leader)
    return took


def main(rounds: int = 5) -> dict:
    quickstart = str(ROOT / "scenarios" / "quickstart.toml")
    with tempfile.TemporaryDirectory(prefix="mfsim-bench-cli-") as tmp:
        tmp = Path(tmp)
        done = tmp / "done"
        subprocess.run(_command() + ["run", quickstart, "--out", str(done), "--quiet"],
                       check=True, cwd=tmp)
        # a user's first `mfsim list` (derives the text, imports JAX), in a cache of its own
        env = dict(os.environ, MFSIM_CACHE=str(tmp / "derived"))
        first = time.perf_counter()
        subprocess.run(_command() + ["list"], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                       check=True)
        first = time.perf_counter() - first
        subprocess.run(_command() + ["keys"], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                       check=True)
        cases = {
            "--help": lambda: _wall(["--help"], tmp),
            "--version": lambda: _wall(["--version"], tmp),
            "unknown command": lambda: _wall(["frobnicate"], tmp),
            "list": lambda: _wall(["list"], tmp),
            "keys solver": lambda: _wall(["keys", "solver"], tmp),
            "check": lambda: _wall(["check", quickstart, "--no-memory-check"], tmp),
            "run: first line": lambda: _first_line(
                ["run", quickstart, "--out", str(tmp / "fresh"), "--force"], tmp),
            "rerun, already complete": lambda: _wall(["run", quickstart, "--out", str(done)],
                                                     tmp),
        }
        times = {name: [] for name in cases}
        for _ in range(rounds):
            for name, case in cases.items():
                times[name].append(case())
            shutil.rmtree(tmp / "fresh", ignore_errors=True)
    result = {name: {"min": min(t), "median": statistics.median(t),
                     "target": TARGETS.get(name)} for name, t in times.items()}
    result["list, first call (derives the cache)"] = {"min": first, "median": first,
                                                      "target": None}
    print(f"{'command':<26} {'min s':>7} {'median s':>9}  target")
    for name, r in result.items():
        target = f"<= {r['target']} s" if r["target"] is not None else ""
        print(f"{name:<26} {r['min']:7.2f} {r['median']:9.2f}  {target}")
    return {"cases": result, "rounds": rounds}


if __name__ == "__main__":
    main()
