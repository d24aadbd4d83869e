"""Names at the API's edge: the object a name stands for."""

from __future__ import annotations


def named(spec, kind: type | tuple[type, ...], table: dict, what: str):
    """``spec`` itself where it is a ``kind`` object, else the object
    ``table`` maps the name ``spec`` to; a ValueError naming ``what``, the
    names allowed and their objects otherwise."""
    if isinstance(spec, kind):
        return spec
    if isinstance(spec, str) and spec in table:
        return table[spec]
    objects = ", ".join(f"{type(t).__name__}()" for t in table.values())
    raise ValueError(f"unknown {what} {spec!r}; allowed: {', '.join(table)} (or {objects})")
