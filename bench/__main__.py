"""Run the benchmarks: ``python -m bench`` (all) or ``python -m bench NAME ...``."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "ntk_gram": "NTK Gram: structured vs generic Jacobian contraction",
    "ntk_memory": "blocked generic NTK at n=4000 under a memory budget (~4 min)",
    "monitor_overhead": "loss + kernel drift + Sinkhorn W2 at 50 saves vs loss only (quickstart)",
    "sweep_batching": "8 and 16 seeds (quickstart; tiny GD): one vmapped solve vs sequential solves",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}: {BENCHMARKS[name]}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
