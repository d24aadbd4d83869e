"""F1 of issue 33: every shipped scenario, shrunk (tests/shrunk.py), and
every figure it gets passes the figure lint; the figures the run wrote are
the ones the planner names."""

import pytest
import xarray as xr
from shrunk import SHRUNK, shrunk

import mfsim
from mfsim.plotting import lint, plan


def test_every_shipped_scenario_is_shrunk():
    from pathlib import Path

    shipped = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "scenarios")
                     .glob("*.toml"))
    assert sorted(SHRUNK) == shipped


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
@pytest.mark.parametrize("name", sorted(SHRUNK))
def test_every_figure_of_every_shipped_scenario_passes_the_lint(name, tmp_path):
    run = mfsim.run_scenario(shrunk(name), out=tmp_path)
    ds = xr.open_dataset(tmp_path / "results.nc")
    planned = plan(ds)
    assert planned, name
    written = sorted(p.stem for p in tmp_path.glob("*.png"))
    assert written == sorted(p.stem for p in planned)
    for figure in planned:
        problems = lint(figure.draw())
        assert problems == [], (name, figure.stem, problems)
    del run
