"""A peer library's side of a benchmark in a process of its own.

PyTorch's and POT's thread pools and allocators would share this process
with JAX's if the peers ran here; instead each peer runs in a child process
that stays up for the whole benchmark and times one call whenever asked:
:func:`bench._util.interleaved` then alternates mfsim's calls here with the
peer's calls there, round after round, and neither runs while the other
does (the idle side waits on a pipe). The child gets as many threads as
XLA uses here (every core: ``torch.set_num_threads(os.cpu_count())`` in the
factories).

The protocol, one JSON line each way: the child builds its callable from
``factory`` ("module:function", called with the arrays saved for it and
the keyword arguments), calls it once (the warm-up: torch.compile compiles
then), and answers ``{"ready": ..., "result": ...}``; then each ``go``
is answered with ``{"seconds": ...}``, timed in the child.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class PeerProcess:
    """A peer's callable in a child process (module docstring). ``result``:
    what its warm-up call returned (for checks against mfsim's answer);
    ``error``: why it could not start (the peer is then skipped)."""

    def __init__(self, factory: str, arrays: dict, **kwargs):
        self._dir = tempfile.TemporaryDirectory(prefix="bench-peer-")
        path = Path(self._dir.name) / "arrays.npz"
        np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench._peer", factory, str(path), json.dumps(kwargs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self._read()
        self.error = first.get("error")
        self.result = None if self.error else np.asarray(first["result"])

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            return {"error": "the peer's process ended: " + self.proc.stderr.read()[-500:]}
        return json.loads(line)

    def timed(self) -> float:
        """One call in the child, its seconds."""
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["seconds"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self._dir.cleanup()


def _serve(factory: str, path: str, kwargs: str) -> None:
    module, name = factory.split(":")
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        fn = getattr(importlib.import_module(module), name)(arrays, **json.loads(kwargs))
        result = np.asarray(fn(), np.float64)
    except Exception as e:  # noqa: BLE001 (the peer is absent or fails: reported, skipped)
        print(json.dumps({"error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
        return
    print(json.dumps({"ready": True, "result": result.tolist()}), flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        start = time.perf_counter()
        fn()
        print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    _serve(*sys.argv[1:4])
