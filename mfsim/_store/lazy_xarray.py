"""``xr``: xarray, imported on first use.

xarray and pandas take ~0.3 s to import, and a run needs them only once its
solves are done (to store them) or to read a finished run back. The modules
of the run path name ``xr`` from here, so that ``mfsim run`` reaches its
solve sooner; :mod:`mfsim._runner.preload` imports xarray on a thread while
the compiled solve runs, so the store does not wait for it either.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class _LazyModule:
    """Attribute access imports the module (once; then a dictionary lookup)."""

    def __init__(self, name: str):
        self._name = name

    def module(self) -> ModuleType:
        return importlib.import_module(self._name)

    def __getattr__(self, attr: str):
        return getattr(self.module(), attr)


xr = _LazyModule("xarray")
