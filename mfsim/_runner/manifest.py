"""The files mfsim wrote in a run directory: ``.mfsim-manifest``, one path
(relative to the directory) per line, appended before each file is written
(:func:`mfsim._io.recording`). A rerun, ``--force`` or a finished run removes
files only through it, so a user's file is never removed, whatever its name.

A crash can leave a line naming a file that was never written (harmless) or
a last line cut short (ignored: only whole lines count), never a file mfsim
wrote that the manifest does not name."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .._io import atomic_write_text

MANIFEST_FILE = ".mfsim-manifest"
# a temporary file of mfsim._io.atomic_write: ".NAME.<8 random characters>.tmp"
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


class Manifest:
    """The manifest of the run directory ``out_dir`` (read when made)."""

    def __init__(self, out_dir: str | os.PathLike):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / MANIFEST_FILE
        self._names = self._read()

    def _read(self) -> dict[str, None]:
        try:
            text = self.path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return {}
        lines = text.split("\n")[:-1]  # a last line without its newline was cut short
        return dict.fromkeys(name for name in lines if self._relative(self.out_dir / name) == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def _relative(self, path: str | os.PathLike) -> str | None:
        """``path`` relative to the run directory, or None if it lies outside."""
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(self.out_dir))
        if rel == "." or rel.startswith("..") or os.path.isabs(rel) or "\n" in rel:
            return None
        return Path(rel).as_posix()

    def record(self, path: str | os.PathLike) -> None:
        """Note that mfsim is about to write ``path`` (before it exists)."""
        rel = self._relative(path)
        if rel is None or rel in self._names or rel == MANIFEST_FILE:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(rel + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._names[rel] = None

    def _own_file(self, rel: str) -> Path | None:
        """The regular file ``rel`` names, if it lies inside the run directory
        (not a symbolic link, nor under one that leads elsewhere)."""
        path = self.out_dir / rel
        if path.is_symlink() or not path.is_file():
            return None
        if not path.resolve().is_relative_to(self.out_dir.resolve()):
            return None
        return path

    def remove(self, path: str | os.PathLike) -> None:
        """Remove ``path`` if mfsim wrote it."""
        rel = self._relative(path)
        if rel in self._names and (own := self._own_file(rel)) is not None:
            own.unlink(missing_ok=True)

    def remove_temporaries(self) -> None:
        """Remove the temporary files of writes a kill cut short."""
        dirs = {Path(rel).parent for rel in self._names}
        for sub in sorted(dirs):
            folder = self.out_dir / sub
            if folder.is_symlink() or not folder.is_dir():
                continue
            for entry in folder.iterdir():
                tmp = _TEMPORARY.fullmatch(entry.name)
                if tmp and (sub / tmp["name"]).as_posix() in self._names:
                    if (own := self._own_file((sub / entry.name).as_posix())) is not None:
                        own.unlink(missing_ok=True)

    def remove_all(self, keep: frozenset[str] = frozenset()) -> None:
        """Remove every file mfsim wrote here (but ``keep``), then forget them."""
        self.remove_temporaries()
        for rel in self._names:
            if rel not in keep:
                self.remove(self.out_dir / rel)
        kept = [rel for rel in self._names if rel in keep]
        atomic_write_text(self.path, "".join(rel + "\n" for rel in kept))
        self._names = dict.fromkeys(kept)
