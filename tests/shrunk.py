"""Every shipped scenario at a size that runs in seconds, with the same
monitors, twins and sweep axes (so the same figures): the figure lint runs
on each (tests/test_figure_lint.py) and ``python -m bench figures`` times
drawing them. Changes are paths into the scenario's TOML tables
(``"sweep/grid/system.width"``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SHRUNK = {
    "catapult": {"task/n_train": 16, "system/width": 128, "solver/steps": 40, "save/n": 21,
                 "sweep/grid/solver.learning_rate": [1.0, 4.0, 8.0]},
    "coordinate_check": {"sweep/grid/system.width": [32, 64, 128]},
    "deep_linear_saxe": {"task/n_train": 64, "task/n_test": 64, "save/n": 20},
    "diagonal_linear_implicit_bias": {
        "task/n_test": 100, "save/n": 20, "sweep/grid/seed": [0, 1],
        "sweep/zip/system.alpha": [0.03, 0.3, 3.0], "sweep/zip/solver.t1": [600.0, 200.0, 30.0]},
    "digits": {"task/n_train": 60, "task/n_test": 40, "system/width": 32, "save/n": 8,
               "sweep/grid/system.scale": [0.25, 1.0, 16.0]},
    "edge_of_stability": {"solver/steps": 200, "save/n": 101, "task/n_train": 32},
    "langevin_mean_field": {"system/width": 16, "task/n_train": 16, "task/n_test": 16,
                            "save/n": 5, "sweep/grid/seed": [0, 1],
                            "sweep/grid/noise.temperature": [0.01, 0.1]},
    "lazy_feature_crossover": {"task/n_train": 32, "save/n": 6, "sweep/grid/seed": [0],
                               "sweep/grid/system.scale": [0.01, 0.032, 0.1, 0.32],
                               "sweep/grid/system.width": [64, 128, 256]},
    "learning_curves_sphere": {"task/n_test": 128, "system/width": 128, "solver/t1": 200.0,
                               "save/n": 6, "sweep/grid/task.n_train": [16, 32, 64],
                               "sweep/grid/seed": [0, 1]},
    "lazy_vs_active": {"system/width": 32, "task/n_train": 16, "task/n_test": 32,
                       "solver/t1": 5.0, "save/n": 6,
                       "sweep/grid/system.scale": [0.5, 4.0, 32.0]},
    "mean_field_chaos": {"task/n_train": 16, "task/n_test": 32, "solver/t1": 2.0, "save/n": 5,
                         "sweep/grid/system.width": [16, 32, 64], "sweep/grid/seed": [0, 1],
                         "sweep/reference/system.width": 256},
    "nonuniform_density": {"task/n_train": 80, "task/n_test": 80, "system/width": 64,
                           "solver/t1": 40.0, "save/n": 10},
    "ntk_eigenfunction_tasks": {"task/n_train": 24, "task/n_test": 24, "task/d": 4,
                                "system/width": 32, "solver/t1": 50.0, "save/n": 6,
                                "sweep/grid/task.index": [1, 4, 16]},
    "online_sgd_committee": {"task/d": 50, "solver/steps": 2000, "save/n": 21},
    "quickstart": {"task/n_train": 32, "task/n_test": 64, "system/width": 32,
                   "solver/t1": 20.0, "save/n": 12},
    "richness_sweep": {"task/n_train": 32, "task/n_test": 32, "solver/steps": 20, "save/n": 3,
                       "sweep/grid/system.gamma0": [0.01, 0.1, 1.0],
                       "sweep/grid/system.width": [32, 64, 128], "sweep/grid/seed": [0]},
    "sequence_model_adaptivity": {
        "save/n": 20, "sweep/grid/task.n": [300.0, 1000.0, 3000.0], "sweep/grid/seed": [0, 1],
        "sweep/zip/task.N": [300, 300, 20], "sweep/zip/solver.t1": [300.0, 30.0, 10.0]},
    "sgd_vs_flow": {"system/width": 32, "task/n_train": 32, "task/n_test": 32,
                    "solver/learning_rate": 32.0, "solver/steps": 40, "save/n": 9,
                    "sweep/grid/solver.batch_size": [4, 8, 32]},
    "spectral_bias": {"task/frequencies": [1.0, 2.0, 4.0], "task/n_train": 24, "task/n_test": 32,
                      "system/width": 64, "solver/t1": 400.0, "save/n": 12, "save/t_first": 0.5},
    "sphere_spectral_bias": {"task/degrees": [1, 2], "task/n_train": 60, "task/n_test": 60,
                             "system/width": 64, "solver/t1": 60.0, "save/n": 10},
    "width_transition": {"task/n_train": 16, "task/n_test": 32, "task/d": 4, "solver/t1": 4.0,
                         "save/n": 5, "sweep/grid/system.width": [16, 64, 256]},
}


def shrunk_raw(name: str) -> dict:
    """The shipped scenario ``name`` as a dict, shrunk by :data:`SHRUNK`."""
    raw = tomllib.loads((REPO / "scenarios" / f"{name}.toml").read_text())
    for dotted, value in SHRUNK[name].items():
        *tables, last = dotted.split("/")
        node = raw
        for table in tables:
            node = node.setdefault(table, {})
        node[last] = value
    return raw


def shrunk(name: str):
    """The validated scenario."""
    import mfsim

    return mfsim.validate_scenario(shrunk_raw(name), name)
