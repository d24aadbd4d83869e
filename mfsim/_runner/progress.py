"""What a run tells while it works.

On a terminal (``"bar"``): a sweep's bar of points; for a single run, a
status line redrawn in place (phase, solves, elapsed time), or a bar in solver
time where checkpoints cut the solve into segments. Nothing reports from
inside a compiled solve: a solve with host callbacks cannot be written to
JAX's persistent compilation cache, and the next process would compile it
again. Without one (``"lines"``: a log file, a batch job): one line to
stderr when the run starts and at each phase (references, solves, figures),
and a status line at least every ``interval`` seconds from a daemon thread,
even while the main thread waits inside a compiled solve (points and solves
done, the solver time a single run has reached, the time elapsed).
``"none"``: silent.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Literal

from .._errors import clean

Mode = Literal["bar", "lines", "none"]
INTERVAL = 30.0  # seconds between status lines at most (``"lines"``)


def elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else (
        f"{minutes // 60} h {minutes % 60:02d} min")


class Reporter:
    """The progress of one run: ``points`` points made of ``solves`` solves
    (networks, twins and reference runs), of which ``points_done`` and
    ``solves_done`` were read back from an interrupted run."""

    def __init__(self, label: str, mode: Mode, *, points: int, solves: int,
                 points_done: int = 0, solves_done: int = 0, sweep: bool,
                 interval: float | None = None, stream=None, spin: bool = True):
        self.label, self.mode, self.sweep = clean(label), mode, sweep
        self.points, self.solves = points, solves
        self.points_done, self.solves_done = points_done, solves_done
        self.interval = INTERVAL if interval is None else interval
        self.stream = stream or sys.stderr
        self.phase = "building"
        self.t: tuple[float, float] | None = None
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._bar = None
        self._thread = None
        self.spin = spin  # "bar", single run: redraw the status line in place

    # -- reports from the run
    def begin(self) -> None:
        if self.mode == "lines":
            read = (f"; {self.solves_done} read back from an interrupted run"
                    if self.solves_done else "")
            what = f"{self.points} points, " if self.sweep else ""
            plural = "s" * (self.solves != 1)
            self._line(f"started: {what}{self.solves} solve{plural}{read}")
            self._thread = threading.Thread(target=self._beat, name="mfsim-progress",
                                            daemon=True)
            self._thread.start()
        elif self.mode == "bar" and self.sweep:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.points, initial=self.points_done, unit="point",
                             desc="sweep")
        elif self.mode == "bar" and self.spin:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=None, bar_format="{desc} [{elapsed}]", desc=self.status())
            self._thread = threading.Thread(target=self._redraw, name="mfsim-progress",
                                            daemon=True)
            self._thread.start()

    def set_phase(self, phase: str) -> None:
        with self._lock:
            self.phase = phase
        if self.mode == "lines":
            self._line(phase)

    def solve_done(self) -> None:
        with self._lock:
            self.solves_done += 1
            self.t = None

    def point_done(self) -> None:
        with self._lock:
            self.points_done += 1
        if self._bar is not None:
            self._bar.update(1)

    def reached(self, t: float, t1: float) -> None:
        """A single run's solve has reached solver time ``t`` of ``t1``."""
        with self._lock:
            self.t = (t, t1)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._bar is not None:
            if not self.sweep:
                self._bar.set_description_str(self.status())
            self._bar.close()
            self._bar = None

    # -- output
    def status(self) -> str:
        with self._lock:
            parts = [self.phase]
            if self.sweep:
                parts.append(f"{self.points_done}/{self.points} points")
            parts.append(f"{self.solves_done}/{self.solves} solves")
            if self.t is not None:
                t, t1 = self.t
                parts.append(f"t = {t:.4g} of {t1:.4g} ({100 * t / t1:.0f}%)" if t1 else "")
        return ", ".join(p for p in parts if p)

    def _line(self, text: str) -> None:
        now = elapsed(time.perf_counter() - self.start)
        print(f"mfsim: {self.label}: [{now}] {text}", file=self.stream, flush=True)

    def _redraw(self) -> None:
        while not self._stop.wait(0.5):
            self._bar.set_description_str(self.status())

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._line(self.status())
