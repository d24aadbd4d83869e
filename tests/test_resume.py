"""G3 and G4: a run stopped by SIGINT/SIGTERM or killed with SIGKILL at any
moment leaves only complete files, and rerunning the same command resumes
(skipping what was completed) to results bitwise identical to an
uninterrupted run in another process; a single run resumes from its
checkpoints."""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import mfsim
from mfsim._store.results import scenario_sha256

MFSIM = str(Path(sys.executable).with_name("mfsim"))

PROBLEM = """[task]
d = 4
n_train = 32
n_test = 16
[system]
width = 64
"""

SWEEP = """
name = "resume_sweep"
""" + PROBLEM + """[solver]
t1 = 8.0
[save]
n = 11
[output]
figures = []
[sweep.grid]
seed = [0, 1, 2, 3, 4, 5]
"""

SINGLE = """
name = "resume_single"
""" + PROBLEM + """[solver]
t1 = 20.0
[save]
n = 21
[output]
figures = []
checkpoint_every = 2
[[monitors]]
name = "train_loss"
[[monitors]]
name = "particle_snapshots"
times = [0.0, 5.0, 17.0]
"""


def start(scenario: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([MFSIM, "run", str(scenario), "--out", str(out), "--quiet"],
                            cwd=scenario.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 120.0) -> bool:
    """Poll until ``predicate()`` holds (True) or the process ends (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    raise AssertionError("timed out")


def points_written(out: Path) -> list[Path]:
    return sorted((out / "points").glob("p*.nc")) if (out / "points").is_dir() else []


def assert_only_complete_files(out: Path) -> None:
    """Every file that looks like a result opens and is this scenario's."""
    for path in points_written(out):
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds.load()
            text = ds.attrs["resolved_scenario"]
            assert ds.attrs["scenario_sha256"] == scenario_sha256(text)
    if (out / "results.nc").exists():
        xr.open_dataset(out / "results.nc", engine="h5netcdf").close()


def assert_same_results(a: Path, b: Path) -> None:
    with xr.open_dataset(a / "results.nc", engine="h5netcdf") as x, \
            xr.open_dataset(b / "results.nc", engine="h5netcdf") as y:
        x, y = x.load(), y.load()
        assert set(x.variables) == set(y.variables)
        for name in x.variables:
            vx, vy = x[name].values, y[name].values
            assert vx.dtype == vy.dtype and vx.shape == vy.shape, name
            if vx.dtype.kind == "f":  # bitwise, NaN included
                assert np.array_equal(vx.view(np.uint8), vy.view(np.uint8)), name
            else:
                assert np.array_equal(vx, vy), name
        assert x.attrs.keys() == y.attrs.keys()
        for key, value in x.attrs.items():
            assert np.array_equal(np.asarray(value), np.asarray(y.attrs[key])), key


@pytest.fixture(scope="module")
def sweep_reference(tmp_path_factory):
    """The uninterrupted sweep, in this process."""
    tmp = tmp_path_factory.mktemp("sweep_ref")
    (tmp / "sweep.toml").write_text(SWEEP)
    mfsim.run_scenario(tmp / "sweep.toml", out=tmp / "ref", figures=False)
    return tmp / "ref"


@pytest.mark.slow
def test_sweep_killed_at_random_moments_resumes_bitwise(sweep_reference, tmp_path):
    seed = random.randrange(2**32)
    print(f"kill moments drawn with random.Random({seed})")  # shown if the test fails
    rng = random.Random(seed)
    scenario = tmp_path / "sweep.toml"
    scenario.write_text(SWEEP)
    out = tmp_path / "run"
    # 1. SIGKILL at a random moment of the start (import, build, compile, first points)
    proc = start(scenario, out)
    time.sleep(rng.uniform(0.5, 4.0))
    proc.kill()
    proc.wait()
    assert_only_complete_files(out)
    # 2. SIGTERM once a new point is written: exit 130, the message says what was kept
    before = len(points_written(out))
    proc = start(scenario, out)
    assert wait_for(lambda: len(points_written(out)) > before, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    saved = len(points_written(out))
    assert proc.returncode == 130 and 0 < saved < 6, err
    assert err.strip().splitlines()[-1] == (
        f"mfsim: {scenario}: interrupted; {saved} of 6 points saved in {out}; run the same "
        "command again to resume")
    assert_only_complete_files(out)
    # 3. SIGKILL a random moment after the next point, perhaps in the middle of a write
    before = len(points_written(out))
    proc = start(scenario, out)
    if wait_for(lambda: len(points_written(out)) > before, proc):
        time.sleep(rng.uniform(0.0, 0.4))
        proc.kill()
    proc.wait()
    assert_only_complete_files(out)
    # 4. run to the end: completed points are read back, not solved again
    before = len(points_written(out))
    proc = start(scenario, out)
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert not list(out.rglob(".*.tmp"))
    assert_same_results(sweep_reference, out)
    assert (out / "summary.csv").read_text() == (sweep_reference / "summary.csv").read_text()
    # it solved only what was missing (G4: and the reference ran in another process)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["stats"]["resumed_points"] == before


@pytest.mark.slow  # ~11-28 s: keeps the README's command well under 10 min
def test_single_run_resumes_from_its_checkpoint(tmp_path):
    rng = random.Random()
    scenario = tmp_path / "single.toml"
    scenario.write_text(SINGLE)
    ref = mfsim.run_scenario(scenario, out=tmp_path / "ref", figures=False)
    assert ref.trajectory.stats["segments"] == 10 and ref.succeeded
    assert not list((tmp_path / "ref").glob("checkpoint-*"))  # removed once the results exist
    out = tmp_path / "run"
    proc = start(scenario, out)
    checkpoint = out / "checkpoint-network.npz"
    assert wait_for(checkpoint.exists, proc)
    time.sleep(rng.uniform(0.0, 0.05))
    proc.kill()
    assert proc.wait() == -signal.SIGKILL  # killed mid-solve (10 segments of ~50 ms)
    with np.load(checkpoint, allow_pickle=False) as z:
        resumed_from = int(z["segment"])
    proc = start(scenario, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert_same_results(tmp_path / "ref", out)
    assert 0 < resumed_from < 10
