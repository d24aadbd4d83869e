"""Issue 21: a sweep spread over worker processes, shards and submitit gives
the results of one process, bit for bit (D1); a shard or worker killed at a
random moment and rerun leaves the merged results bitwise those of an
uninterrupted run (D2); ``mfsim submit --executor slurm`` writes submitit's
sbatch files (D4, checked with stand-in sbatch/srun commands); shards balance
and respect batch groups; merge and status report missing points."""

import hashlib
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import diffrax
import pytest

import mfsim
from mfsim._runner.shards import Shard, partition
from mfsim._solve.batching import Job

MFSIM = str(Path(sys.executable).with_name("mfsim"))

# 12 small points (a linearized twin each, a reference run): each point's solve
# is fixed-step, so the sweep is batched, in two groups of 6 (by width): two
# workers take one group each, three shards split them (4 + 2 points)
SWEEP = """
name = "cluster_sweep"
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
dt = 0.05
t1 = 2.0
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
seed = [0, 1, 2, 3, 4, 5]
"system.width" = [8, 16]
[sweep.reference]
"system.width" = 64
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mfsim_cmd(*args, cwd) -> subprocess.Popen:
    return subprocess.Popen([MFSIM, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The sweep in this process: the results every other way must equal."""
    tmp = tmp_path_factory.mktemp("cluster")
    (tmp / "sweep.toml").write_text(SWEEP)
    mfsim.run_scenario(tmp / "sweep.toml", out=tmp / "one")
    return tmp


def assert_same_files(a: Path, b: Path) -> None:
    for name in ("results.nc", "summary.csv"):
        assert digest(a / name) == digest(b / name), name


@pytest.mark.slow  # ~70 s: run by CI after the README's command
def test_workers_shards_and_local_submit_equal_one_process_bitwise(one_process):
    tmp = one_process
    # (b) two worker processes
    proc = mfsim_cmd("run", "sweep.toml", "--out", "workers", "--workers", "2", "--quiet",
                     cwd=tmp)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert_same_files(tmp / "one", tmp / "workers")
    # (c) three shards at once into one directory, then merge
    procs = [mfsim_cmd("run", "sweep.toml", "--out", "shards", "--shard", f"{i}/3", cwd=tmp)
             for i in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1] for o in outs]
    assert "mfsim merge" in outs[0][0]
    assert not (tmp / "shards" / "results.nc").exists()  # shards do not combine
    assert len(list((tmp / "shards" / "points").glob("p*.nc"))) == 12
    merge = mfsim_cmd("merge", "shards", cwd=tmp)
    out, err = merge.communicate(timeout=300)
    assert merge.returncode == 0, err
    assert "merged 12 points" in out
    assert_same_files(tmp / "one", tmp / "shards")
    # merging again changes nothing
    assert mfsim_cmd("merge", "shards", cwd=tmp).wait(timeout=300) == 0
    assert_same_files(tmp / "one", tmp / "shards")
    # the shards' manifests were folded into one, and it names every file written
    assert not list((tmp / "shards").glob(".mfsim-manifest-*"))
    # (d) submitit's local executor
    proc = mfsim_cmd("submit", "sweep.toml", "--executor", "local", "--shards", "3",
                     "--out", "submitted", cwd=tmp)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert_same_files(tmp / "one", tmp / "submitted")
    # (e) a point lost: --resubmit-missing runs only its shard again (local executor)
    lost = sorted((tmp / "submitted" / "points").glob("p*.nc"))[-1]
    lost.unlink()
    (tmp / "submitted" / "results.nc").unlink()
    proc = mfsim_cmd("submit", "--resubmit-missing", "submitted", cwd=tmp)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "1 local shard done and merged" in out, out
    assert_same_files(tmp / "one", tmp / "submitted")
    proc = mfsim_cmd("submit", "--resubmit-missing", "submitted", cwd=tmp)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "no point is missing" in out, err


@pytest.mark.slow  # ~40 s: run by CI after the README's command
def test_killed_shard_and_worker_resume_to_the_same_bits(one_process, tmp_path):
    seed = random.randrange(2**32)
    print(f"kill moments drawn with random.Random({seed})")  # shown if the test fails
    rng = random.Random(seed)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    # a shard, killed at a random moment while the other shard runs
    a = mfsim_cmd("run", "sweep.toml", "--out", "run", "--shard", "0/2", cwd=tmp_path)
    b = mfsim_cmd("run", "sweep.toml", "--out", "run", "--shard", "1/2", cwd=tmp_path)
    time.sleep(rng.uniform(1.0, 6.0))
    a.kill()
    assert a.wait() in (-signal.SIGKILL, 0)
    assert b.wait(timeout=300) == 0, b.communicate()[1]
    status = mfsim_cmd("status", "run", cwd=tmp_path)
    out, _ = status.communicate(timeout=120)
    assert "12 points" in out
    # rerun the killed shard, merge
    a = mfsim_cmd("run", "sweep.toml", "--out", "run", "--shard", "0/2", cwd=tmp_path)
    assert a.wait(timeout=300) == 0, a.communicate()[1]
    assert mfsim_cmd("merge", "run", cwd=tmp_path).wait(timeout=300) == 0
    assert_same_files(one_process / "one", tmp_path / "run")
    # a worker killed with SIGKILL: the parent reports it; rerunning resumes
    w = mfsim_cmd("run", "sweep.toml", "--out", "workers", "--workers", "2", "--quiet",
                  cwd=tmp_path)
    points = tmp_path / "workers" / "points"
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and w.poll() is None:
        children = _children(w.pid)
        if children:
            time.sleep(rng.uniform(0.0, 4.0))
            victim = rng.choice(children)
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.05)
    _, err = w.communicate(timeout=300)
    if victim is not None and w.returncode != 0:  # the kill landed before the worker finished
        assert w.returncode == 2 and "exited with status -9" in err, err
    done = len(list(points.glob("p*.nc"))) if points.is_dir() else 0
    w = mfsim_cmd("run", "sweep.toml", "--out", "workers", "--workers", "2", "--quiet",
                  cwd=tmp_path)
    _, err = w.communicate(timeout=300)
    assert w.returncode == 0, err
    assert_same_files(one_process / "one", tmp_path / "workers")
    print(f"worker killed: {victim is not None}; {done} points were on disk before the rerun")


def _children(pid: int) -> list[int]:
    """The worker processes of the parent ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


FAKE_SBATCH = """#!/bin/sh
# stands in for SLURM's sbatch: keeps the script, answers with a job id
n=$(cat "$FAKE_SLURM/count" 2>/dev/null || echo 4241)
n=$((n + 1))
echo $n > "$FAKE_SLURM/count"
cp "$1" "$FAKE_SLURM/job-$n.sh"
echo "Submitted batch job $n"
"""


@pytest.mark.slow  # ~10 s: run by CI after the README's command
def test_submit_to_slurm_writes_submitits_job_array_and_a_dependent_merge(tmp_path):
    pytest.importorskip("submitit")
    from submitit.slurm.slurm import _make_sbatch_string

    fake = tmp_path / "bin"
    fake.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("srun", "#!/bin/sh\nexit 0\n")):
        (fake / name).write_text(text)
        (fake / name).chmod((fake / name).stat().st_mode | stat.S_IXUSR)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", FAKE_SLURM=str(tmp_path))
    proc = subprocess.run(
        [MFSIM, "submit", "sweep.toml", "--executor", "slurm", "--shards", "4", "--out", "run",
         "--partition", "gpu", "--gpus-per-task", "1", "--array-parallelism", "2",
         "--time", "90", "--setup", "source venv/bin/activate"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "submitted job array 4242 (4 shards) and merge job 4243" in proc.stdout
    array, merge = (tmp_path / "job-4242.sh").read_text(), (tmp_path / "job-4243.sh").read_text()
    folder = tmp_path / "run" / "submitit"
    interpreter = Path(MFSIM).read_text().splitlines()[0].removeprefix("#!")  # the command's
    python = f"{interpreter} -u -m submitit.core._submit {folder}"
    # the array is exactly what submitit writes for these parameters
    expected = _make_sbatch_string(
        command=python, folder=folder, job_name="mfsim-cluster_sweep", partition="gpu",
        time=90, gpus_per_task=1, array_parallelism=2, map_count=4, signal_delay_s=120,
        ntasks_per_node=1, setup=["source venv/bin/activate"])
    assert array == expected
    for line in ("#SBATCH --array=0-3%2", "#SBATCH --partition=gpu",
                 "#SBATCH --gpus-per-task=1", "#SBATCH --time=90",
                 "#SBATCH --signal=USR2@120", "#SBATCH --ntasks-per-node=1",
                 "source venv/bin/activate"):
        assert line in array, line
    assert "#SBATCH --dependency=afterany:4242" in merge
    assert "--gpus-per-task" not in merge and "--array" not in merge
    # the directory is ready for the tasks: the resolved scenario is in it
    assert (tmp_path / "run" / "scenario.toml").is_file()
    # each task is shard i of 4 of that directory, requeued as is on preemption
    import pickle

    tasks = sorted((pickle.loads(p.read_bytes()).function for p in folder.glob("*_submitted.pkl")
                    if "4242_" in p.name), key=lambda t: t.index)
    assert [(t.index, t.count, t.run_dir) for t in tasks] == [
        (i, 4, str((tmp_path / "run").resolve())) for i in range(4)]
    assert tasks[0].checkpoint().function is tasks[0]
    assert all(t.compile_cache for t in tasks)
    # issue 34 item 7: the run options mean what they mean for mfsim run
    proc = subprocess.run(
        [MFSIM, "submit", "sweep.toml", "--executor", "slurm", "--shards", "2", "--out", "run2",
         "--quiet", "--no-compile-cache"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stderr
    tasks = [pickle.loads(p.read_bytes()).function
             for p in (tmp_path / "run2" / "submitit").glob("*_submitted.pkl")]
    assert len(tasks) == 3 and not any(t.compile_cache for t in tasks)  # 2 shards, the merge


def test_shards_balance_points_and_keep_batch_groups_whole():
    jobs = []
    flat = 0
    for group, size in enumerate([5, 5, 2, 9]):
        for _ in range(size):  # a group: jobs of one structure (here: one width)
            jobs.append(_job(flat, width=4 + group))
            flat += 1
    jobs.append(_job(0, width=99, prefix="lin_"))  # twins follow their point
    parts = partition(jobs, 3)
    assert sorted(f for part in parts for f in part) == list(range(21))
    sizes = sorted(map(len, parts))
    assert sizes == [7, 7, 7]  # fair share 7: the group of 9 is cut in 7 + 2
    groups = [set(range(0, 5)), set(range(5, 10)), set(range(10, 12))]
    for g in groups:  # smaller than a fair share: never split
        assert sum(bool(g & set(part)) for part in parts) == 1
    assert partition(jobs, 3) == parts  # deterministic
    assert partition(jobs, 1) == [list(range(21))]
    assert Shard.parse("2/4") == Shard(2, 4)
    for bad in ("4/4", "-1/2", "a/b", "1"):
        with pytest.raises(mfsim.MfsimError, match="--shard"):
            Shard.parse(bad)


def _job(flat, width, prefix=""):
    import jax.numpy as jnp

    x, y = jnp.zeros((4, 2)), jnp.zeros(4)
    system = mfsim.TwoLayerNetwork(x, y, width=width)
    import jax

    settings = mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0, dt=0.1, n_save=2)
    return Job((flat, prefix), system, system.init(jax.random.key(0)), (), settings)


@pytest.mark.slow  # ~16 s: run by CI after the README's command
def test_merge_names_missing_points_and_status_counts(tmp_path):
    text = SWEEP.replace('seed = [0, 1, 2, 3, 4, 5]', 'seed = [0, 1]')
    (tmp_path / "s.toml").write_text(text)
    result = mfsim.run_scenario(tmp_path / "s.toml", out=tmp_path / "run", shard=Shard(0, 2))
    assert isinstance(result, mfsim.ShardResult) and len(result.labels) == 2
    st = mfsim.run_status(tmp_path / "run")
    assert len(st.done) == 2 and len(st.missing) == 2 and not st.failed
    merged = mfsim.merge(tmp_path / "run")
    assert set(merged.missing) == set(st.missing)
    ds = merged.result.dataset
    assert sorted(ds["status"].values.ravel().tolist()) == ["missing"] * 2 + ["success"] * 2
    missing = ds["status"].values == "missing"
    assert ds["train_loss"].isel(t=-1).isnull().values[missing].all()
    # the command says so, with exit status 4
    proc = subprocess.run([MFSIM, "merge", "run"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 4 and "2 of 4 points missing" in proc.stderr, proc.stderr
    # the other shard completes it
    mfsim.run_scenario(tmp_path / "s.toml", out=tmp_path / "run", shard=Shard(1, 2))
    assert not mfsim.merge(tmp_path / "run").missing


def test_a_whole_run_refuses_a_directory_shards_hold(tmp_path):
    from mfsim._runner.lock import run_lock

    with run_lock(tmp_path, shared=True) as first:
        assert first.exclusive
        first.share()
        with run_lock(tmp_path, shared=True, wait=0.5) as second:
            assert not second.exclusive  # shards share the directory
        with pytest.raises(mfsim.MfsimError, match="another mfsim run"):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released
        with pytest.raises(mfsim.MfsimError, match="another mfsim run"):
            with run_lock(tmp_path, shared=True, wait=0.3):
                pass


def test_workers_get_one_gpu_each_or_single_threaded_cpu_kernels(monkeypatch):
    from mfsim._runner.workers import worker_env

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    envs = [worker_env(i, ["0", "1"]) for i in range(3)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "0"]
    cpu = worker_env(0, [])
    assert "CUDA_VISIBLE_DEVICES" not in cpu or cpu["CUDA_VISIBLE_DEVICES"] == os.environ.get(
        "CUDA_VISIBLE_DEVICES")
    assert "intra_op_parallelism_threads=1" in cpu["XLA_FLAGS"]
    monkeypatch.setenv("XLA_FLAGS", "--mine")
    assert worker_env(0, [])["XLA_FLAGS"] == "--mine"  # the user's flags win


@pytest.mark.slow  # ~10 s: run by CI after the README's command
def test_shard_and_workers_refuse_a_single_run(tmp_path):
    (tmp_path / "one.toml").write_text(SWEEP.split("[sweep.grid]")[0])
    for option in (["--shard", "0/2"], ["--workers", "2"]):
        proc = subprocess.run([MFSIM, "run", "one.toml", *option], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "one run, not a sweep" in proc.stderr
        assert not (tmp_path / "runs").exists()


@pytest.mark.slow  # ~40 s: run by CI after the README's command
def test_sigterm_stops_every_worker_and_the_same_command_resumes(one_process, tmp_path):
    (tmp_path / "sweep.toml").write_text(SWEEP)
    w = mfsim_cmd("run", "sweep.toml", "--out", "run", "--workers", "2", cwd=tmp_path)
    points = tmp_path / "run" / "points"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and w.poll() is None and not (
            points.is_dir() and list(points.glob("p*.nc"))):
        time.sleep(0.02)
    children = _children(w.pid)
    w.send_signal(signal.SIGTERM)
    _, err = w.communicate(timeout=300)
    if w.returncode == 130:  # stopped before the end (else it had finished: nothing to test)
        assert "every worker stopped" in err.strip().splitlines()[-1], err
        assert all(not Path(f"/proc/{pid}").exists() for pid in children)
        assert not (tmp_path / "run" / "results.nc").exists()
    else:
        assert w.returncode == 0, err
    w = mfsim_cmd("run", "sweep.toml", "--out", "run", "--workers", "2", "--quiet",
                  cwd=tmp_path)
    _, err = w.communicate(timeout=300)
    assert w.returncode == 0, err
    assert_same_files(one_process / "one", tmp_path / "run")


def test_submit_refuses_what_it_cannot_do_in_one_line(tmp_path, capsys, monkeypatch):
    from mfsim.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    run = tmp_path / "run"
    run.mkdir()
    from mfsim._runner.plan import make_plan
    from mfsim._scenario.load import load_scenario

    plan = make_plan(load_scenario(tmp_path / "sweep.toml"), "sweep.toml", out=run,
                     force=False, memory_check=False)
    # a run directory that mfsim submit did not make (its resolved scenario only)
    (run / "scenario.toml").write_text(plan.resolved_text)
    cases = [
        (["submit"], "give a scenario, or --resubmit-missing RUN_DIR"),
        (["submit", "sweep.toml", "--resubmit-missing", "run"], "one of the two"),
        (["submit", "sweep.toml"], "--executor is needed: slurm or local"),
        (["submit", "--resubmit-missing", "run"], "no submission.json: it was not made by "
                                                  "mfsim submit"),
        (["submit", "--resubmit-missing", "run", "--set", "seed=1"], "--out, --set and "
                                                                      "--force belong"),
        (["submit", "--resubmit-missing", "nowhere"], "not an mfsim run directory"),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, (argv, err)
    (run / "submission.json").write_text("{not json")
    assert main(["submit", "--resubmit-missing", "run"]) == 2
    err = capsys.readouterr().err
    assert "submission.json: unreadable" in err and err.count("\n") == 1, err


def test_the_slurm_tests_say_in_one_line_what_they_lack(monkeypatch):
    """S2: without root or SLURM's packages, tests/test_slurm.py skips with one
    line naming what is missing (tests/slurm_cluster.py's ``unavailable``)."""
    import shutil as shutil_module

    import slurm_cluster

    monkeypatch.setattr(slurm_cluster.os, "geteuid", lambda: 1000)
    assert slurm_cluster.unavailable() == ("real SLURM tests need root (to start munged, "
                                           "slurmctld and slurmd)")
    monkeypatch.setattr(slurm_cluster.os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil_module, "which", lambda name: None)
    monkeypatch.setattr(slurm_cluster, "Path", lambda *parts: Path("/nonexistent/binary"))
    why = slurm_cluster.unavailable()
    assert why == ("real SLURM tests need munged, slurmctld, slurmd, sbatch, srun, squeue, sinfo, "
                   "scontrol, scancel (apt-get install slurm-wlm munge)"), why
    assert "\n" not in why
