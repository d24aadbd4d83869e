"""The Python API for studies (mfsim.run), `mfsim list` and the generated
scenario reference page."""

from pathlib import Path

import numpy as np
import pytest

import mfsim
from mfsim._scenario import registry
from mfsim._scenario.catalog import catalog, shipped_scenarios
from mfsim._scenario.keys import keys_markdown, missing_descriptions
from mfsim._scenario.schema import Scenario
from mfsim.cli import main

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "name": "tiny_api",
    "task": {"d": 3, "n_train": 16, "n_test": 8},
    "system": {"width": 8},
    "solver": {"t1": 1.0},
    "save": {"n": 4},
}


def test_reference_page_is_generated_from_the_schema():
    # the committed page equals what the schema generates (regenerate with
    # `mfsim keys > scenarios/REFERENCE.md`), and every key has a meaning
    committed = (REPO / "scenarios" / "REFERENCE.md").read_text(encoding="utf-8")
    assert committed == keys_markdown(), "run: mfsim keys > scenarios/REFERENCE.md"
    assert missing_descriptions() == []
    for key in ("`system.width`", "`solver.rtol`", "`sweep.zip`", "`output.figures`",
                "`task.n_train`", '`name = "wasserstein"`', "`epsilon`"):
        assert key in committed
    # every field of every solver table, and of the noise table, is listed with its meaning
    for entry in registry.SOLVERS.values():
        for name, field in entry.config.model_fields.items():
            if name != "name":
                assert f"| `solver.{name}` | {field.description} |" in committed
    for name, field in Scenario.model_fields["noise"].annotation.model_fields.items():
        assert f"| `noise.{name}` | {field.description} |" in committed


def test_list_names_everything_a_scenario_accepts(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    entries = catalog()
    for category in ("systems", "tasks", "monitors", "solvers"):
        assert f"{category}:" in out
        assert entries[category] and all(desc for _, desc in entries[category])
    for kind in ("two_layer", "mlp", "deep_linear", "diagonal_linear", "adaptive_sequence",
                 "teacher", "sinusoids", "kernel", "wasserstein", "tsit5", "kvaerno5"):
        assert f"  {kind} " in out
    shipped = sorted(p.name for p in (REPO / "scenarios").glob("*.toml"))
    assert [name for name, _ in shipped_scenarios()] == shipped
    for name, desc in shipped_scenarios():
        assert desc, f"{name} has no description"
        assert f"{name}" in out and desc in out
    assert main(["list", "solvers"]) == 0
    assert "systems:" not in capsys.readouterr().out
    # issue 34 item 7: the twins, by the [compare] setting that asks for each
    assert main(["list", "twins"]) == 0
    twins = capsys.readouterr().out
    assert twins.startswith("twins (the [compare] table):")
    for setting in ("linearized = true", "quadratic = true", 'kernels = ["empirical"]',
                    'kernels = ["analytic"]', "theory = true", "flow = true",
                    "central_flow = true"):
        assert f"  {setting} " in twins
    assert main(["list", "colours"]) == 2
    assert "unknown category 'colours'" in capsys.readouterr().err


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_run_api_overrides_with_double_underscores(tmp_path):
    # mfsim.run(scenario, system__width=[...]) is `--set system.width=[...]`
    ds = mfsim.run(TINY, system__width=[8, 16], seed=1)
    assert ds.sizes["width"] == 2 and list(ds["width"].values) == [8, 16]
    assert ds.attrs["seed"] == 1
    single = mfsim.run_scenario(mfsim.validate_scenario(TINY), out=tmp_path / "a",
                                overrides={"system.width": 16, "seed": 1}).dataset
    np.testing.assert_allclose(ds["train_loss"].sel(width=16), single["train_loss"], rtol=1e-6)
    # with out=, the run directory is written like the CLI's
    path = tmp_path / "tiny.toml"
    path.write_text('name = "tiny_api"\n[task]\nd = 3\nn_train = 16\nn_test = 8\n'
                    '[system]\nwidth = 8\n[solver]\nt1 = 1.0\n[save]\nn = 4\n')
    ds2 = mfsim.run(path, out=tmp_path / "b", solver__t1=0.5)
    assert float(ds2["t"][-1]) == pytest.approx(0.5)
    assert (tmp_path / "b" / "results.nc").is_file() and (tmp_path / "b" / "loss.png").is_file()
    with pytest.raises(mfsim.ScenarioError, match="system.widht: unknown key"):
        mfsim.run(TINY, system__widht=4)


@pytest.mark.slow  # ~12-13 s: keeps the README's command well under 10 min
def test_phase_diagram_over_two_sweep_axes(tmp_path):
    # a width x scale x seed sweep: phase_width_scale.png is drawn and its cells
    # are the seed-mean of the final values
    from mfsim.plotting import phase_axes, phase_grid

    out = tmp_path / "phase"
    ds = mfsim.run(TINY, out=out, system__width=[8, 16], system__scale=[0.5, 1.0, 2.0],
                   seed=[0, 1])
    assert phase_axes(ds) == ["width", "scale"]
    grid = phase_grid(ds, "test_loss", "width", "scale")
    assert grid.shape == (3, 2)
    for i, scale in enumerate([0.5, 1.0, 2.0]):
        for j, width in enumerate([8, 16]):
            finals = [float(ds["test_loss"].sel(width=width, scale=scale, seed=s)[-1])
                      for s in (0, 1)]
            assert grid[i, j] == pytest.approx(np.mean(finals), rel=1e-12)
    best = phase_grid(ds, "test_loss", "width", "scale", how="min")
    assert np.all(best <= grid + 1e-15)
    assert (out / "phase_width_scale.png").stat().st_size > 0


@pytest.mark.parametrize(("system", "solver"), [
    ({}, "bosh3"),  # two_layer's default activation is relu
    ({"activation": "relu"}, "bosh3"),
    ({"activation": "tanh"}, "tsit5"),
    ({"kind": "mlp", "widths": [8]}, "bosh3"),
    ({"kind": "mlp", "widths": [8], "activation": "gelu"}, "tsit5"),
    ({"kind": "deep_linear"}, "tsit5"),
], ids=["two_layer", "relu", "tanh", "mlp", "mlp-gelu", "deep_linear"])
def test_the_default_solver_follows_the_activation_and_rtol(system, solver):
    """Issue 36, P5: a [solver] table without a name selects bosh3 for a
    kinked activation at rtol >= 1e-5, tsit5 otherwise (bench/kinked_solvers.py)."""
    loose = {"name": "s", "system": system, "solver": {"t1": 1.0, "rtol": 1e-4}}
    assert mfsim.validate_scenario(loose).solver.name == solver
    for tight in ({"t1": 1.0}, {"t1": 1.0, "rtol": 1e-6}, None):  # the default rtol is 1e-6
        raw = {"name": "s", "system": system} | ({"solver": tight} if tight else {})
        assert mfsim.validate_scenario(raw).solver.name == "tsit5"
    named = mfsim.validate_scenario({"name": "s", "system": system,
                                     "solver": {"name": "dopri5", "t1": 1.0, "rtol": 1e-4}})
    assert named.solver.name == "dopri5"
    # a point that changes the activation or rtol gets its own default
    from mfsim._scenario.sweep import apply_overrides

    base = mfsim.validate_scenario(loose)
    assert apply_overrides(base, {"solver.rtol": 1e-6}).solver.name == "tsit5"
    if "activation" in registry.SYSTEMS[base.system.kind].config.model_fields:
        assert apply_overrides(base, {"system.activation": "tanh"}).solver.name == "tsit5"
