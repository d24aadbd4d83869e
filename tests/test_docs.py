"""U1 of issue 18: the documentation is the project's own and true. The
README and docs/ name no path outside the repository and every path they name
exists; the run times written in the README and in each shipped scenario's
header agree (within 2x) with the times measured by ``python -m bench
scenario_times`` (bench/RESULTS.md; this test reads that table and measures
nothing); the README's Python example is the quickstart scenario, written
out."""

import itertools
import re
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import numpy as np
import pytest
import xarray as xr

import mfsim
from mfsim._scenario.build import build

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
# a path inside the repository, as the docs write one in backticks
REPO_PATH = re.compile(r"`((?:mfsim|tests|scenarios|bench|docs|notebooks|\.ci)/[^`\s]*)`")


def _expand(pattern: str) -> list[str]:
    """``a/{b,c}.py`` -> ``a/b.py``, ``a/c.py``."""
    parts = re.split(r"\{([^}]*)\}", pattern)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


@pytest.mark.parametrize("doc", DOCS + SCENARIOS, ids=lambda p: p.name)
def test_docs_name_no_path_outside_the_repository(doc):
    text = doc.read_text()
    assert "../" not in text, f"{doc.name} points outside the repository"
    assert "shared/" not in text
    for path in REPO_PATH.findall(text):
        for one in _expand(path.rstrip(".,:;")):
            # placeholders such as pNNNNNN or SOLVE stand for a family of names
            one = re.sub(r"[A-Z]{3,}", "*", one)
            assert list(ROOT.glob(one)), f"{doc.name} names {path}, which does not exist"


def _seconds(value: str, unit: str) -> float:
    return float(value) * (60 if unit == "min" else 1)


def test_documented_run_times_agree_with_the_benchmark():
    from bench.scenario_times import RESULTS, read_table

    measured = read_table(RESULTS.read_text())
    assert set(measured) == {p.stem for p in SCENARIOS}
    readme = dict((m[1], _seconds(m[2], m[3])) for m in re.finditer(
        r"^\| `(\w+)` \|.*\| ~(\d+) (s|min) \|$", (ROOT / "README.md").read_text(), re.M))
    headers = {}
    for path in SCENARIOS:
        found = re.search(r"^# Run time: ~(\d+) (s|min) on 2 CPU cores", path.read_text(), re.M)
        assert found, f"{path.name}: no '# Run time: ~N s|min on 2 CPU cores' line"
        headers[path.stem] = _seconds(found[1], found[2])
    assert set(readme) == set(measured), "the README's table of shipped scenarios"
    for name, seconds in measured.items():
        for where, written in (("README", readme[name]), (f"{name}.toml", headers[name])):
            assert seconds / 2 <= written <= seconds * 2, (
                f"{where} says ~{written:.0f} s for {name}; measured {seconds:.0f} s")


def test_the_readme_python_example_is_the_quickstart(monkeypatch):
    """Run as written, except that mfsim.simulate records what it is given
    instead of solving (the quickstart's solve is tested elsewhere): the
    system, initial state, solve settings (solver, controller, save times)
    and monitors are the scenario's."""

    code = _readme_example()
    calls = []

    class Recorded:
        status, final_state, stats = "success", None, {"num_steps": 0}
        values = {"train_loss": [0.0]}

    def record(system, state, settings, **kwargs):
        calls.append((system, state, settings, kwargs))
        return Recorded()

    monkeypatch.setattr(mfsim, "simulate", record)
    monkeypatch.setattr(mfsim.TwoLayerNetwork, "particles", lambda self, state: None)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 (our own README)
    (system, state, settings, kwargs), = calls
    built = build(mfsim.load_scenario(ROOT / "scenarios" / "quickstart.toml"))
    assert bool(eqx.tree_equal(system, built.system))
    assert bool(eqx.tree_equal(system.init(state), built.state0))  # the init key, too
    assert settings.key() == built.settings.key()  # the scenario's solver entry built it
    monitors = kwargs.pop("monitors")
    assert [type(m) for m in monitors] == [type(m) for m in built.monitors]
    assert bool(eqx.tree_equal(tuple(monitors), built.monitors))
    # the command's segments (the solve's steps depend on them)
    scenario = mfsim.load_scenario(ROOT / "scenarios" / "quickstart.toml")
    assert kwargs == {"checkpoint_every": scenario.output.checkpoint_every}


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("```python\nimport diffrax, jax, mfsim\n") + len("```python\n")
    return text[start:text.index("\n```", start)]


@pytest.mark.slow
def test_the_readme_python_example_equals_the_command_bitwise(tmp_path):
    """Issue 34 U6: the README's example, run as written in a fresh Python,
    and ``mfsim run scenarios/quickstart.toml`` in a fresh process give the
    same train loss at every save time, bit for bit, in as many steps."""
    script = tmp_path / "example.py"
    script.write_text(_readme_example() + "\nimport numpy as np\nnp.save(%r, np.asarray("
                      "traj.values['train_loss']))\nprint('steps', int(traj.stats['num_steps']))\n"
                      % str(tmp_path / "loss.npy"))
    example = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "mfsim_entry", "run",
                    str(ROOT / "scenarios" / "quickstart.toml"), "--out",
                    str(tmp_path / "run"), "--quiet"], check=True, cwd=ROOT)
    with xr.open_dataset(tmp_path / "run" / "results.nc") as ds:
        loss, steps = ds["train_loss"].values.ravel(), int(ds.attrs["num_steps"])
    assert f"steps {steps}\n" in example.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "loss.npy"), loss)
