"""Issue 38: ``mfsim submit --executor slurm`` against a real SLURM controller
(tests/slurm_cluster.py: munged, slurmctld and slurmd started as root in a
temporary directory, stopped by PID). Skipped with one line where that
cannot be done (not root, or no ``slurm-wlm``/``munge``: CI installs them).

- a sweep as a job array and a dependent merge job equals ``mfsim run`` bit
  for bit;
- a task requeued mid-run (``scontrol requeue``) resumes from the points it
  wrote, and the results are the same bits;
- ``scancel`` of one task: the merge (``afterany``) exits 4 naming the
  missing points, ``mfsim status`` names them, and ``mfsim submit
  --resubmit-missing`` submits only their shard and completes the run;
- a task that reaches its time limit is requeued through submitit's
  checkpoint and completes;
- a task that raises leaves the other points and says why in ``mfsim status``;
- ``--gpus-per-task``, ``--partition``, ``--account`` and ``--qos`` are in
  the script SLURM stored;
- the README's cluster example, run exactly as printed;
- the cluster stops and leaves no process behind.

SLURM holds a requeued job for a fixed two minutes before it may start
again; the tests release it at once (``scontrol update StartTime=now``), as
a user could. The tests run by themselves in CI (``-m slurm``, one process).
"""

import hashlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, alive, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MFSIM = str(BIN / "mfsim")

# 12 points in 4 groups of 3 (one compiled program each, by width), each
# group a few seconds: points appear on disk one group at a time
SWEEP = """
name = "slurm_sweep"
dtype = "float64"
[task]
kind = "teacher"
d = 3
n_train = 16
n_test = 16
[system]
kind = "two_layer"
width = 8
activation = "tanh"
[solver]
name = "euler"
dt = 0.01
t1 = {t1}
[save]
n = 6
[output]
figures = []
[[monitors]]
name = "train_loss"
[[monitors]]
name = "test_outputs"
[compare]
linearized = true
[sweep.grid]
"system.width" = {widths}
seed = [0, 1, 2]
"""


def sweep(t1=100.0, widths=(8, 9, 10, 11)) -> str:
    return SWEEP.format(t1=t1, widths=list(widths))


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    import submitit  # noqa: F401 (the [cluster] extra: installed by the dev extras)

    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        stopped = cluster.stop()
    assert [pid for pid in stopped if alive(pid)] == [], "the test SLURM left processes"


def submit(cluster, cwd, *args) -> subprocess.CompletedProcess:
    proc = subprocess.run([MFSIM, "submit", *map(str, args)], cwd=cwd, env=cluster.env,
                          capture_output=True, text=True, timeout=300)
    return proc


def job_ids(stdout: str) -> tuple[str, str]:
    match = re.search(r"submitted job array (\d+) \(\d+ shards?\) and merge job (\d+)", stdout)
    assert match, stdout
    return match[1], match[2]


def mfsim_run(cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([MFSIM, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_same_files(a: Path, b: Path) -> None:
    for name in ("results.nc", "summary.csv"):
        assert digest(a / name) == digest(b / name), name


def wait_for_points(run: Path, timeout: float = 300) -> int:
    """Wait until a point is written into ``run``; how many there are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = len(list((run / "points").glob("p*.nc"))) if (run / "points").is_dir() else 0
        if written:
            return written
        time.sleep(0.1)
    return 0


def logs(run_dir: Path, job: str) -> str:
    return "".join(p.read_text(errors="replace")
                   for p in sorted((run_dir / "submitit").glob(f"{job}_*log.*")))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweeps in one process (mfsim run): what the cluster must equal."""
    tmp = tmp_path_factory.mktemp("reference")
    (tmp / "sweep.toml").write_text(sweep())
    proc = mfsim_run(tmp, "run", "sweep.toml", "--out", "one", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return tmp / "one"


def test_array_and_dependent_merge_equal_mfsim_run_bitwise(slurm, reference, tmp_path):
    (tmp_path / "sweep.toml").write_text(sweep())
    proc = submit(slurm, tmp_path, "sweep.toml", "--executor", "slurm", "--shards", "3",
                  "--out", "run", "--time", "10")
    assert proc.returncode == 0, proc.stderr
    array, merge = job_ids(proc.stdout)
    states = slurm.wait([array, merge], timeout=300)
    assert set(states.values()) == {"COMPLETED"}, (states, logs(tmp_path / "run", array))
    assert len(states) == 4  # three tasks and the merge
    assert_same_files(reference, tmp_path / "run")
    assert "merged 12 points" in logs(tmp_path / "run", merge) or (
        tmp_path / "run" / "results.nc").is_file()


def test_a_requeued_task_resumes_from_what_it_wrote(slurm, reference, tmp_path):
    (tmp_path / "sweep.toml").write_text(sweep())
    run = tmp_path / "run"
    proc = submit(slurm, tmp_path, "sweep.toml", "--executor", "slurm", "--shards", "2",
                  "--out", "run", "--time", "10")
    assert proc.returncode == 0, proc.stderr
    array, merge = job_ids(proc.stdout)
    task = f"{array}_0"
    assert 0 < wait_for_points(run) < 12  # mid-run
    slurm.run("scontrol", "requeue", task)
    states = slurm.wait([array, merge], timeout=300)
    assert set(states.values()) == {"COMPLETED"}, (states, logs(run, array))
    assert slurm.show(task)["Restarts"] == "1"
    text = logs(run, array)
    assert re.search(r"[1-9]\d* read back from an interrupted run", text), text
    assert_same_files(reference, run)


def test_a_cancelled_task_is_named_missing_and_resubmitted(slurm, tmp_path):
    # 12 points in 4 groups of ~10 s (300,000 steps), 2 per task, one task at a
    # time: the first is cancelled once its first group is written (SLURM
    # gives it ~7 s to stop: less than its second group needs)
    (tmp_path / "sweep.toml").write_text(sweep(t1=3000.0))
    run = tmp_path / "run"
    proc = submit(slurm, tmp_path, "sweep.toml", "--executor", "slurm", "--shards", "2",
                  "--out", "run", "--array-parallelism", "1", "--time", "10")
    assert proc.returncode == 0, proc.stderr
    array, merge = job_ids(proc.stdout)
    assert 0 < wait_for_points(run) < 6
    slurm.run("scancel", f"{array}_0")
    states = slurm.wait([array, merge], timeout=300)
    assert states[f"{array}_0"] == "CANCELLED" and states[f"{array}_1"] == "COMPLETED", states
    missing = 12 - len(list((run / "points").glob("p*.nc")))
    assert 0 < missing < 6
    # the merge ran after the array (afterany) and said what is missing, exit 4
    assert states[merge] == "FAILED" and slurm.show(merge)["ExitCode"] == "4:0", states
    assert f"{missing} of 12 points missing" in logs(run, merge)
    status = mfsim_run(tmp_path, "status", "run")
    assert status.returncode == 0 and f"{missing} missing" in status.stdout, status.stdout
    assert "missing: " in status.stdout and "--resubmit-missing run" in status.stdout
    # only the cancelled task's shard goes again, with the first submission's options
    proc = submit(slurm, tmp_path, "--resubmit-missing", "run")
    assert proc.returncode == 0, proc.stderr
    array2, merge2 = job_ids(proc.stdout)
    assert "(1 shard)" in proc.stdout
    states = slurm.wait([array2, merge2], timeout=300)
    assert set(states.values()) == {"COMPLETED"}, (states, logs(run, array2))
    import pickle

    task = pickle.loads((run / "submitit" / f"{array2}_submitted.pkl").read_bytes()).function
    assert (task.index, task.count) == (0, 2) and "--array" not in slurm.script(array2)
    status = mfsim_run(tmp_path, "status", "run")
    assert "12 points: 12 done, 0 failed" in status.stdout, status.stdout
    assert (run / "results.nc").is_file() and not logs(run, merge2).count("missing")
    # nothing missing now: nothing to submit
    proc = submit(slurm, tmp_path, "--resubmit-missing", "run")
    assert proc.returncode == 0 and "no point is missing" in proc.stdout, proc.stderr


def test_a_task_at_its_time_limit_is_requeued_and_completes(slurm, tmp_path):
    # 14 groups of ~2 s (60,000 steps) and their compilations (~1.5 s), one
    # task with a 1-minute limit: SLURM warns it (SIGUSR2) 15-45 s in (a
    # quarter of the limit before it, checked every 30 s), submitit
    # checkpoints and requeues it, and each run resumes from the points written
    widths = tuple(range(8, 22))
    (tmp_path / "sweep.toml").write_text(sweep(t1=600.0, widths=widths))
    run = tmp_path / "run"
    proc = submit(slurm, tmp_path, "sweep.toml", "--executor", "slurm", "--shards", "1",
                  "--out", "run", "--time", "1", "--requeues", "8")
    assert proc.returncode == 0, proc.stderr
    array, merge = job_ids(proc.stdout)
    script = slurm.script(array)  # a one-task array: job `array`
    assert "#SBATCH --time=1" in script and "#SBATCH --signal=USR2@15" in script
    states = slurm.wait([array, merge], timeout=540)
    text = logs(run, array)
    assert set(states.values()) == {"COMPLETED"}, (states, text)
    assert "this job is timed-out" in text and int(slurm.show(array)["Restarts"]) >= 1
    assert re.search(r"[1-9]\d* read back from an interrupted run", text), text
    (tmp_path / "one.toml").write_text(sweep(t1=600.0, widths=widths))
    proc = mfsim_run(tmp_path, "run", "one.toml", "--out", "one", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert_same_files(tmp_path / "one", run)


PLUGIN = """
import sys
from typing import Literal

sys.path.insert(0, {tests!r})
import mfsim
from test_extending import QuadraticConfig, QuadraticParticles, build


class Fragile(QuadraticParticles):
    def objective(self, state):
        if self.width == 5:
            raise RuntimeError("the fragile system has no objective at width 5")
        return super().objective(state)


class FragileConfig(QuadraticConfig):
    kind: Literal["fragile_particles"] = "fragile_particles"


def build_fragile(cfg, data):
    q = build(cfg, data)
    return Fragile(center=q.center, curvature=q.curvature, width=q.width)


mfsim.register_entries(mfsim.SystemEntry(FragileConfig, Fragile, build_fragile,
                                         default_monitors=("train_loss",)))
"""

FRAGILE = """
name = "fragile"
[system]
kind = "fragile_particles"
[solver]
t1 = 1.0
[save]
n = 3
[[monitors]]
name = "train_loss"
[output]
figures = []
[sweep.grid]
"system.width" = [3, 4, 5]
"""


def test_a_task_that_raises_leaves_the_other_points_and_a_clear_status(slurm, tmp_path):
    (tmp_path / "fragile.py").write_text(PLUGIN.format(tests=str(Path(__file__).parent)))
    (tmp_path / "fragile.toml").write_text(FRAGILE)
    run = tmp_path / "run"
    proc = submit(slurm, tmp_path, "fragile.toml", "--executor", "slurm", "--shards", "3",
                  "--out", "run", "--plugin", "fragile.py", "--time", "10")
    assert proc.returncode == 0, proc.stderr
    array, merge = job_ids(proc.stdout)
    states = slurm.wait([array, merge], timeout=300)
    assert sorted(states[f"{array}_{i}"] for i in range(3)) == ["COMPLETED", "COMPLETED",
                                                               "FAILED"], states
    assert slurm.show(merge)["ExitCode"] == "4:0"
    status = mfsim_run(tmp_path, "status", "run", "--plugin", "fragile.py")
    out = status.stdout
    assert status.returncode == 0 and "3 points: 2 done, 0 failed (the network's solve), " \
        "1 missing" in out, out
    stopped = [line for line in out.splitlines() if "stopped:" in line]
    assert len(stopped) == 1 and "RuntimeError: the fragile system has no objective at " \
        "width 5" in stopped[0] and f"(SLURM job {array}_" in stopped[0], out
    assert len(list((run / "points").glob("p*.nc"))) == 2


def test_cluster_options_reach_the_script_slurm_stored(slurm, tmp_path):
    (tmp_path / "sweep.toml").write_text(sweep(t1=1.0))
    proc = submit(slurm, tmp_path, "sweep.toml", "--executor", "slurm", "--shards", "2",
                  "--out", "run", "--partition", "gpu", "--gpus-per-task", "1",
                  "--account", "theory", "--qos", "long", "--cpus-per-task", "1",
                  "--time", "7")
    assert proc.returncode == 0, proc.stderr
    array, merge = job_ids(proc.stdout)
    task = slurm.show(f"{array}_0")
    assert task["Partition"] == "gpu" and task["Account"] == "theory", task
    assert task["TresPerTask"] == "gres:gpu:1" and task["TimeLimit"] == "00:07:00", task
    script = slurm.script(f"{array}_0")
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-task=1",
                 "#SBATCH --account=theory", "#SBATCH --qos=long", "#SBATCH --time=7",
                 "#SBATCH --ntasks-per-node=1", "#SBATCH --array=0-1"):
        assert line in script, (line, script)
    merge_script = slurm.script(merge)
    assert f"#SBATCH --dependency=afterany:{array}" in merge_script
    assert "--gpus-per-task" not in merge_script and "#SBATCH --account=theory" in merge_script
    states = slurm.wait([array, merge], timeout=300)  # and the tasks ran on the stand-in GPUs
    assert set(states.values()) == {"COMPLETED"}, (states, logs(tmp_path / "run", array))


def readme_cluster_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("- **SLURM through submitit**", 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_readmes_cluster_example_runs_as_printed(slurm, tmp_path):
    commands = readme_cluster_example()
    assert "mfsim submit" in commands and "--executor slurm" in commands
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the README's `source .venv/...`
    env = dict(slurm.env, PATH=f"{BIN}:{slurm.env['PATH']}")
    proc = subprocess.run(["bash", "-e", "-c", commands], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    array, merge = job_ids(proc.stdout)
    assert "points:" in proc.stdout  # mfsim status answered while it runs
    states = slurm.wait([array, merge], timeout=540)
    run = next(p.parent for p in tmp_path.glob("runs/*/scenario.toml"))
    assert set(states.values()) == {"COMPLETED"}, (states, logs(run, array))
    status = mfsim_run(tmp_path, "status", str(run))
    assert re.search(r"(\d+) points: \1 done, 0 failed", status.stdout), status.stdout
    assert (run / "results.nc").is_file() and list(run.glob("*.png"))


def test_the_cluster_stops_and_leaves_no_process(tmp_path):
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    cluster = SlurmCluster(tmp_path / "cluster")
    try:
        cluster.start()
        job = cluster.run("sbatch", "--parsable", "--wrap", "sleep 300",
                          "--output", "/dev/null").stdout.strip()
        deadline = time.monotonic() + 60
        while cluster.jobs().get(job, ("",))[0] != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert cluster.jobs()[job][0] == "RUNNING"
        before = cluster.processes()
        assert len(before) > 3  # munged, slurmctld, slurmd and the job's processes
    finally:
        stopped = cluster.stop()
    assert set(before) <= set(stopped)
    assert [pid for pid in stopped if alive(pid)] == []
