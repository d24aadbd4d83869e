"""What stopped a shard: ``failures/shard-I-of-N.txt`` in the run directory.

A shard whose process raises (a user's system or monitor failing in Python,
an input the scenario's check did not catch, a full disk) leaves the points
it finished and one line saying why it stopped, with the SLURM job it ran
in when it ran under SLURM; ``mfsim status`` prints it beside the points
still missing (a batch job's traceback is in its log, where nobody looks
first). The shard's next successful run removes it. A point whose *solve*
fails (NaN, divergence) is not a stopped shard: it is written with its
status (``failed``) like any other point.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._errors import clean
from .._store.io import atomic_write_text, recording
from .manifest import Manifest
from .shards import Shard

FAILURES_DIR = "failures"


def _path(out_dir: Path, shard: Shard) -> Path:
    return Path(out_dir) / FAILURES_DIR / f"{shard.name}.txt"


def _job() -> str:
    """The SLURM job (array task) this process runs in, or ``""``."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f" (SLURM job {array}_{task})"
    job = os.environ.get("SLURM_JOB_ID")
    return f" (SLURM job {job})" if job else ""


def note_failure(out_dir: Path, shard: Shard, error: BaseException) -> None:
    """Record that ``shard`` stopped with ``error`` (best effort: a record
    that cannot be written, on a full disk say, is left out)."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[-1]}" if lines else type(error).__name__
    path = _path(out_dir, shard)
    try:
        path.parent.mkdir(exist_ok=True)
        with recording(Manifest(out_dir, writer=shard.name).record):
            atomic_write_text(path, clean(text)[:300] + _job() + "\n")
    except OSError:
        pass


def clear_failure(out_dir: Path, shard: Shard) -> None:
    """``shard`` has run to its end: its record, if any, no longer holds."""
    _path(out_dir, shard).unlink(missing_ok=True)


def failures(out_dir: Path) -> dict[str, str]:
    """Each stopped shard's record, by shard (``"1/4"``)."""
    found = {}
    for path in sorted((Path(out_dir) / FAILURES_DIR).glob("shard-*-of-*.txt")):
        parts = path.stem.split("-")
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        found[f"{parts[1]}/{parts[3]}"] = clean(text.splitlines()[0] if text else "")
    return found
