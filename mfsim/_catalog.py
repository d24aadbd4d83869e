"""What mfsim offers, with one-line descriptions (``mfsim list``).

Everything here is read from the scenario schema and the solver table, so
the listing cannot fall out of step with what a scenario file accepts.
"""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path

from ._scenario.schema import (
    PARTICLE_MONITORS,
    SEQUENCE_MONITORS,
    SUPERVISED_MONITORS,
    MonitorConfig,
    SystemConfig,
    TaskConfig,
)
from ._solvers import SOLVER_DESCRIPTIONS, SOLVERS

CATEGORIES = ("systems", "tasks", "monitors", "solvers", "scenarios")
# where the shipped scenarios live (a source checkout, or an editable install)
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"


def _one_line(doc: str | None) -> str:
    return " ".join((doc or "").split())


def _members(union) -> list:
    return list(typing.get_args(typing.get_args(union)[0]))


def _tag(model, field: str) -> str:
    return typing.get_args(model.model_fields[field].annotation)[0]


def _monitor_note(name: str) -> str:
    if name in PARTICLE_MONITORS:
        return " (two_layer only)"
    if name in SEQUENCE_MONITORS and name not in SUPERVISED_MONITORS:
        return " (sequence models only)"
    return ""


def shipped_scenarios(directory: Path = SCENARIO_DIR) -> list[tuple[str, str]]:
    """(file name, description) of every scenario file in ``directory``."""
    out = []
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
        try:
            description = tomllib.loads(path.read_text(encoding="utf-8")).get("description", "")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            description = f"(unreadable: {e})"
        out.append((path.name, str(description)))
    return out


def catalog() -> dict[str, list[tuple[str, str]]]:
    """Category -> [(name, one-line description)]."""
    return {
        "systems": [(_tag(m, "kind"), _one_line(m.__doc__)) for m in _members(SystemConfig)],
        "tasks": [(_tag(m, "kind"), _one_line(m.__doc__)) for m in _members(TaskConfig)],
        "monitors": [(_tag(m, "name"), _one_line(m.__doc__) + _monitor_note(_tag(m, "name")))
                     for m in _members(MonitorConfig)],
        "solvers": [(name, SOLVER_DESCRIPTIONS[name]) for name in SOLVERS],
        "scenarios": shipped_scenarios(),
    }


def format_catalog(categories: typing.Sequence[str] = CATEGORIES) -> str:
    entries = catalog()
    lines = []
    for category in categories:
        items = entries[category]
        where = f" ({SCENARIO_DIR})" if category == "scenarios" else ""
        lines.append(f"{category}{where}:")
        if not items:
            lines.append("  (none found)")
        width = max((len(name) for name, _ in items), default=0)
        lines += [f"  {name:<{width}}  {desc}" for name, desc in items]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
