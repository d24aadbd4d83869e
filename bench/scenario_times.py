"""Wall time of every shipped scenario as a user meets it: ``mfsim run
scenarios/NAME.toml --quiet`` in a fresh process with an empty JAX
compilation cache (imports, compiles, solves, figures: the whole command).

The run times written in the README and in each scenario's header come from
this measurement; ``tests/test_docs.py`` checks they agree with the table this
writes into ``bench/RESULTS.md`` (between its ``scenario_times`` markers) to
within a factor 2. ``python -m bench.scenario_times [NAME ...]`` (all of
them: about 15 min on 2 cores) rewrites those rows of that table and nothing
else.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- scenario_times -->", "<!-- /scenario_times -->"


def shipped() -> list[str]:
    return sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))


def measure(name: str) -> float:
    mfsim = str(Path(sys.executable).with_name("mfsim"))
    with tempfile.TemporaryDirectory(prefix="mfsim-bench-") as tmp:
        env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(Path(tmp) / "cache"))
        start = time.perf_counter()
        done = subprocess.run([mfsim, "run", str(ROOT / "scenarios" / f"{name}.toml"), "--out",
                               str(Path(tmp) / "out"), "--quiet"], env=env, cwd=tmp)
        # 3: points failed as the scenario shows (catapult: its divergent rates)
        if done.returncode not in (0, 3):
            raise subprocess.CalledProcessError(done.returncode, done.args)
        return time.perf_counter() - start


def human(seconds: float) -> str:
    """How the docs write a run time: ~N s under 100 s, else ~N min."""
    return f"~{seconds:.0f} s" if seconds < 100 else f"~{seconds / 60:.0f} min"


def table(times: dict[str, float], machine: str) -> str:
    lines = [BEGIN, "", "### Shipped scenarios: wall time of `mfsim run scenarios/NAME.toml "
             "--quiet`", "", f"Fresh process, empty compilation cache; {machine}.", "",
             "| scenario | seconds | written in the docs as |", "|---|---|---|"]
    lines += [f"| {name} | {t:.1f} | {human(t)} |" for name, t in times.items()]
    return "\n".join(lines + ["", END])


def read_table(text: str) -> dict[str, float]:
    """The scenario -> seconds table of bench/RESULTS.md."""
    block = text[text.index(BEGIN):text.index(END)]
    return {m[1]: float(m[2]) for m in re.finditer(r"^\| (\w+) \| ([0-9.]+) \|", block, re.M)}


def write(times: dict[str, float], machine: str) -> None:
    """Write the table into bench/RESULTS.md: ``times`` replace the rows of
    the scenarios they measure; the other rows are kept."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text:
        times = {**read_table(text), **times}
    times = {name: times[name] for name in sorted(times) if name in shipped()}
    block = table(times, machine)
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def main(names: list[str] | None = None) -> dict:
    from ._util import machine

    times = {}
    for name in names or shipped():
        times[name] = measure(name)
        print(f"{name}: {times[name]:.1f} s ({human(times[name])})", flush=True)
    write(times, machine())
    return times


if __name__ == "__main__":
    main(sys.argv[1:] or None)
