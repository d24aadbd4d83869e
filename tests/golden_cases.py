"""Shrunk float64 versions of every shipped scenario, whose results were saved
from the code before the issue-16 refactoring (tests/golden/<name>.nc, written by
tests/scripts/make_golden.py). tests/test_golden.py runs them again and compares
every variable to rtol 1e-12: the refactoring changed no number."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"

TINY_TEACHER = {"d": 4, "n_train": 16, "n_test": 32}


def _merge(base: dict, change: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# scenario -> changes to its table (a "sweep" here replaces the file's sweep)
CHANGES = {
    # the golden file predates the shipped scenario's switch to bosh3 (issue 36)
    "quickstart": {"task": TINY_TEACHER, "system": {"width": 32},
                   "solver": {"name": "tsit5", "rtol": 1e-5, "atol": 1e-7, "t1": 5.0},
                   "save": {"n": 6, "t_first": 0.1}},
    # the golden file predates the shipped scenario's aligned init and closed form
    "deep_linear_saxe": {"task": {"n_train": 32, "n_test": 32}, "solver": {"t1": 5.0},
                         "save": {"n": 6}, "system": {"init": "balanced"}},
    "diagonal_linear_implicit_bias": {
        "task": {"d": 10, "n_train": 5, "n_test": 20}, "save": {"n": 6},
        "sweep": {"zip": {"system.alpha": [0.1, 1.0], "solver.t1": [50.0, 10.0]}}},
    "sequence_model_adaptivity": {
        "save": {"n": 6},
        "sweep": {"zip": {"system.kind": ["vanilla_sequence", "diagonal_sequence",
                                          "adaptive_sequence"],
                          "task.N": [200, 200, 20], "solver.t1": [50.0, 20.0, 10.0]}}},
    "lazy_vs_active": {
        "task": TINY_TEACHER, "system": {"width": 16}, "solver": {"t1": 5.0},
        "save": {"n": 5},
        "sweep": {"batch": 1, "grid": {"system.scale": [0.5, 4.0]}}},
    "spectral_bias": {
        "task": {"frequencies": [1, 2, 3], "n_train": 16, "n_test": 32},
        "system": {"width": 32}, "solver": {"t1": 100.0}, "save": {"n": 5}},
    "width_transition": {
        "task": TINY_TEACHER, "solver": {"t1": 5.0}, "save": {"n": 5},
        "sweep": {"grid": {"system.width": [16, 32],
                           "system.parameterization": ["ntk", "mean_field"]}}},
    "mean_field_chaos": {
        "task": TINY_TEACHER, "solver": {"t1": 5.0}, "save": {"n": 5},
        "sweep": {"grid": {"system.width": [16, 32], "seed": [0, 1]},
                  "reference": {"system.width": 128, "seed": 1000}}},
    "ntk_eigenfunction_tasks": {
        "task": {"d": 4, "n_train": 16, "n_test": 16}, "system": {"width": 32},
        "solver": {"t1": 10.0}, "save": {"n": 5, "t_first": 0.1},
        "sweep": {"grid": {"task.index": [1, 4]}}},
}


def shrunk(name: str) -> dict:
    """The shipped scenario ``name`` as a dict, shrunk and in float64."""
    raw = tomllib.loads((REPO / "scenarios" / f"{name}.toml").read_text())
    change = dict(CHANGES[name])
    if "sweep" in change:
        raw.pop("sweep", None)
        raw["sweep"] = change.pop("sweep")
    raw = _merge(raw, change)
    raw["dtype"] = "float64"
    for monitor in raw.get("monitors", []):
        if monitor["name"] == "kernel":
            monitor["subsample"] = 16
        monitor.pop("theory", None)  # closed forms came after the golden files
        if monitor["name"] == "wasserstein":  # so did method "auto" (exact on CPU here)
            monitor["method"] = "sinkhorn"
    return raw
