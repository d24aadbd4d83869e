"""Submit a sweep through submitit: ``mfsim submit SCENARIO --executor slurm|local``.

The run directory is prepared first (the resolved ``scenario.toml``), then:

- ``slurm``: one job array of ``n`` tasks, task ``i`` running shard ``i/n``
  (:func:`mfsim.run_scenario` with ``shard``) into the run directory, at most
  ``array_parallelism`` at a time, and a merge job that depends on the
  whole array (``--dependency=afterany:<array>``: it merges whatever is
  complete and names what is missing). The command returns once both are
  queued. The tasks are :class:`submitit.helpers.Checkpointable`: on
  preemption or timeout submitit requeues a task (up to 3 times after a
  timeout), and the requeued task resumes from the points (and parts)
  already written.
- ``local``: the same shards through submitit's local executor (one process
  per shard on this machine, single-threaded XLA CPU kernels); the command
  waits for them and merges.

submitit's own files (pickled tasks, the sbatch scripts, each task's
stdout and stderr) go to ``<run dir>/submitit/`` unless ``folder`` says
otherwise; the folder must be on a filesystem the compute nodes share.
submitit is an optional dependency (``pip install 'mfsim[cluster]'``).

What was asked of the executor is kept in the run directory
(``submission.json``: the shard count and every option), so that
:func:`resubmit_missing` (``mfsim submit --resubmit-missing DIR``) can submit
again only the shards whose points are missing (a task cancelled, failed or
out of requeues), with the same options unless told otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import MfsimError, clean
from .._store.io import atomic_write_text, recording
from .._store.merge import MergeResult, incomplete, merge
from .._store.results import SCENARIO_FILE, SUBMISSION_FILE
from .manifest import Manifest
from .plan import RunPlan
from .shards import Shard, ShardResult, require_sweep
from .workers import prepared

SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _submitit():
    try:
        import submitit
    except ImportError:
        raise MfsimError("mfsim submit needs submitit: pip install 'mfsim[cluster]'") from None
    return submitit


def _load(plugins: tuple[str, ...], cwd: str | None, compile_cache: bool = True) -> None:
    """In a task's process: what the ``mfsim`` command sets up in its own
    (JAX's 64-bit mode as ``mfsim run`` leaves it, so that a task computes
    the bits ``mfsim run`` computes), the submitting directory, the
    compilation cache (unless ``--no-compile-cache``) and its ``--plugin``
    modules."""
    from .._store.compile_cache import disable_compile_cache, enable_compile_cache

    if compile_cache:
        enable_compile_cache()
    else:
        disable_compile_cache()
    if cwd is not None:
        os.chdir(cwd)
    if plugins:
        from .._scenario.plugins import load_plugins

        load_plugins(list(plugins))


class ShardTask:
    """One array task: shard ``index`` of ``count`` of the sweep in
    ``run_dir`` (its resolved scenario), after importing ``plugins`` from the
    submitting directory ``cwd``. Its ``checkpoint`` (what submitit calls on
    preemption or timeout, as for ``helpers.Checkpointable``) requeues it as
    is: it resumes from what is written."""

    def __init__(self, run_dir: str, index: int, count: int, plugins: tuple[str, ...] = (),
                 cwd: str | None = None, compile_cache: bool = True):
        self.run_dir, self.index, self.count = str(run_dir), index, count
        self.plugins, self.cwd, self.compile_cache = tuple(plugins), cwd, compile_cache

    def __call__(self) -> ShardResult:
        from .run import run_scenario

        _load(self.plugins, self.cwd, self.compile_cache)
        return run_scenario(Path(self.run_dir) / SCENARIO_FILE, out=self.run_dir,
                            progress="lines", shard=Shard(self.index, self.count),
                            memory_check=False)

    def checkpoint(self, *args, **kwargs):
        return _submitit().helpers.DelayedSubmission(self, *args, **kwargs)


class MergeTask:
    """The job after the array: :func:`mfsim.merge` of ``run_dir``."""

    def __init__(self, run_dir: str, plugins: tuple[str, ...] = (), cwd: str | None = None,
                 compile_cache: bool = True):
        self.run_dir, self.plugins, self.cwd = str(run_dir), tuple(plugins), cwd
        self.compile_cache = compile_cache

    def __call__(self) -> MergeResult:
        _load(self.plugins, self.cwd, self.compile_cache)
        merged = merge(self.run_dir, progress="lines")
        code, lines = incomplete(merged)
        for line in lines:
            print(line, file=sys.stderr)
        if code:  # the job's exit status says it, as mfsim merge's does
            raise SystemExit(code)
        return merged


@dataclass(frozen=True)
class Cluster:
    """What ``mfsim submit`` asks of the executor. ``time_min``: each task's
    time limit in minutes; ``mem_gb``, ``cpus_per_task``, ``gpus_per_task``,
    ``partition``, ``account``, ``qos``, ``array_parallelism`` as sbatch
    has them (``None``: the cluster's default); ``folder``: submitit's files;
    ``setup``: shell lines run before each task (modules, a virtual
    environment); ``extra``: more sbatch options (``{"constraint": "a100"}``);
    ``plugins``: modules each task imports first (``--plugin``), from ``cwd``;
    ``compile_cache``: JAX's persistent compilation cache in each task (the
    command's ``--no-compile-cache`` turns it off, as for ``mfsim run``);
    ``requeues``: how many times a task that reaches its time limit is
    requeued (each time it resumes from the points written)."""

    executor: str = "local"
    shards: int = 2
    time_min: int = 60
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus_per_task: int | None = None
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    array_parallelism: int | None = None
    folder: str | None = None
    setup: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    cwd: str | None = None
    compile_cache: bool = True
    requeues: int = 3


@dataclass(frozen=True)
class Submission:
    """What was submitted: the job ids of the array's tasks and of the merge
    job (slurm), submitit's folder, and for ``local`` the merged run."""

    out_dir: Path
    folder: Path
    task_ids: tuple[str, ...]
    merge_id: str | None
    merged: MergeResult | None


def warning_seconds(time_min: int) -> int:
    """How long before its time limit a task is told (SIGUSR2) to stop and be
    requeued: 2 minutes, or a quarter of a limit shorter than 8 minutes.
    (SLURM checks time limits every 30 s and may warn up to a minute early:
    a warning longer than the limit would come at once.)"""
    return min(120, max(1, time_min * 60 // 4))


def slurm_parameters(plan: RunPlan, cluster: Cluster, *, merge_job: bool = False) -> dict:
    """The sbatch parameters (submitit's names) of the array's tasks, or of
    the merge job (no GPU, one CPU)."""
    # one process per task (SLURM refuses --gpus-per-task without a task count)
    params = {"job_name": f"mfsim-{plan.scenario.name}" + ("-merge" if merge_job else ""),
              "time": cluster.time_min, "signal_delay_s": warning_seconds(cluster.time_min),
              "ntasks_per_node": 1}
    for name, value in (("partition", cluster.partition), ("account", cluster.account),
                        ("qos", cluster.qos)):
        if value is not None:
            params[name] = value
    if merge_job:
        params["cpus_per_task"] = 1
    else:
        if cluster.gpus_per_task is not None:
            params["gpus_per_task"] = cluster.gpus_per_task
        if cluster.cpus_per_task is not None:
            params["cpus_per_task"] = cluster.cpus_per_task
        if cluster.array_parallelism is not None:
            params["array_parallelism"] = cluster.array_parallelism
    if cluster.mem_gb is not None:
        params["mem"] = f"{cluster.mem_gb:g}GB"
    if cluster.setup:
        params["setup"] = list(cluster.setup)
    if cluster.extra:
        params["additional_parameters"] = dict(cluster.extra)
    return params


def submit(plan: RunPlan, cluster: Cluster, *, force: bool = False) -> Submission:
    """Submit ``plan``'s sweep (module docstring)."""
    require_sweep(plan, "mfsim submit")
    if cluster.executor not in ("slurm", "local"):
        raise MfsimError(f"--executor: {cluster.executor!r}: allowed: slurm, local")
    _submitit()
    _require_slurm(cluster)  # before any file
    count = max(1, min(cluster.shards, len(plan.points)))
    cluster = dataclasses.replace(cluster, shards=count, folder=_absolute(cluster.folder))
    with prepared(plan, force):  # the directory is this scenario's before any task starts
        _record(plan.out_dir.resolve(), cluster, ())
    return _submit_shards(plan, cluster, list(range(count)))


def resubmit_missing(plan: RunPlan, changes: dict) -> Submission | None:
    """Submit again the shards of ``plan``'s run directory whose points are
    missing, as its first submission asked (``submission.json``) with
    ``changes`` (:class:`Cluster` fields) applied; ``None`` when no point
    is missing. Refused while that submission's jobs are still queued or
    running (two tasks of one shard would write the same files)."""
    from .run import shard_indices_missing

    require_sweep(plan, "--resubmit-missing")
    out_dir = plan.out_dir.resolve()
    recorded, jobs = _recorded(out_dir)
    cluster = dataclasses.replace(recorded, **changes)
    cluster = dataclasses.replace(cluster, folder=_absolute(cluster.folder))
    if cluster.executor not in ("slurm", "local"):
        raise MfsimError(f"--executor: {cluster.executor!r}: allowed: slurm, local")
    _submitit()
    _require_slurm(cluster)
    if recorded.executor == "slurm":
        _require_finished(out_dir, jobs)
    indices = shard_indices_missing(plan, cluster.shards)
    if not indices:
        return None
    with prepared(plan, False):
        _record(out_dir, cluster, ())
    return _submit_shards(plan, cluster, indices)


def _absolute(folder: str | None) -> str | None:
    return str(Path(folder).resolve()) if folder else None


def _require_slurm(cluster: Cluster) -> None:
    if cluster.executor == "slurm" and (shutil.which("srun") is None
                                        or shutil.which("sbatch") is None):
        raise MfsimError("--executor slurm: no srun or sbatch on this machine: submit from "
                         "a login node of the cluster, or use --executor local")


def _require_finished(out_dir: Path, jobs: tuple[str, ...]) -> None:
    """Refuse while a job of the previous submission is queued or running."""
    squeue = shutil.which("squeue")
    if squeue is None or not jobs:
        return
    try:
        out = subprocess.run([squeue, "--noheader", "--format=%i %T", "--jobs", ",".join(jobs)],
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return
    active = sorted({line.split()[0].split("_")[0] for line in out.splitlines() if line.split()})
    if active:
        raise MfsimError(f"{out_dir}: job {', '.join(active)} of its last submission is still "
                         "queued or running: wait for it to end (mfsim status shows the "
                         "points), or scancel it, then resubmit")


def _record(out_dir: Path, cluster: Cluster, jobs: tuple[str, ...]) -> None:
    """Write what was submitted (``submission.json``) into the run directory."""
    record = dataclasses.asdict(cluster)
    record["jobs"] = list(jobs)
    with recording(Manifest(out_dir).record):
        atomic_write_text(out_dir / SUBMISSION_FILE, json.dumps(record, indent=1) + "\n")


def _recorded(out_dir: Path) -> tuple[Cluster, tuple[str, ...]]:
    """The submission recorded in ``out_dir`` and its job ids."""
    path = out_dir / SUBMISSION_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        names = {f.name for f in dataclasses.fields(Cluster)}
        values = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in record.items() if k in names}
        return Cluster(**values), tuple(str(j) for j in record.get("jobs", ()))
    except FileNotFoundError:
        raise MfsimError(f"{clean(str(out_dir))}: no {SUBMISSION_FILE}: it was not made by mfsim "
                         "submit (submit the scenario with --out this directory)") from None
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise MfsimError(f"{clean(str(path))}: unreadable ({clean(str(e))[:80]}): submit the "
                         "scenario with --out this directory") from None


def _submit_shards(plan: RunPlan, cluster: Cluster, indices: list[int]) -> Submission:
    """Submit shards ``indices`` of ``cluster.shards`` (one array for SLURM,
    then the merge job; local: run them, then merge)."""
    submitit = _submitit()
    out_dir = plan.out_dir.resolve()
    folder = Path(cluster.folder).resolve() if cluster.folder else out_dir / "submitit"
    tasks = [ShardTask(str(out_dir), i, cluster.shards, cluster.plugins, cluster.cwd,
                       cluster.compile_cache) for i in indices]
    if cluster.executor == "local":
        return _run_local(plan, cluster, tasks, folder)
    try:
        executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=cluster.requeues)
        executor.update_parameters(**slurm_parameters(plan, cluster))
        with executor.batch():  # one sbatch job array
            jobs = [executor.submit(task) for task in tasks]
        array_id = jobs[0].job_id.split("_")[0]
        merger = submitit.SlurmExecutor(folder=folder)
        merge_params = slurm_parameters(plan, cluster, merge_job=True)
        merge_params["dependency"] = f"afterany:{array_id}"
        merger.update_parameters(**merge_params)
        merge_job = merger.submit(MergeTask(str(out_dir), cluster.plugins, cluster.cwd,
                                            cluster.compile_cache))
    except (subprocess.CalledProcessError, submitit.core.utils.FailedSubmissionError) as e:
        detail = getattr(e, "stderr", None) or str(e)
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        last = detail.strip().splitlines()[-1:] or [type(e).__name__]
        raise MfsimError(f"--executor slurm: sbatch refused the submission: {clean(last[0])} "
                         f"(submitit's files: {folder})") from None
    _record(out_dir, cluster, (array_id, merge_job.job_id))  # (the tasks may be running)
    return Submission(out_dir, folder, tuple(j.job_id for j in jobs), merge_job.job_id, None)


def _run_local(plan: RunPlan, cluster: Cluster, tasks: list[ShardTask],
               folder: Path) -> Submission:
    """Run ``tasks`` through submitit's local executor, wait, merge."""
    executor = _submitit().LocalExecutor(folder=folder)
    setup = list(cluster.setup)
    if "XLA_FLAGS" not in os.environ:  # the shards share this machine's cores
        setup.insert(0, f"export XLA_FLAGS='{SINGLE_THREAD}'")
    executor.update_parameters(timeout_min=cluster.time_min, setup=setup)
    with executor.batch():
        jobs = [executor.submit(task) for task in tasks]
    failed = []
    for task, job in zip(tasks, jobs):
        try:
            job.result()
        except Exception as e:  # noqa: BLE001 (a task's own error, reported in one line)
            last = str(e).strip().splitlines()[-1:] or [type(e).__name__]
            failed.append(f"shard {task.index}/{task.count}: {last[0]}")
    out_dir = plan.out_dir.resolve()
    if failed:
        raise MfsimError(f"{plan.where}: {'; '.join(failed)} (logs in {folder}); the "
                         f"points finished are kept in {out_dir}; mfsim submit "
                         f"--resubmit-missing {out_dir} runs the rest")
    return Submission(out_dir, folder, tuple(j.job_id for j in jobs), None,
                      merge(out_dir, progress="none"))
