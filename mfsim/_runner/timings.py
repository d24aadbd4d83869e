"""Where the wall time of one run went: ``mfsim run --timings`` prints it,
``provenance.json`` records it (``timings``).

Phases, in the order a run meets them:

- ``import``: from the process's start (Linux: ``/proc/self/stat``; else
  from this module's import) to the run's start: Python, JAX and mfsim;
- ``plan``: reading and validating the scenario, the sweep's points, the
  memory check (systems built on abstract shapes);
- ``build``: the data, the systems and their initial states, per point;
- ``compile``: JAX tracing, lowering and compiling (or loading from the
  persistent cache) during the solves;
- ``solve``: the solves' wall time less their compile time; the monitors
  are computed inside the compiled solve, so their time is part of it;
- ``store``: writing each point as it finishes, ``results.nc``,
  ``summary.csv`` and ``provenance.json``;
- ``figures``: drawing the figures from the results;
- ``exit`` (printed only, after ``provenance.json`` is written): from the
  end of the run to the command's last line.
"""

from __future__ import annotations

import contextlib
import os
import time

_IMPORTED = time.perf_counter()

PHASES = ("import", "plan", "build", "compile", "solve", "store", "figures", "exit")


def process_age() -> float:
    """Seconds since this process started (``/proc``; elsewhere since this
    module was imported, an underestimate)."""
    try:
        with open("/proc/self/stat") as f:
            # the fields after the command's name; starttime is field 22 (clock ticks)
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


class Timings:
    """Wall-clock seconds per phase (module docstring), accumulated:
    ``with timings.phase("build"): ...`` or ``timings.add("compile", s)``."""

    def __init__(self, imported: float | None = None):
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter() - (imported or 0.0)
        if imported is not None:
            self.seconds["import"] = imported

    @classmethod
    def since_process_start(cls) -> Timings:
        """A clock whose ``import`` phase is the process's age now."""
        return cls(imported=process_age())

    def imports_done(self) -> None:
        """The ``import`` phase ends now: the process's age (nothing else has
        been timed yet)."""
        self.seconds["import"] = process_age()
        self.started = time.perf_counter() - self.seconds["import"]

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + max(float(seconds), 0.0)

    @contextlib.contextmanager
    def phase(self, name: str):
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - begin)

    def solves(self, wall: float, compile_time: float, stored: float = 0.0) -> None:
        """The solves' part of a run: ``wall`` seconds, of which
        ``compile_time`` compiling and ``stored`` writing points."""
        self.add("compile", compile_time)
        self.add("solve", wall - compile_time - stored)
        self.add("store", stored)

    def total(self) -> float:
        """Seconds from the start (the process's, where known) to now."""
        return time.perf_counter() - self.started

    def record(self) -> dict[str, float]:
        """The phases so far and their total, in seconds (for provenance)."""
        out = {name: round(self.seconds[name], 3) for name in PHASES if name in self.seconds}
        out["total"] = round(self.total(), 3)
        return out

    def lines(self) -> list[str]:
        """The breakdown as printed by ``--timings``: each phase, its share,
        the total, and what is neither compiling nor solving."""
        total = self.total()
        rows = [(name, self.seconds[name]) for name in PHASES if name in self.seconds]
        counted = sum(s for _, s in rows)
        if total - counted > 0.005:
            rows.append(("other", total - counted))
        out = [f"  {name:8s} {s:7.2f} s  {100 * s / total:5.1f}%" for name, s in rows]
        work = self.seconds.get("compile", 0.0) + self.seconds.get("solve", 0.0)
        out.append(f"  {'total':8s} {total:7.2f} s  (beyond compile + solve: "
                   f"{total - work:.2f} s)")
        return out
