"""A3 of issue 16, the README's walkthrough "Adding a system": a system
defined here (particles in a quadratic potential), with its scenario entry
registered from this file, runs through ``mfsim.run`` with the loss, movement
and Wasserstein monitors, without any other file of the package knowing it.
Its flow has a closed form, which the recorded values are checked against."""

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pydantic import Field

import mfsim
from mfsim import ScenarioTable, SystemEntry, register_entries, unregister_entries


class QuadraticParticles(mfsim.AbstractGradientFlowSystem, mfsim.AbstractParticleSystem,
                         mfsim.AbstractLossSystem):
    r"""``width`` particles $p_j\in\mathbb R^d$ in the potential
    $V(p) = \frac12 (p-c)^\top A (p-c)$, $A$ diagonal: objective
    $\frac1m\sum_j V(p_j)$ with time scale $m$, so $\dot p_j = -A(p_j - c)$."""

    center: jax.Array
    curvature: jax.Array
    width: int = eqx.field(static=True)

    def init(self, key):
        return jax.random.normal(key, (self.width, self.center.shape[0]), self.center.dtype)

    def particles(self, state):
        return state

    def objective(self, state):
        return 0.5 * jnp.mean(jnp.sum(self.curvature * (state - self.center) ** 2, axis=1))

    def loss(self, state):
        return self.objective(state)

    def time_scale(self):
        return jnp.asarray(self.width, self.center.dtype)


class QuadraticConfig(ScenarioTable):
    """Particles in a quadratic potential (a test's system)."""

    kind: Literal["quadratic_particles"] = "quadratic_particles"
    width: int = Field(16, gt=0, description="number of particles m")


def build(cfg: QuadraticConfig, data) -> QuadraticParticles:
    d = data.x_train.shape[1]  # the particles live in the task's input space
    dtype = data.x_train.dtype
    return QuadraticParticles(center=jnp.ones(d, dtype), width=cfg.width,
                              curvature=jnp.linspace(0.5, 2.0, d, dtype=dtype))


ENTRY = SystemEntry(QuadraticConfig, QuadraticParticles, build, default_monitors=("train_loss",))


@pytest.fixture
def registered():
    register_entries(ENTRY)
    yield
    unregister_entries("quadratic_particles")


SCENARIO = {
    "name": "toy", "dtype": "float64", "seed": 3,
    "task": {"d": 3, "n_train": 4, "n_test": 4},
    "system": {"kind": "quadratic_particles", "width": 16},
    "solver": {"t1": 2.0, "rtol": 1e-10, "atol": 1e-12},
    "save": {"n": 5},
    "monitors": [{"name": "train_loss"}, {"name": "param_distance"},
                 {"name": "wasserstein", "method": "both", "epsilon": 1e-4, "threshold": 1e-8,
                  "max_iterations": 100_000}],
}


def test_a_system_defined_outside_the_package_runs_from_a_scenario(registered):
    ds = mfsim.run(SCENARIO)
    # the closed form: p_j(t) = c + exp(-A t) (p_j(0) - c), from the run's own init
    from mfsim._scenario.build import build

    built = build(mfsim.validate_scenario(SCENARIO))
    p0, system = np.asarray(built.state0), built.system
    c, a = np.asarray(system.center), np.asarray(system.curvature)
    t = ds.t.values[:, None, None]
    pt = c + np.exp(-a * t) * (p0 - c)
    loss = 0.5 * np.mean(np.sum(a * (pt - c) ** 2, axis=2), axis=1)
    moved = np.sqrt(np.sum((pt - p0) ** 2, axis=(1, 2)))
    np.testing.assert_allclose(ds.train_loss.values, loss, rtol=1e-7)
    np.testing.assert_allclose(ds.param_distance.values, moved, rtol=1e-7, atol=1e-12)
    # the contraction toward c is the gradient of a convex function: the Brenier
    # map, so W2(mu_t, mu_0)^2 = (1/m) sum_j |p_j(t) - p_j(0)|^2
    w2 = moved / np.sqrt(16)
    np.testing.assert_allclose(ds.w2_exact_init.values, w2, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ds.w2_init.values, w2, rtol=0.05, atol=0.01)
    assert ds.attrs["status"] == "success"


@pytest.mark.parametrize("solver", [
    {"name": "tsit5"}, {"name": "dopri5"}, {"name": "euler", "dt": 0.25},
    *[pytest.param({"name": n}, marks=pytest.mark.slow) for n in ("heun", "bosh3", "dopri8")],
    # sgd's 3 copies are with momentum (without it: 2, and the estimate errs high)
    pytest.param({"name": "sgd", "dt": 0.25, "momentum": 0.9}, marks=pytest.mark.slow),
    pytest.param({"name": "adam", "dt": 0.25}, marks=pytest.mark.slow),
], ids=lambda s: s["name"])
def test_memory_estimate_without_sizes_within_5_percent_of_xla(registered, solver):
    """A3 of issue 35: the entry above writes no sizes; the state's shapes come
    from jax.eval_shape on its init, the vector field's intermediates from
    XLA's account of the compiled field. The independent answer: XLA's memory
    analysis of the whole compiled solve (arguments, outputs, temporaries),
    at a width where the state is most of it."""
    from xla_memory import compiled_solve_bytes

    from mfsim._scenario.build import build
    from mfsim._scenario.memory import estimate

    scenario = mfsim.validate_scenario({
        "name": "m", "dtype": "float64", "task": {"d": 3, "n_train": 4, "n_test": 4},
        "system": {"kind": "quadratic_particles", "width": 50_000},
        "solver": {**solver, "t1": 1.0}, "save": {"n": 5}})
    with jax.enable_x64(True):
        measured = compiled_solve_bytes(build(scenario))
    assert estimate(scenario).total == pytest.approx(measured, rel=0.05)


def test_a_registered_system_is_listed_and_checked(registered):
    from mfsim._scenario.catalog import format_catalog
    from mfsim._scenario.keys import keys_markdown

    assert "quadratic_particles" in format_catalog(["systems"])
    assert "quadratic_particles" in keys_markdown()
    # capabilities decide what fits: a kernel monitor needs an NTK and scalar outputs
    bad = {**SCENARIO, "monitors": [{"name": "kernel"}]}
    with pytest.raises(mfsim.ScenarioError, match=r"monitors\[0\]\.name: kernel is not "
                       r"available for system quadratic_particles; allowed: train_loss, "
                       r"particle_moments, param_distance, wasserstein, particle_snapshots, sharpness$"):
        mfsim.validate_scenario(bad)


def test_unregistered_names_are_rejected_again():
    with pytest.raises(mfsim.ScenarioError, match="unknown kind 'quadratic_particles'"):
        mfsim.validate_scenario(SCENARIO)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_the_readme_walkthrough_runs(tmp_path, monkeypatch):
    """The README's "Adding a system" code, as written there: a run, then a
    sweep into a run directory with figures, resumed by the second call."""
    from pathlib import Path

    monkeypatch.chdir(tmp_path)

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("**Adding a system.**"):]
    code = section[section.index("```python\n") + 10:section.index("\n```", section.index(
        "```python\n"))]
    namespace: dict = {}
    try:
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    finally:
        unregister_entries("quadratic_particles")
    ds = namespace["ds"]
    assert ds.attrs["status"] == "success"
    assert {"train_loss", "param_distance", "moved_fraction", "w2_init"} <= set(ds.data_vars)
    loss = ds.train_loss.values
    assert np.all(np.diff(loss) < 0) and loss[-1] < 1e-3 * loss[0]
    first, again = namespace["first"], namespace["again"]
    assert first.dataset.sizes["width"] == 2 and first.dataset.sizes["seed"] == 2
    names = {p.name for p in first.figures}
    assert {"loss.png", "param_distance.png"} <= names
    assert (tmp_path / "runs" / "toy" / "summary.csv").is_file()
    assert len(again.resumed) == 4  # every point read back, none solved again
    np.testing.assert_array_equal(again.dataset.train_loss.values,
                                  first.dataset.train_loss.values)



def test_a_plugin_named_on_the_command_line_registers_a_system(tmp_path, capsys, monkeypatch):
    """mfsim run --plugin FILE.py (or a module importable from the working
    directory) imports it first: its registrations apply; without it the
    scenario is refused; a plugin that fails is one line, exit 2. Scenario
    files themselves never load code."""
    from pathlib import Path

    from mfsim.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    (tmp_path / "myplugin.py").write_text(
        "import mfsim\nfrom test_extending import QuadraticConfig, QuadraticParticles, "
        "build\nmfsim.register_entries(mfsim.SystemEntry(QuadraticConfig, "
        "QuadraticParticles, build))\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('no GPU here')\n")
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "toy"\n[system]\nkind = "quadratic_particles"\n[solver]\n'
                        't1 = 1.0\n[save]\nn = 3\n[[monitors]]\nname = "train_loss"\n'
                        '[output]\nfigures = []\n')
    try:
        assert main(["check", str(scenario)]) == 2
        assert "unknown kind 'quadratic_particles'" in capsys.readouterr().err
        assert main(["run", str(scenario), "--quiet", "--plugin", "myplugin.py"]) == 0
        assert mfsim.open_results(tmp_path / "runs" / "toy").attrs["status"] == "success"
        unregister_entries("quadratic_particles")
        assert main(["check", str(scenario), "--plugin", "myplugin"]) == 0  # a module name
        unregister_entries("quadratic_particles")
        capsys.readouterr()
        assert main(["list", "systems", "--plugin", "myplugin.py"]) == 0
        assert "quadratic_particles" in capsys.readouterr().out
    finally:
        unregister_entries("quadratic_particles")
    for plugin, words in (("broken.py", "--plugin broken.py: importing it raised RuntimeError: "
                                        "no GPU here"),
                          ("nowhere", "--plugin nowhere: no module named nowhere"),
                          ("missing.py", "--plugin missing.py: no such file")):
        assert main(["check", str(scenario), "--plugin", plugin]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
