"""Expanding a scenario's ``[sweep]`` into points, and ``--set`` overrides.

A point is the base scenario with some dotted keys replaced. Overrides are
applied to the keys the user wrote (``model_dump(exclude_unset=True)``), not
to the resolved defaults, so a sweep over ``system.kind`` does not drag one
kind's defaulted keys into another kind. Every point is validated like a
file: a bad value is reported with the sweep key and index that produced it.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .._errors import ScenarioError, show
from .load import format_error, validate_scenario
from .schema import Scenario


@dataclass(frozen=True)
class Axis:
    """One dimension of a sweep: ``keys`` (one, or several zipped) and their values."""

    dim: str
    keys: tuple[str, ...]
    values: tuple[tuple, ...]  # values[k][i]: key k at position i

    @property
    def size(self) -> int:
        return len(self.values[0])


@dataclass(frozen=True)
class SweepPoint:
    """One point: its position on each axis, the overrides and the scenario."""

    index: tuple[int, ...]
    flat_index: int
    overrides: dict[str, Any]
    scenario: Scenario

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.overrides.items()) or "(single run)"


def user_keys(scenario: Scenario) -> dict[str, Any]:
    """The scenario as written: only keys that were set, as plain TOML values."""
    return scenario.model_dump(mode="json", exclude_unset=True)


def set_key(raw: dict, dotted: str, value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for ``dotted = "a.b.c"``, creating tables."""
    *tables, last = dotted.split(".")
    node = raw
    for name in tables:
        child = node.get(name)
        if not isinstance(child, dict):
            child = node[name] = {}
        node = child
    node[last] = value


def with_overrides(raw: dict, overrides: dict[str, Any]) -> dict:
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        set_key(out, key, value)
    return out


def _validate_point(raw: dict, source: str, where: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        errors = e.errors()
        raise ScenarioError(f"{source}: {where}: {format_error(errors[0])}") from None


def axes(scenario: Scenario) -> list[Axis]:
    """The sweep's axes in order: grid keys, then the zip axis."""
    sweep = scenario.sweep
    keys = list(sweep.grid) + list(sweep.zip)
    short = [k.split(".")[-1] for k in keys]
    dims = {k: (s if short.count(s) == 1 else k) for k, s in zip(keys, short)}
    out = [Axis(dims[k], (k,), (tuple(v),)) for k, v in sweep.grid.items()]
    if sweep.zip:
        first = next(iter(sweep.zip))
        out.append(Axis(dims[first], tuple(sweep.zip), tuple(tuple(v) for v in
                                                           sweep.zip.values())))
    return out


def expand(scenario: Scenario, source: str = "<scenario>") -> list[SweepPoint]:
    """All points of ``scenario``'s sweep (one point, itself, when it has none).

    Each axis value is first checked alone against the base scenario, so an
    invalid value is reported as ``sweep.grid.KEY[i]``; then every
    combination is validated.
    """
    if scenario.sweep.empty:
        return [SweepPoint((), 0, {}, scenario)]
    raw = user_keys(scenario)
    raw.pop("sweep")
    raw.pop("crossover", None)  # an analysis of the whole sweep, not of a point
    ax = axes(scenario)
    for axis in ax:
        mode = "zip" if len(axis.keys) > 1 or axis.keys[0] in scenario.sweep.zip else "grid"
        for key, values in zip(axis.keys, axis.values):
            for i, value in enumerate(values):
                _validate_point(with_overrides(raw, {key: value}), source,
                                f"sweep.{mode}.{key}[{i}] = {show(value)}")
    points = []
    for flat, index in enumerate(itertools.product(*(range(a.size) for a in ax))):
        overrides = {key: values[i] for a, i in zip(ax, index)
                     for key, values in zip(a.keys, a.values)}
        where = "sweep point " + ", ".join(f"{k}={show(v)}" for k, v in overrides.items())
        points.append(SweepPoint(index, flat, overrides,
                                 _validate_point(with_overrides(raw, overrides), source, where)))
    return points


def reference_points(scenario: Scenario, points: list[SweepPoint],
                     source: str = "<scenario>") -> tuple[list[SweepPoint], list[int]]:
    """The reference runs of ``sweep.reference``: for each point, the point with
    the reference keys replaced (points that give the same reference share
    it). Returns the distinct references and, per point, its reference's index
    (empty lists when the scenario has no reference)."""
    reference = scenario.sweep.reference
    if not reference:
        return [], []
    raw = user_keys(scenario)
    raw.pop("sweep", None)
    raw.pop("crossover", None)
    refs: list[SweepPoint] = []
    seen: dict[tuple, int] = {}
    index_of = []
    for point in points:
        overrides = {**point.overrides, **reference}
        tag = tuple(sorted((k, repr(v)) for k, v in overrides.items()))
        if tag not in seen:
            where = "sweep.reference (" + ", ".join(f"{k}={show(v)}" for k, v in
                                                   overrides.items()) + ")"
            seen[tag] = len(refs)
            refs.append(SweepPoint((), len(refs), overrides,
                                   _validate_point(with_overrides(raw, overrides), source,
                                                   where)))
        index_of.append(seen[tag])
    return refs, index_of


def _is_list_key(resolved: dict, key: str) -> bool:
    node = resolved
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, list)


def apply_overrides(scenario: Scenario, overrides: dict[str, Any],
                    source: str = "<scenario>") -> Scenario:
    """``scenario`` with dotted keys replaced; a list value makes the key a
    grid axis of the sweep (replacing an axis of the same key), except for a
    key whose value is itself a list (``task.frequencies``): there a list is
    the new value, and a list of lists the axis. ``sweep.reference.KEY``
    sets ``KEY`` of the reference run."""
    if not overrides:
        return scenario
    raw = user_keys(scenario)
    full = scenario.model_dump()
    sweep = raw.setdefault("sweep", {})
    for key, value in overrides.items():
        if key.startswith("sweep.reference."):  # a dotted key inside the reference table
            sweep.setdefault("reference", {})[key.removeprefix("sweep.reference.")] = value
            continue
        if isinstance(value, list) and _is_list_key(full, key) and not (
                value and isinstance(value[0], list)):
            set_key(raw, key, value)
        elif isinstance(value, list):
            for mode in ("grid", "zip"):
                sweep.get(mode, {}).pop(key, None)
            sweep.setdefault("grid", {})[key] = value
        else:
            for mode in ("grid", "zip"):
                if key in sweep.get(mode, {}):
                    raise ScenarioError(
                        f"{source}: --set {key}: is a sweep axis; give a list of values")
            set_key(raw, key, value)
    return validate_scenario(raw, source, overrides=overrides)
