"""Reading TOML: a scenario file or a ``--set`` value, every way of failing
(unreadable, not UTF-8, syntax, huge integers, nesting deep enough to
exhaust the stack) one line naming the file and, where it helps, the line
and key. Nothing here knows the scenario schema (imports no registry)."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from .._errors import ScenarioError, clean


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a TOML file, turning every way of failing into a ScenarioError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a directory, not a scenario file") from None
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ScenarioError(f"{path}: line {line}: not valid UTF-8 text") from None
    return parse_toml(text, str(path))


# nesting deeper than this is refused before tomllib recurses into it
MAX_NESTING = 100


def parse_toml(text: str, where: str, *, located: bool = True) -> dict[str, Any]:
    """Parse TOML text; every way of failing (syntax, integers beyond Python's
    4300-digit limit, nesting deep enough to exhaust the stack) becomes a
    one-line ScenarioError naming ``where``."""
    too_deep = _too_deep(text)  # ``located``: say the line and key (not for one value)
    if too_deep is not None:
        too_deep = too_deep if located else ""
        raise ScenarioError(f"{where}: {too_deep}TOML: arrays or tables nested more than "
                            f"{MAX_NESTING} deep; a scenario needs a few levels")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{where}: TOML syntax error: {clean(str(e))}") from None
    except ValueError:  # int("9" * 5000): beyond the int-to-str digit limit
        raise ScenarioError(f"{where}: TOML: an integer of more than 4300 digits; numbers "
                            "in a scenario are far smaller") from None
    except RecursionError:
        raise ScenarioError(f"{where}: TOML: nested too deeply") from None


def _too_deep(text: str) -> str | None:
    """``None`` if no array or inline table of ``text`` nests more than
    MAX_NESTING deep, else where the deepest one starts: ``line N (key):``
    (its key path, under the last ``[table]`` header; brackets inside strings
    count too: an over-estimate, and cheap)."""
    depth, table, start = 0, "", None
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line) if depth == 0 else None
        if header:
            table = header[1].strip()
            continue
        for ch in line:
            if ch in "[{":
                if depth == 0:
                    key = line.split("=", 1)[0].strip() if "=" in line else ""
                    start = (number, f"{table}.{key}" if table and key else key or table)
                depth += 1
                if depth > MAX_NESTING:
                    number, key = start
                    return f"line {number}" + (f" ({clean(key)})" if key else "") + ": "
            elif ch in "]}":
                depth = max(depth - 1, 0)
    return None


_HEADER = re.compile(r"^\s*\[\[?([^\[\]]+)\]\]?\s*(#.*)?$")
