"""The checkpoint file of a run directory: a segmented solve's progress as a
NumPy ``.npz`` archive (read with ``allow_pickle=False``: loading it never
executes anything), written atomically. It sits above the solve
(:mod:`mfsim._solve.segments` only sees the store interface)."""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._errors import RecomputedWarning
from .._solve.segments import AbstractCheckpointStore
from .io import atomic_write


class CheckpointFile(AbstractCheckpointStore):
    """A checkpoint kept in the ``.npz`` file ``path``: pass it as
    ``mfsim.simulate(..., checkpoint_every=N, checkpoint=CheckpointFile(path))``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"CheckpointFile({str(self.path)!r})"

    def load(self) -> dict[str, np.ndarray] | None:
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}  # each member's CRC-32 is checked
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            # truncated or corrupt: solved again from the start, saying so
            warnings.warn(RecomputedWarning(f"{self.path}: unreadable checkpoint "
                                            f"({type(e).__name__}); solved from the start"),
                          stacklevel=2)
            return None

    def save(self, arrays: dict[str, np.ndarray]) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(self.path, buffer.getvalue())
