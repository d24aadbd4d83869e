"""A5 of issue 35: a solver defined outside the package (a toy explicit
scheme: the explicit midpoint rule, written as a Butcher tableau) is
registered as a ``[solver]`` entry from this file and runs through
``mfsim.run`` without editing the package. Checked against diffrax's own
midpoint rule at the same fixed step, an independent implementation of the
same scheme, and against the exact flow of the scenario's system."""

from typing import Literal

import diffrax
import numpy as np
import pytest
from pydantic import Field

import mfsim
from mfsim import FixedStepTable, SolverEntry, register_entries, unregister_entries


class ToyMidpoint(diffrax.AbstractERK):
    """The explicit midpoint rule: k1 = f(y), k2 = f(y + dt k1 / 2), y' = y + dt k2."""

    tableau = diffrax.ButcherTableau(
        c=np.array([0.5]), b_sol=np.array([0.0, 1.0]), b_error=np.array([0.0, 0.0]),
        a_lower=(np.array([0.5]),))
    interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def order(self, terms):
        return 2


class ToyMidpointTable(FixedStepTable):
    """The explicit midpoint rule at a fixed step (a test's own solver)."""

    name: Literal["toy_midpoint"] = Field("toy_midpoint", description="the solver")


ENTRY = SolverEntry(
    ToyMidpointTable, lambda cfg, ctx: mfsim.solver_settings(cfg, ToyMidpoint(), ctx),
    descriptions={"toy_midpoint": "explicit midpoint rule, fixed step (a test's own)"},
    copies={"toy_midpoint": 6})

SCENARIO = {"name": "toy", "dtype": "float64",
            "task": {"kind": "linear_teacher", "n_train": 16, "n_test": 8},
            "system": {"kind": "deep_linear", "widths": [6], "init": "gaussian", "scale": 0.3},
            "solver": {"name": "toy_midpoint", "dt": 0.05, "t1": 1.0}, "save": {"n": 5}}


@pytest.fixture
def registered():
    register_entries(ENTRY)
    yield
    unregister_entries("toy_midpoint")


@pytest.mark.slow  # five solves (~15 s): run by CI after the README's command
def test_a_solver_defined_outside_the_package_runs_from_a_scenario(registered):
    ds = mfsim.run(SCENARIO)
    scenario = mfsim.validate_scenario(SCENARIO)
    assert type(scenario.solver) is ToyMidpointTable
    # the same problem with diffrax's midpoint rule: the same iterates (the
    # scenario's default solver, were the name ignored, would not give them)
    from mfsim._scenario.build import build

    built = build(mfsim.validate_scenario({**SCENARIO, "solver": {
        "name": "heun", "adaptive": False, "dt": 0.05, "t1": 1.0}}))
    settings = mfsim.SolveSettings.of(diffrax.Midpoint(), t1=1.0, dt=0.05, adaptive=False,
                                      save_times=built.settings.ts)
    midpoint = mfsim.simulate(built.system, built.state0, settings, monitors=built.monitors)
    np.testing.assert_allclose(ds["train_loss"].values, midpoint.values["train_loss"],
                               rtol=1e-12, atol=0)
    # second order: halving dt divides the distance to the flow by about 4
    flow = mfsim.run({**SCENARIO, "solver": {"name": "tsit5", "t1": 1.0, "rtol": 1e-10,
                                             "atol": 1e-12}})
    half = mfsim.run({**SCENARIO, "solver": {"name": "toy_midpoint", "dt": 0.025, "t1": 1.0}})
    errors = [abs(float(r["train_loss"][-1] - flow["train_loss"][-1])) for r in (ds, half)]
    assert 3.6 < errors[0] / errors[1] < 4.4, errors
    assert ds.attrs["status"] == "success"


def test_a_registered_solver_is_listed_checked_and_documented(registered, capsys):
    from mfsim._scenario.catalog import catalog
    from mfsim._scenario.keys import keys_markdown

    assert ("toy_midpoint", "explicit midpoint rule, fixed step (a test's own)") in catalog()[
        "solvers"]
    assert '### `solver.name = "toy_midpoint"`' in keys_markdown()
    # its table's keys are its own: a fixed-step solve needs its step
    with pytest.raises(mfsim.ScenarioError, match="solver.dt: a fixed-step solve needs dt"):
        mfsim.validate_scenario({**SCENARIO, "solver": {"name": "toy_midpoint"}})
    # and another solver's key names that solver
    with pytest.raises(mfsim.ScenarioError, match='solver.momentum: only for solver name = '
                       '"sgd", not toy_midpoint'):
        mfsim.validate_scenario({**SCENARIO, "solver": {"name": "toy_midpoint", "dt": 0.1,
                                                        "momentum": 0.9}})


def test_an_unregistered_solver_is_refused_again():
    with pytest.raises(mfsim.ScenarioError, match="solver.name: unknown name 'toy_midpoint'"):
        mfsim.validate_scenario(SCENARIO)
