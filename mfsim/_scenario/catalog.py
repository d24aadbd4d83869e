"""What mfsim offers, with one-line descriptions (``mfsim list``).

Everything here is read from the scenario registry and the solver table, so
the listing cannot fall out of step with what a scenario file accepts.
"""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path

CATEGORIES = ("systems", "tasks", "monitors", "solvers", "twins", "scenarios")
# where the shipped scenarios live (a source checkout, or an editable install)
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def _one_line(doc: str | None) -> str:
    return " ".join((doc or "").split())


def _monitor_note(entry) -> str:
    """The systems a monitor fits, when it does not fit every system."""
    from . import registry

    fit = [s.name for s in registry.SYSTEMS.values() if entry.fits(s.system)]
    return "" if len(fit) == len(registry.SYSTEMS) else f" ({', '.join(fit)})"


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


def twins() -> list[tuple[str, str]]:
    """(the [compare] setting that asks for it, what it is, its variables'
    prefix) of every twin."""
    from .twins import ALL_TWINS, KERNELS

    setting = {t: f"{t.key.removeprefix('compare.')} = true" for t in ALL_TWINS}
    setting.update({twin: f'kernels = ["{name}"]' for name, twin in KERNELS.items()})
    return [(setting[t], f"{t.label}; its variables {t.prefix}*") for t in ALL_TWINS]


def catalog(*, cached: bool = False) -> dict[str, list[tuple[str, str]]]:
    """Category -> [(name, one-line description)]. ``cached``: what the
    registry gives read from mfsim's derived-text cache when this very code
    made it before (:mod:`mfsim._store.derived_cache`: no registry, no JAX);
    never with plugins, whose entries the cache does not know."""
    if cached:
        import json

        from .._store.derived_cache import cached_text

        made = json.loads(cached_text("catalog", lambda: json.dumps(_registered())))
    else:
        made = _registered()
    return {**made, "scenarios": shipped_scenarios()}


def _registered() -> dict[str, list[tuple[str, str]]]:
    # imported here: the command's parser and scenario names need none of it
    from . import registry

    return {
        "systems": [(e.name, _one_line(e.config.__doc__)) for e in registry.SYSTEMS.values()],
        "tasks": [(e.name, _one_line(e.config.__doc__)) for e in registry.TASKS.values()],
        "monitors": [(e.name, _one_line(e.config.__doc__) + _monitor_note(e))
                     for e in registry.MONITORS.values()],
        "solvers": [(name, e.descriptions[name]) for name, e in registry.SOLVERS.items()],
        "twins": twins(),
    }


def format_catalog(categories: typing.Sequence[str] = CATEGORIES, *,
                   cached: bool = False) -> str:
    entries = catalog(cached=cached)
    lines = []
    for category in categories:
        items = entries[category]
        where = {"scenarios": f" ({SCENARIO_DIR})", "twins": " (the [compare] table)"}.get(
            category, "")
        lines.append(f"{category}{where}:")
        if not items:
            lines.append("  (none found)")
        width = max((len(name) for name, _ in items), default=0)
        lines += [f"  {name:<{width}}  {desc}" for name, desc in items]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
