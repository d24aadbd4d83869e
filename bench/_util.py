"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import jax


def best_of(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls (each blocked until its result is ready)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved(sides: dict, rounds: int = 3) -> dict:
    """Time each side once per round, in turn (A, B, A, B ...), each call
    blocked until its result is ready: ``{name: {"min": s, "median": s}}``.
    Interleaving spreads the machine's load over the sides alike. A side
    that is a :class:`bench._peer.PeerProcess` is timed in its own process."""
    from ._peer import PeerProcess

    times = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            if isinstance(fn, PeerProcess):
                times[name].append(fn.timed())
                continue
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - start)
    return {name: {"min": min(t), "median": statistics.median(t)} for name, t in times.items()}


def min_median(t: dict, digits: int = 2) -> str:
    """``"min s (median)"`` of an :func:`interleaved` entry, for the printed rows."""
    return f"{t['min']:7.{digits}f} s ({t['median']:.{digits}f})"


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB).
    Note: Linux carries the parent's high-water mark into a child across fork
    and exec, so a child started by a large process reports at least the
    parent's size: use :func:`reset_peak_rss` and :func:`rss_high_water`."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_peak_rss() -> int:
    """Reset this process's RSS high-water mark (Linux: ``/proc/self/clear_refs``)
    and return the resident size now."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status_kib("VmRSS")


def rss_high_water() -> int:
    """The RSS high-water mark since :func:`reset_peak_rss` (``VmHWM``)."""
    return _status_kib("VmHWM")


def machine() -> str:
    dev = jax.devices()[0]
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"jax {jax.__version__} on {dev.platform} ({dev.device_kind})")


def run_child(module: str) -> dict:
    """Run ``bench.<module>.child()`` in a fresh Python process (its own peak
    memory, no JAX cache) and return the JSON it prints last."""
    proc = subprocess.run([sys.executable, "-c", f"from bench.{module} import child; child()"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.{module} failed in its child process:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
