"""``--plugin`` modules: imported before a command (and in the processes a
command starts: workers, submitted tasks), so that what they register with
:func:`mfsim.register_entries` applies to the scenario. Only the command line
loads code; a scenario file never does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .._errors import clean


def load_plugins(names: list[str]) -> None:
    """Import each ``--plugin`` (its registrations then apply to the command);
    a failure is one line naming the plugin."""
    import importlib
    import importlib.util

    from .._errors import MfsimError

    for name in names:
        where = f"--plugin {clean(name)}"
        try:
            if name.endswith(".py"):
                path = Path(name)
                if not path.is_file():
                    raise MfsimError(f"{where}: no such file")
                spec = importlib.util.spec_from_file_location(f"mfsim_plugin_{path.stem}", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            else:
                sys.path.insert(0, os.getcwd())
                try:
                    importlib.import_module(name)
                finally:
                    sys.path.remove(os.getcwd())
        except MfsimError:
            raise
        except ModuleNotFoundError as e:
            raise MfsimError(f"{where}: no module named {clean(str(e.name))}") from None
        except Exception as e:  # the plugin's own code failed
            raise MfsimError(f"{where}: importing it raised {type(e).__name__}: "
                             f"{clean(str(e))}") from None
