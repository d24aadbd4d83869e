"""The files mfsim wrote in a run directory: ``.mfsim-manifest``, one path
(relative to the directory) per line, appended before each file is written
(:func:`mfsim._store.io.recording`). A rerun, ``--force`` or a finished run removes
files only through it, so a user's file is never removed, whatever its name.

A crash can leave a line naming a file that was never written (harmless) or
a last line cut short (ignored: only whole lines count), never a file mfsim
wrote that the manifest does not name.

Shards writing into one directory at once (:mod:`mfsim._runner.shards`) each
append to their own ``.mfsim-manifest-<shard>`` (no two writers of one
file); every manifest file in the directory is read, and removing all of
mfsim's files folds them back into one."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .._store.io import atomic_write_text

MANIFEST_FILE = ".mfsim-manifest"
WRITER_GLOB = ".mfsim-manifest-*"
# a temporary file of mfsim._store.io.atomic_write: ".NAME.<8 random characters>.tmp"
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


class Manifest:
    """The manifest of the run directory ``out_dir`` (read when made)."""

    def __init__(self, out_dir: str | os.PathLike, writer: str | None = None):
        self.out_dir = Path(out_dir)
        self.main = self.out_dir / MANIFEST_FILE
        # where this process appends: its own file when it is one of several writers
        self.path = self.main if writer is None else self.out_dir / f"{MANIFEST_FILE}-{writer}"
        self._names = self._read()

    def _files(self) -> list[Path]:
        return [self.main, *sorted(self.out_dir.glob(WRITER_GLOB))]

    def _read(self) -> dict[str, None]:
        names: dict[str, None] = {}
        for path in self._files():
            if path.is_symlink():
                continue
            try:
                text = path.read_bytes().decode("utf-8", "replace")
            except (FileNotFoundError, IsADirectoryError):
                continue
            lines = text.split("\n")[:-1]  # a last line without its newline was cut short
            names.update(dict.fromkeys(
                name for name in lines if self._relative(self.out_dir / name) == name))
        return names

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
        if rel is None or rel in self._names or rel.startswith(MANIFEST_FILE):
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

    def fold(self) -> None:
        """Gather the shards' manifests into the main one (no shard is writing)."""
        writers = [p for p in self.out_dir.glob(WRITER_GLOB) if p.is_file() and not p.is_symlink()]
        if not writers:
            return
        atomic_write_text(self.main, "".join(rel + "\n" for rel in self._names))
        for path in writers:
            path.unlink(missing_ok=True)
        self.path = self.main

    def remove_all(self, keep: frozenset[str] = frozenset()) -> None:
        """Remove every file mfsim wrote here (but ``keep``), then forget them."""
        self.remove_temporaries()
        for rel in self._names:
            if rel not in keep:
                self.remove(self.out_dir / rel)
        kept = [rel for rel in self._names if rel in keep]
        atomic_write_text(self.main, "".join(rel + "\n" for rel in kept))
        for path in self.out_dir.glob(WRITER_GLOB):  # folded into the main one
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
        self._names = dict.fromkeys(kept)
