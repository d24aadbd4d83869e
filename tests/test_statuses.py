"""Issue 34, U1 and U2: a rerun of a finished run reads it back and solves
nothing ("already complete"), an interrupted one says "resumed"; every solve
has its own status, a point fails only when its network's solve does, and
the summary, ``mfsim status`` and the exit code say which solve failed.

The catapult scenario, shrunk (width 256, 16 samples, 40 steps): at
learning rate 1 everything trains, at 4 (2/lambda0 < eta < 4/lambda0) the
network catapults while its linearized twin diverges, at 8 the network
itself diverges."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

import mfsim
from mfsim.cli import main

SHRUNK = ["--set", "system.width=256", "--set", "task.n_train=16", "--set", "solver.steps=40",
          "--set", "save.n=21", "--set", "compare.quadratic=false"]
SCENARIO = str(Path(__file__).resolve().parents[1] / "scenarios" / "catapult.toml")
PROGRESS = re.compile(r"^mfsim: .*: \[\d+ s\] ")  # a progress line (not a terminal: lines)


def _run(out, rates, capsys, *extra, scenario=SCENARIO):
    code = main(["run", scenario, "--out", str(out), *SHRUNK,
                 "--set", f"solver.learning_rate={rates}", *extra])
    stdout, stderr = capsys.readouterr()
    said = [line for line in stderr.splitlines() if not PROGRESS.match(line)]
    return code, stdout, "".join(line + "\n" for line in said)


def test_a_twin_that_diverges_is_a_result_and_a_rerun_reads_back(tmp_path, capsys):
    """One run (the scenario without its sweep) at learning rate 4: the
    network succeeds, its linearized twin diverges. Exit 0; the summary says
    where the twin stopped; a rerun solves nothing and says so; mfsim status
    gives each solve's status."""
    text = Path(SCENARIO).read_text()
    one = tmp_path / "one.toml"
    one.write_text(text[:text.index("[sweep.grid]")])
    out = tmp_path / "one"
    code, stdout, stderr = _run(out, "4", capsys, scenario=str(one))
    assert code == 0 and stderr == ""
    assert "; linearized twin: diverged at step 22" in stdout
    ds = mfsim.open_results(out)
    assert ds.attrs["status"] == "success" and ds.attrs["lin_status"].startswith("diverged")
    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    code, again, stderr = _run(out, "4", capsys, scenario=str(one))
    assert code == 0 and stderr == ""
    assert f"already complete in {out}/: read back in" in again
    assert "nothing solved" in again and "linearized twin: diverged at step 22" in again
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == written  # nothing written
    assert main(["status", str(out)]) == 0
    status = capsys.readouterr().out
    assert status.startswith(f"{out}: one run, complete; network: success at t = ")
    assert "; linearized twin: diverged (" in status


@pytest.mark.slow  # 5-10 s: in CI's slow set, keeping the README's command under 10 min
def test_a_sweep_fails_where_its_network_fails(tmp_path, capsys):
    """Learning rates 1, 4, 8: exit 3 for the network diverging at 8 alone;
    the twin's divergence at 4 and 8 is reported apart, by the run, its rerun
    (already complete) and mfsim status alike."""
    out = tmp_path / "sweep"
    code, stdout, stderr = _run(out, "[1,4,8]", capsys)
    assert code == 3
    assert stderr.splitlines() == [
        f"mfsim: {SCENARIO}: point solver.learning_rate=8: the network's solve stopped at "
        "step 7 (diverged (|state| above divergence x its initial scale))",
        f"mfsim: {SCENARIO}: the network failed at 1 of 3 points; all results kept in {out}"]
    said = ("network: success at 2 of 3 points, diverged at 1 of 3 points "
            "([solver.learning_rate=8] step 7); linearized twin: diverged at 2 of 3 points "
            "([solver.learning_rate=4] step 22, [solver.learning_rate=8] step 12)")
    assert stdout.startswith(f"{SCENARIO}: 3 points done in ") and said in stdout
    r = mfsim.open_results(out)
    assert [s.split(" (")[0] for s in r["status"].values] == ["success", "success", "diverged"]
    assert [s.split(" (")[0] for s in r["lin_status"].values] == [
        "success", "diverged", "diverged"]
    code, again, stderr = _run(out, "[1,4,8]", capsys)
    assert code == 3 and "the network failed at 1 of 3 points" in stderr
    assert again.startswith(f"{SCENARIO}: already complete in {out}/: 3 points read back in")
    assert said in again
    assert main(["status", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{out}: 3 points: 2 done, 1 failed (the network's solve), 0 missing",
        "  failed: [solver.learning_rate=8]",
        "  linearized twin failed at 2 of the points written: [solver.learning_rate=4], "
        "[solver.learning_rate=8]"]


def test_an_interrupted_sweep_says_resumed_and_a_finished_one_already_complete(
        tmp_path, capsys):
    """A point file removed (as if killed before it was written) is solved
    again and the run says "resumed"; run once more, nothing is solved."""
    out = tmp_path / "sweep"
    assert _run(out, "[1,2]", capsys)[0] == 0
    points = sorted((out / "points").glob("*.nc"))
    os.remove(points[1])
    os.remove(out / "provenance.json")  # the run never finished
    code, stdout, _ = _run(out, "[1,2]", capsys)
    assert code == 0
    assert ", 1 of them read back from an interrupted run (resumed)" in stdout
    result = mfsim.run_scenario(SCENARIO, out=out, overrides={
        "system.width": 256, "task.n_train": 16, "solver.steps": 40, "save.n": 21,
        "compare.quadratic": False, "solver.learning_rate": [1, 2]})
    assert result.complete and result.trajectories == (None, None)
    np.testing.assert_array_equal(result.dataset["train_loss"].values,
                                  mfsim.open_results(out)["train_loss"].values)


def test_force_solves_a_finished_run_again(tmp_path, capsys):
    out = tmp_path / "one"
    assert _run(out, "[1]", capsys)[0] == 0
    code, stdout, _ = _run(out, "[1]", capsys, "--force")
    assert code == 0 and "already complete" not in stdout and "done in" in stdout
