"""Where a run's time goes (issue 36, P2): ``mfsim run --timings``, the
provenance's record of it, and what changes nothing but time: a run without
an output directory writes no files, and the command leaves without
the interpreter's teardown yet with its exit status."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import TINY, run_cli, write

import mfsim
from mfsim._runner.timings import PHASES, Timings, process_age

ROOT = Path(__file__).resolve().parents[1]


def test_timings_are_printed_and_recorded(tmp_path, capsys):
    path = write(tmp_path, "tiny", TINY, with_name=False)
    code, out, err = run_cli(["run", str(path), "--quiet", "--timings"], capsys, tmp_path)
    assert code == 0, err
    printed = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
               if line.startswith("  ") and line.split()[0] in (*PHASES, "other", "total")}
    assert {"plan", "build", "compile", "solve", "store", "figures", "exit", "total"} <= set(
        printed), out
    assert "beyond compile + solve" in out
    record = json.loads((tmp_path / "runs" / "tiny" / "provenance.json").read_text())["timings"]
    assert {"plan", "build", "compile", "solve", "store", "figures", "total"} <= set(record)
    phases = [v for k, v in record.items() if k != "total"]
    assert all(v >= 0 for v in phases)
    assert sum(phases) <= record["total"] + 1e-2  # phases do not overlap
    assert record["solve"] + record["compile"] > 0


def test_a_timings_clock_adds_its_phases():
    t = Timings()
    with t.phase("build"):
        pass
    t.add("build", 0.5)
    t.solves(wall=2.0, compile_time=0.5, stored=0.25)
    assert t.seconds["build"] >= 0.5
    assert (t.seconds["compile"], t.seconds["solve"], t.seconds["store"]) == (0.5, 1.25, 0.25)
    assert list(t.record())[-1] == "total" and 0 < process_age() < 1e6


SWEEP = {"name": "seeds", "task": {"kind": "teacher", "d": 3, "n_train": 8, "n_test": 8},
         "system": {"kind": "two_layer", "width": 4, "activation": "tanh"},
         "solver": {"name": "euler", "dt": 0.05, "t1": 1.0}, "save": {"n": 5},
         "monitors": [{"name": "train_loss"}], "sweep": {"grid": {"seed": [0, 1, 2]}}}


def test_a_run_without_a_directory_writes_no_files_and_equals_one_with(tmp_path,
                                                                        monkeypatch):
    import mfsim._runner.assemble as assemble
    import mfsim._store.points as points

    written = []
    monkeypatch.setattr(assemble, "write_point", lambda *a: written.append(a))
    for name in ("write_dataset", "write_csv", "write_json"):  # results, summary, provenance
        monkeypatch.setattr(points, name, lambda *a, name=name: written.append(name))
    kept = mfsim.run(SWEEP)
    assert written == []
    monkeypatch.undo()
    on_disk = mfsim.run(SWEEP, out=tmp_path / "run")
    assert len(list((tmp_path / "run" / "points").glob("*.nc"))) == 3
    np.testing.assert_array_equal(kept["train_loss"].values, on_disk["train_loss"].values)
    assert kept["point"].dtype == on_disk["point"].dtype == np.int64


@pytest.mark.parametrize("argv,status", [(["--version"], 0), (["run", "missing.toml"], 2)])
def test_the_command_exits_with_its_status(tmp_path, argv, status):
    proc = subprocess.run([sys.executable, "-c", "import mfsim_entry; mfsim_entry.entry()",
                           *argv], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path)})
    assert proc.returncode == status, proc.stderr
    assert (proc.stdout + proc.stderr).strip()  # what it said was flushed before leaving
