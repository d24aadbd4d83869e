"""Sweeps spread over processes (issue 21, D3), each side through the ``mfsim``
command in fresh processes, as a user runs it:

- a 32-point sweep of small problems (two-layer ReLU networks, width 256,
  128 training points, 50,000 gradient-descent steps each; states too large
  for the CPU's vmapped batches) with ``--workers 2`` against one process,
  interleaved (one process, workers, one process, workers), the two
  results.nc compared bit for bit. Target: >= 1.7x on this 2-core machine.
- merging 2,000 tiny points (written by ``--shard 0/1``: every point, not
  combined): ``mfsim merge`` wall time, the command's start-up included.
  Target: < 60 s.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 2
WORKERS_TARGET = 1.7
MERGE_TARGET_S = 60.0
MFSIM = str(Path(sys.executable).with_name("mfsim"))

SWEEP = """name = "workers_bench"
dtype = "float32"
[task]
kind = "teacher"
d = 8
n_train = 128
n_test = 128
[system]
kind = "two_layer"
width = 256
activation = "relu"
[solver]
name = "euler"
dt = 0.5
t1 = 25000.0
[save]
n = 20
[output]
figures = []
[sweep.grid]
seed = {seeds}
"""

TINY = """name = "merge_bench"
dtype = "float32"
[task]
kind = "teacher"
d = 2
n_train = 8
n_test = 8
[system]
kind = "two_layer"
width = 4
activation = "tanh"
[solver]
name = "euler"
dt = 0.1
t1 = 1.0
[save]
n = 5
[output]
figures = []
[sweep.grid]
seed = {seeds}
"""


def _timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([MFSIM, *args], cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode not in (0,):
        raise RuntimeError(f"mfsim {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return took


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def workers(tmp: Path) -> dict:
    (tmp / "sweep.toml").write_text(SWEEP.format(seeds=list(range(32))))
    one, two = [], []
    for r in range(ROUNDS):
        for name, times, extra in (("one", one, []), ("two", two, ["--workers", "2"])):
            out = tmp / f"{name}{r}"
            times.append(_timed(["run", "sweep.toml", "--out", str(out), "--quiet", *extra],
                                tmp))
            print(f"  round {r}: {'--workers 2' if extra else 'one process'}: {times[-1]:.1f} s",
                  flush=True)
    same = _digest(tmp / "one0" / "results.nc") == _digest(tmp / "two0" / "results.nc")
    return {"one_min_s": min(one), "one_median_s": statistics.median(one),
            "two_min_s": min(two), "two_median_s": statistics.median(two),
            "speedup": min(one) / min(two), "bitwise_equal": same}


def merging(tmp: Path, points: int = 2000) -> dict:
    (tmp / "tiny.toml").write_text(TINY.format(seeds=list(range(points))))
    write_s = _timed(["run", "tiny.toml", "--out", "run", "--quiet", "--shard", "0/1"], tmp)
    merge_s = _timed(["merge", "run", "--quiet"], tmp)
    again_s = _timed(["merge", "run", "--quiet"], tmp)
    return {"points": points, "write_s": write_s, "merge_s": merge_s, "merge_again_s": again_s}


def main() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="mfsim-bench-cluster-"))
    try:
        print(f"32 points, one process vs --workers 2 ({ROUNDS} rounds, interleaved):")
        w = workers(tmp)
        print(f"one process: min {w['one_min_s']:.1f} s, median {w['one_median_s']:.1f} s; "
              f"--workers 2: min {w['two_min_s']:.1f} s, median {w['two_median_s']:.1f} s; "
              f"speedup {w['speedup']:.2f}x (target >= {WORKERS_TARGET}); results.nc bitwise "
              f"equal: {w['bitwise_equal']}")
        m = merging(tmp)
        print(f"{m['points']} tiny points written by --shard 0/1 in {m['write_s']:.1f} s; "
              f"mfsim merge {m['merge_s']:.1f} s (again: {m['merge_again_s']:.1f} s; target "
              f"< {MERGE_TARGET_S:g} s)")
        return {"workers": w, "merge": m}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
