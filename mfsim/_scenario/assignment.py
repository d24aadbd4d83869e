"""``--set KEY=VALUE`` from the command line, read into a key and a value
(:data:`SET_VALUE_RULE`); nothing here knows the scenario schema."""

from __future__ import annotations

from typing import Any

from .._errors import ScenarioError, show
from .toml_text import parse_toml

SET_VALUE_RULE = ("a value is TOML (64, 0.5, true, \"relu\", [64, 256]); a bare word or "
                  "path (relu, data/x.npz) is a string, and so is each bare word of a list "
                  "([relu, tanh])")


def _bare_word(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in "_-./" for c in text)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as TOML
    (``64``, ``0.5``, ``true``, ``[64, 256]``, ``"relu"``), and a bare word
    or relative path that is not TOML (``relu``, ``data/x.npz``) as a
    string, as is each bare word of a flat list (``[relu, tanh]``, ``[64,
    relu]`` -> ``[64, "relu"]``): :data:`SET_VALUE_RULE`."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {show(text)}: expected KEY=VALUE (e.g. system.width=256)")
    bare = value.strip()
    where = f"--set {show(text)}"
    try:
        return key, parse_toml(f"v = {bare}", where, located=False)["v"]
    except ScenarioError as e:
        if "syntax error" not in str(e):
            raise  # too long a number, too deep a nesting
        if _bare_word(bare):
            return key, bare  # a bare word (relu) or path (data/x.npz): a string
        inner = bare[1:-1] if bare.startswith("[") and bare.endswith("]") else None
        if inner is not None and "[" not in inner and "]" not in inner and inner.strip():
            items = []
            for item in (part.strip() for part in inner.split(",")):
                try:
                    items.append(parse_toml(f"v = {item}", where, located=False)["v"])
                except ScenarioError:
                    if not _bare_word(item):
                        break
                    items.append(item)
            else:
                return key, items
        raise ScenarioError(f"{where}: {show(value)} is not a value: {SET_VALUE_RULE}") from None
