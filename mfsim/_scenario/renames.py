"""Old spellings of scenario keys: one table, read with one note each.

A scenario file (or a ``--set``, or a sweep axis) that spells a key the old
way is read as the new spelling, with a :class:`mfsim.DeprecatedKeyWarning`
in one format: ``<file>: <old>: now spelled <new>; the old spelling is read
for now``. Nothing else in the package knows an old spelling.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from .._errors import DeprecatedKeyWarning, ScenarioError


@dataclass(frozen=True)
class Renamed:
    """``old`` is now ``new`` (dotted keys: ``solver.temperature`` ->
    ``noise.temperature``). ``of``: the system kind or monitor name whose
    table has the key (``system.learning_rate`` of ``deep_linear``;
    ``monitors.<key>`` is a key of every monitor table of that name)."""

    old: str
    new: str
    of: str | None = None


@dataclass(frozen=True)
class Recoded:
    """Keys ``olds`` of one table (``of``: as in :class:`Renamed`) whose
    values now mean other keys: ``values`` maps the old keys' values (missing
    ones at ``defaults``) to the new keys; a combination it lacks is refused
    with ``refusal``."""

    olds: tuple[str, ...]
    defaults: tuple
    values: dict[tuple, dict] = field(default_factory=dict)
    of: str | None = None
    refusal: str = ""


_WASSERSTEIN_FLAGS = {(False, True): {"method": "sinkhorn"}, (True, False): {"method": "exact"},
                      (True, True): {"method": "both"}}

SPELLINGS: tuple[Renamed | Recoded, ...] = (
    Renamed("solver.temperature", "noise.temperature"),
    Renamed("solver.weight_decay", "noise.weight_decay"),
    Renamed("solver.per_particle", "noise.per_particle"),
    Renamed("solver.sgd_noise_learning_rate", "noise.sgd_learning_rate"),
    Renamed("solver.sgd_noise_batch_size", "noise.sgd_batch_size"),
    Renamed("system.learning_rate", "system.time_scale", of="deep_linear"),
    Renamed("system.learning_rate", "system.time_scale", of="diagonal_linear"),
    Renamed("monitors.reference", "monitors.target", of="wasserstein"),
    Recoded(("monitors.exact", "monitors.sinkhorn"), (False, True), _WASSERSTEIN_FLAGS,
            of="wasserstein", refusal="exact and sinkhorn must be true or false, not both "
            'false (now spelled method = "auto", "sinkhorn", "exact" or "both")'),
)
"""Every old spelling the scenario files still accept."""


def _note(source: str, old: str, new: str) -> None:
    warnings.warn(DeprecatedKeyWarning(
        f"{source}: {old}: now spelled {new}; the old spelling is read for now"), stacklevel=6)


def _tables(data: dict, section: str, of: str | None, default_kind: str):
    """(where, table) of each table of ``section`` the spelling applies to."""
    if section == "monitors":
        for i, table in enumerate(data.get("monitors") if isinstance(
                data.get("monitors"), list) else []):
            if isinstance(table, dict) and (of is None or table.get("name") == of):
                yield f"monitors[{i}]", table
    elif isinstance(data.get(section), dict):
        table = data[section]
        if of is None or table.get("kind", default_kind) == of:
            yield section, table


def _rename(data: dict, r: Renamed, source: str, default_kind: str) -> None:
    (section, key), (new_section, new_key) = r.old.split(".", 1), r.new.split(".", 1)
    for where, table in list(_tables(data, section, r.of, default_kind)):
        if key not in table:
            continue
        value = table.pop(key)
        target = table if new_section == section else data.setdefault(new_section, {})
        if isinstance(target, dict) and new_key not in target:
            target[new_key] = value
        _note(source, f"{where}.{key}", r.new if new_section != section else new_key)


def _recode(data: dict, r: Recoded, source: str, default_kind: str) -> None:
    section, keys = r.olds[0].split(".", 1)[0], [o.split(".", 1)[1] for o in r.olds]
    for where, table in _tables(data, section, r.of, default_kind):
        present = [k for k in keys if k in table]
        if not present:
            continue
        values = tuple(table.pop(k, d) for k, d in zip(keys, r.defaults))
        new = r.values.get(values) if all(isinstance(v, bool) for v in values) else None
        if new is None:
            raise ScenarioError(f"{source}: {where}.{present[-1]}: {r.refusal}")
        if not set(new) & set(table):
            table.update(new)
        _note(source, f"{where}.{'/'.join(present)}",
              ", ".join(f"{k} = {v!r}" for k, v in new.items()))


def _sweep_axes(data: dict, source: str) -> None:
    """Sweep axes named by an old spelling (of any table) are renamed."""
    sweep = data.get("sweep")
    if not isinstance(sweep, dict):
        return
    for mode in ("grid", "zip", "reference"):
        if isinstance(sweep.get(mode), dict):
            flat = _flat(sweep[mode])
            for r in SPELLINGS:
                if isinstance(r, Renamed) and r.of is None and r.old in flat and r.new not in flat:
                    flat[r.new] = flat.pop(r.old)
                    _note(source, f"sweep.{mode}.{r.old}", r.new)
            sweep[mode] = flat


def _flat(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def respelled(data: dict[str, Any], source: str, default_kind: str) -> dict[str, Any]:
    """``data`` (a scenario's raw tables) with every old spelling of
    :data:`SPELLINGS` in its new one, a note each (``default_kind``: the
    system kind of a ``[system]`` table that names none)."""
    data = {k: ([dict(t) if isinstance(t, dict) else t for t in v] if isinstance(v, list)
                else dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for r in SPELLINGS:
        if isinstance(r, Renamed):
            _rename(data, r, source, default_kind)
        else:
            _recode(data, r, source, default_kind)
    _sweep_axes(data, source)
    return data
