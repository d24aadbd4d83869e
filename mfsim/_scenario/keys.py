"""The scenario reference page, generated from the schema.

``mfsim keys`` prints it; ``scenarios/REFERENCE.md`` is its committed
copy (a test regenerates it and compares, so the page cannot drift from the
schema). Every key is listed with its meaning, type, default and allowed
values, read off the pydantic models themselves.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .._systems.activations import KINKED
from . import registry
from .reference_page import section_of
from .schema import Scenario
from .solvers.base import SolverTable

_CONSTRAINTS = (
    (at.Gt, "gt", "> {}"),
    (at.Ge, "ge", ">= {}"),
    (at.Lt, "lt", "< {}"),
    (at.Le, "le", "<= {}"),
    (at.MinLen, "min_length", "at least {} entries"),  # "non-empty" for 1
    (at.MaxLen, "max_length", "at most {} entries"),
)
_NAMES = {int: "integer", float: "float", bool: "boolean", str: "string"}


def _constraints(metadata: list, *, text: bool = False) -> list[str]:
    out = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            out += _constraints(item.metadata, text=text)
            continue
        for cls, attr, fmt in _CONSTRAINTS:
            if isinstance(item, cls):
                value = getattr(item, attr)
                if text and cls in (at.MinLen, at.MaxLen):
                    fmt = fmt.replace("entries", "characters")
                out.append("non-empty" if cls is at.MinLen and value == 1 else fmt.format(value))
        pattern = getattr(item, "pattern", None)
        if pattern:
            out.append(f"matching `{pattern}`")
    return out


def describe_type(annotation: Any, metadata: list = ()) -> str:
    """A short human description of a field's type and constraints."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return describe_type(base, list(metadata) + extra)
    if origin is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        text = " or ".join(describe_type(a) for a in args)
        text = f"{text} (or unset)" if optional else text
        return _with(text, _constraints(metadata))
    if origin is list:
        (item,) = get_args(annotation)
        return _with(f"list of {describe_type(item)}", _constraints(metadata))
    if origin is dict:
        _, value = get_args(annotation)
        return f"table of dotted key -> {describe_type(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    name = _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return _with(name, _constraints(metadata, text=annotation is str))


def _with(text: str, constraints: list[str]) -> str:
    return f"{text}, {', '.join(constraints)}" if constraints else text


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(table defaults)"
    else:
        value = field.default
    if value is None:
        return "unset"
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{json.dumps(value)}`"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_rows(model: type[BaseModel], prefix: str, skip: tuple[str, ...] = ()) -> list[str]:
    rows = ["| key | meaning | type and allowed values | default |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        annotation = field.annotation
        kind = describe_type(annotation, field.metadata)
        rows.append(f"| `{prefix}{name}` | {_escape(field.description or '')} | "
                    f"{_escape(kind)} | {_default(field)} |")
    return rows


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def key_description(scenario: Scenario, key: str) -> str:
    """The schema's description of a dotted key as it applies to
    ``scenario`` (``system.width`` of its system's table; "" if none)."""
    *tables, last = key.split(".")
    node: Any = scenario
    for part in tables:
        node = getattr(node, part, None)
        if not isinstance(node, BaseModel):
            return ""
    field = type(node).model_fields.get(last)
    return (field.description or "") if field is not None else ""


def key_shown(scenario: Scenario, key: str) -> dict:
    """How the dotted ``key`` is shown as a sweep axis: its ``long_name`` and
    ``symbol`` from the schema (:func:`~mfsim._scenario.table.shown`), its
    description, and the key itself; a key the schema does not describe
    so is named by its last part ("n_test" -> "n test")."""
    *tables, last = key.split(".")
    node: Any = scenario
    for part in tables:
        node = getattr(node, part, None)
    field = type(node).model_fields.get(last) if isinstance(node, BaseModel) else None
    extra = field.json_schema_extra if field is not None else None
    extra = extra if isinstance(extra, dict) else {}
    return {"key": key, "description": key_description(scenario, key) or f"the swept key {key}",
            "long_name": str(extra.get("long_name") or last.replace("_", " ")),
            "symbol": str(extra.get("symbol", "")), "units": "1"}


def missing_descriptions() -> list[str]:
    """Dotted keys of the schema that have no description (a test keeps this empty)."""
    missing = []
    tables = ("task", "system", "solver", "noise", "save", "monitors", "compare", "output",
              "sweep", "crossover")
    models = [(Scenario, "", tables)]  # the tables are documented by their sections
    # selectors: likewise
    models += [(e.config, "task.", ("kind",)) for e in registry.TASKS.values()]
    models += [(e.config, "system.", ("kind",)) for e in registry.SYSTEMS.values()]
    models += [(e.config, "monitors[].", ("name",)) for e in registry.MONITORS.values()]
    models += [(c, "solver.", ()) for c in _solver_tables()]
    for name in ("noise", "save", "compare", "output", "sweep", "crossover"):
        models.append((Scenario.model_fields[name].annotation, f"{name}.", ()))
    for model, prefix, skip in models:
        for key, field in model.model_fields.items():
            if key not in skip and not field.description:
                missing.append(f"{prefix}{key}")
    return missing


def _solver_tables() -> list[type[BaseModel]]:
    """The solver entries' tables, once each, in the registry's order."""
    return list(dict.fromkeys(e.config for e in registry.SOLVERS.values()))


def _solver_section() -> list[str]:
    out = ["## `[solver]`: how the flow is integrated", "",
           f"`solver.name` selects the table (default `\"{registry.DEFAULT_SOLVER}\"`, and "
           f"`\"{registry.KINKED_SOLVER}\"` for a system with a kinked activation, "
           f"{', '.join(sorted(KINKED))}, at `rtol` >= {registry.KINKED_FROM_RTOL:g}); each "
           "solver has its own keys beside the shared ones (`mfsim list solvers`).", "",
           "### Every solver", "", *table_rows(SolverTable, "solver.", skip=("name",)), ""]
    for model in _solver_tables():
        names = typing.get_args(model.model_fields["name"].annotation)
        spelled = " or ".join(f'"{n}"' for n in names)
        own = [k for k in model.model_fields if k not in SolverTable.model_fields]
        out += [f"### `solver.name = {spelled}`", "", _doc(model), ""]
        if own:
            out += [*table_rows(model, "solver.", skip=tuple(SolverTable.model_fields)), ""]
    return out


def keys_markdown() -> str:
    """The reference page (Markdown) for every key of a scenario file."""
    out = [
        "# Scenario file reference",
        "",
        "<!-- generated by `mfsim keys` from the scenario schema and registry "
        "(mfsim/_scenario/); do not edit: a test compares this page with the schema -->",
        "",
        "A scenario is a TOML file. Every key below is optional unless marked *required*; "
        "a key left out takes its default. Unknown keys, wrong types (an integer key "
        "given `1.0`, a string given `1`), and non-finite numbers are rejected with one "
        "line naming the key. Any scalar key can be overridden from the command line "
        "(`mfsim run FILE --set system.width=256`) or from Python "
        "(`mfsim.run(FILE, system__width=256)`); a list value makes it a sweep axis.",
        "",
        "## Top level",
        "",
        *table_rows(Scenario, "", skip=("task", "system", "solver", "noise", "save",
                                          "monitors", "compare", "output", "sweep")),
        "",
    ]
    sections = [
        ("task", "`[task]`: the data", "kind", registry.TASKS, registry.DEFAULT_TASK),
        ("system", "`[system]`: what trains", "kind", registry.SYSTEMS, registry.DEFAULT_SYSTEM),
    ]
    for key, title, tag, entries, default in sections:
        out += [f"## {title}", "",
                f"`{key}.{tag}` selects the table (default `\"{default}\"`); each kind has "
                "its own keys.", ""]
        for entry in entries.values():
            model, kind = entry.config, entry.name
            out += [f"### `{key}.{tag} = \"{kind}\"`", "", _doc(model), "",
                    *table_rows(model, f"{key}.", skip=(tag,)), ""]
    out += _solver_section()
    for name, title in (("noise", "`[noise]`: Langevin noise, weight decay, SGD noise"),
                        ("save", "`[save]`: when monitors are evaluated")):
        model = Scenario.model_fields[name].annotation
        out += [f"## {title}", "", _doc(model), "", *table_rows(model, f"{name}."), ""]
    out += [
        "## `[[monitors]]`: what is recorded",
        "",
        "A list of tables, each selected by `name`. Left out, a network records "
        "`train_loss` and `test_loss`, a sequence model `train_loss` and `risk`. Which "
        "monitors a system supports is checked when the file is loaded.",
        "",
    ]
    for entry in registry.MONITORS.values():
        model, mname = entry.config, entry.name
        out += [f"### `name = \"{mname}\"`", "", _doc(model), ""]
        if len(model.model_fields) > 1:
            out += [*table_rows(model, "", skip=("name",)), ""]
    for name, title in (("compare", "`[compare]`: kernel twins"),
                        ("sweep", "`[sweep]`: parameter studies"),
                        ("crossover", "`[crossover]`: where a variable crosses a level "
                         "across a sweep"),
                        ("output", "`[output]`: where results go")):
        model = Scenario.model_fields[name].annotation
        out += [f"## {title}", "", _doc(model), "", *table_rows(model, f"{name}."), ""]
    return "\n".join(out).rstrip() + "\n"


def keys_section(what: str) -> str:
    """The part of :func:`keys_markdown` for one section or kind
    (:func:`.reference_page.section_of`): ``mfsim keys WHAT``."""
    return section_of(keys_markdown(), what)
