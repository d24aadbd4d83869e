"""Reading a scenario file into a validated :class:`Scenario`.

Every failure becomes a :class:`ScenarioError` whose message is one line:
``FILE: KEY.PATH: what is wrong; what is allowed``. Loading never executes
anything from the file.
"""

from __future__ import annotations

import copy
import math
import os
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from .._errors import ScenarioError, show
from . import registry
from .renames import respelled
from .schema import Scenario
from .toml_text import read_toml

# Tags of the discriminated unions: pydantic puts them in error locations
# (system.two_layer.width, monitors.0.kernel.k); users wrote system.width.
_UNION_KEYS = {"task": registry.TASKS, "system": registry.SYSTEMS, "solver": registry.SOLVERS}


def format_location(loc: tuple) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if i == 1 and loc[0] in _UNION_KEYS and item in _UNION_KEYS[loc[0]]:
            continue  # the union tag pydantic inserts
        if i == 2 and loc[0] == "monitors" and item in registry.MONITORS:
            continue
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _describe(value: Any) -> str:
    return f"{show(value)} ({type(value).__name__})"


def format_error(err: dict) -> str:
    """One pydantic error -> ``key.path: message``."""
    error_type, loc, ctx = err["type"], tuple(err["loc"]), err.get("ctx") or {}
    if error_type == "unknown_key":
        import difflib

        close = difflib.get_close_matches(ctx["key"], ctx["allowed"].split(", "), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (f"{format_location(loc + (ctx['key'],))}: unknown key; {hint}"
                f"allowed keys: {ctx['allowed']}")
    if error_type == "union_tag_invalid":
        allowed = ctx["expected_tags"].replace("'", "")
        tag = ctx.get("discriminator", "'kind'").strip("'")
        return f"{format_location(loc)}.{tag}: unknown {tag} {show(ctx['tag'])}; allowed: {allowed}"
    if error_type == "union_tag_not_found":
        return f"{format_location(loc)}: missing key {ctx.get('discriminator', repr('kind'))}"
    if error_type == "string_pattern_mismatch" and loc == ("name",):
        return (f"name: must be letters, digits, '_', '.' or '-' (starting with a letter or"
                f" digit); got {show(err['input'])}")
    if loc[:1] == ("sweep",) and loc[-1] in ("bool", "int", "float", "str"):
        where = format_location(loc[:-1])
        value = err["input"]
        if isinstance(value, float) and not math.isfinite(value):
            return f"{where}: must be a finite number; got {_describe(value)}"
        return f"{where}: sweep values must be numbers, strings or booleans; got " \
               f"{_describe(value)}"
    if error_type == "too_short":
        return (f"{format_location(loc)}: needs at least {ctx.get('min_length', 1)} "
                f"value(s); got {_describe(err['input'])}")
    if "key" in ctx:  # our own cross-field checks name the offending key
        loc = loc + tuple(int(k) if k.isdigit() else k for k in str(ctx["key"]).split("."))
    where = format_location(loc)
    if error_type == "missing":
        return f"{where}: missing required key"
    if error_type == "literal_error":
        allowed = ctx["expected"].replace("'", "")
        return f"{where}: got {show(err['input'])}; allowed: {allowed}"
    msg = err["msg"]
    msg = msg.replace("Input should be", "must be").replace("Value error, ", "")
    msg = msg.replace("a valid dictionary or object to extract fields from", "a table")
    if error_type.endswith("_type") or error_type in {"greater_than", "greater_than_equal", "less_than",
                                          "less_than_equal", "finite_number", "too_short",
                                          "too_long", "string_pattern_mismatch"}:
        msg = f"{msg}; got {_describe(err['input'])}"
    return f"{where}: {msg}"


def _known_key(data: dict, key: str) -> bool:
    """Whether the dotted ``key`` names a scalar key of the scenario's tables
    (``solver.dt``; ``system.width`` of the system's kind)."""
    table, _, name = key.partition(".")
    if not name:
        return table in Scenario.model_fields and table != "sweep"
    if "." in name:
        return False
    selected = {"system": (registry.SYSTEMS, registry.DEFAULT_SYSTEM, "kind"),
                "task": (registry.TASKS, registry.DEFAULT_TASK, "kind"),
                "solver": (registry.SOLVERS, registry.DEFAULT_SOLVER, "name")}
    if table in selected:
        entries, default, tag = selected[table]
        own = data.get(table)
        kind = own.get(tag, default) if isinstance(own, dict) else default
        entry = entries.get(kind) if isinstance(kind, str) else None
        return entry is not None and name in entry.config.model_fields
    field = Scenario.model_fields.get(table)
    cls = field.annotation if field is not None else None
    return isinstance(cls, type) and issubclass(cls, BaseModel) and name in cls.model_fields


def _swept_keys_in_base(data: Any) -> Any:
    """A key swept by ``[sweep.grid]`` or ``[sweep.zip]`` needs no value of its
    own: where the base leaves a known scalar key out, the base takes the
    axis's first value (so that ``--set solver.dt=[0.1,0.2]`` on a file
    without ``dt`` validates). Unknown keys and non-scalar values are left
    to the sweep's own checks, which name the axis and index."""
    sweep = data.get("sweep") if isinstance(data, dict) else None
    if not isinstance(sweep, dict):
        return data
    fills = []
    for mode in ("grid", "zip"):
        axes = sweep.get(mode)
        for key, values in (axes.items() if isinstance(axes, dict) else ()):
            if (isinstance(key, str) and isinstance(values, list) and values
                    and isinstance(values[0], bool | int | float | str)
                    and _known_key(data, key)):
                fills.append((key, values[0]))
    if not fills:
        return data
    data = copy.deepcopy(data)
    for key, value in fills:
        *tables, last = key.split(".")
        node = data
        for name in tables:
            node = node.setdefault(name, {}) if isinstance(node, dict) else None
        if isinstance(node, dict) and last not in node:
            node[last] = value
    return data


# the tags pydantic puts in an error's location for the members of a plain union
# (`batch: "auto" | int`): not keys, so never shown
_MEMBER = re.compile(r"^(literal\[.*\]|int|float|str|bool|constrained-\w+)$")
_KINDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
          "constrained-int": "an integer", "constrained-float": "a number",
          "constrained-str": "a string"}
_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
           "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}


def _union_error(errors: list[dict]) -> str | None:
    """One message for a value that fits no member of a union: what each
    member would accept (``sweep.batch: must be auto or an integer > 0``)."""
    loc = tuple(errors[0]["loc"])
    if loc[:1] == ("sweep",) and loc[1:2] in (("grid",), ("zip",), ("reference",)):
        return None  # sweep values have their own message
    for k, item in enumerate(loc):
        if not (isinstance(item, str) and _MEMBER.match(item)):
            continue
        phrases = []
        for err in errors:
            eloc = tuple(err["loc"])
            if eloc[:k] != loc[:k] or len(eloc) <= k or not _MEMBER.match(str(eloc[k])):
                continue
            ctx = err.get("ctx") or {}
            if err["type"] == "literal_error":
                phrases.append(ctx["expected"].replace("'", ""))
            else:
                phrase = _KINDS.get(str(eloc[k]), "a value")
                if err["type"] in _BOUNDS:
                    name, op = _BOUNDS[err["type"]]
                    phrase += f" {op} {ctx[name]}"
                phrases.append(phrase)
        return (f"{format_location(loc[:k])}: must be {' or '.join(phrases)}; got "
                f"{_describe(errors[0]['input'])}")
    return None


def validate_scenario(data: dict[str, Any], source: str = "<scenario>", *,
                      overrides: dict[str, Any] | None = None) -> Scenario:
    """Validate a parsed TOML document (a dict) into a :class:`Scenario`.
    ``overrides``: the keys the command line set (``--set``), to blame the
    one at fault (``--set output.dir: ...``) or, when the fault lies
    elsewhere, to say they were applied."""
    data = respelled(data, source, registry.DEFAULT_SYSTEM) if isinstance(data, dict) else data
    data = _swept_keys_in_base(data)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        said = _union_error(errors)
        more = ""
        if said is None:
            said = format_error(errors[0])
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        if overrides:
            key = said.split(": ", 1)[0]
            if key in overrides or key.removeprefix("sweep.grid.") in overrides:
                raise ScenarioError(f"{source}: --set {said}{more}") from None
            applied = ", ".join(f"{k}={show(v)}" for k, v in overrides.items())
            source = f"{source} (with --set {applied})"
        raise ScenarioError(f"{source}: {said}{more}") from None


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file.

    Raises :class:`mfsim.ScenarioError` with a one-line message naming the
    file, the key path and what is allowed.
    """
    return validate_scenario(read_toml(path), str(path))
