"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import platform
import resource
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


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def machine() -> str:
    dev = jax.devices()[0]
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"jax {jax.__version__} on {dev.platform} ({dev.device_kind})")
