"""Worker processes on one machine: ``mfsim run SCENARIO --workers N``.

The sweep's points are shared out as ``N`` shards (:mod:`mfsim._runner.shards`:
whole batch groups, each compiled once per worker), each solved by an
``mfsim run --shard i/N`` process into the run directory; when they are
done the directory is merged (:func:`mfsim.merge`): the same bits as one
process. The parent prepares the directory first (the resolved scenario,
``--force``), shows one progress report over all points (it counts the
point files as they appear), and on Ctrl-C or SIGTERM stops every worker
(each keeps what it finished); running the same command again resumes.

Workers run in their own sessions (a terminal's Ctrl-C reaches the parent
only, which passes one SIGTERM on; a parent killed outright takes them with
it: they get SIGTERM), with one thread each for XLA's CPU
kernels unless ``XLA_FLAGS`` says otherwise. On a machine with several
NVIDIA GPUs each worker sees one (``CUDA_VISIBLE_DEVICES``), round robin.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time

from .._errors import Interrupted, MfsimError
from .._store.io import recording
from .._store.merge import MergeResult, merge
from .._store.points import prepare_dir
from .._store.results import SCENARIO_FILE
from .lock import run_lock
from .manifest import Manifest
from .plan import RunPlan, check_output_dir
from .progress import Mode, Reporter
from .shards import require_sweep

POLL = 0.25  # seconds between looks at the workers and the point files
STOP_WAIT = 120.0  # seconds the workers get to stop cleanly before SIGKILL


def _gpus() -> list[str]:
    """The NVIDIA GPUs this process may use (``CUDA_VISIBLE_DEVICES``, else
    ``nvidia-smi -L``), without starting JAX's GPU backend in the parent."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def worker_env(index: int, gpus: list[str]) -> dict[str, str]:
    """Worker ``index``'s environment: one GPU of ``gpus`` (round robin), or
    single-threaded XLA CPU kernels (the workers share the cores)."""
    env = dict(os.environ)
    env[PARENT_ENV] = str(os.getpid())
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    elif "XLA_FLAGS" not in env:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env


@contextlib.contextmanager
def prepared(plan: RunPlan, force: bool):
    """Make the run directory this scenario's (alone in it: the resolved
    scenario, ``--force``) before any shard starts, then hold it shared
    beside them for the block."""
    with run_lock(plan.out_dir, shared=True) as hold:
        if not hold.exclusive:
            raise MfsimError(f"{plan.out_dir}: shards are writing here; wait for them to "
                             "finish or choose another --out")
        check_output_dir(plan.out_dir, plan.resolved_text, force=force)
        manifest = Manifest(plan.out_dir)
        with recording(manifest.record):
            prepare_dir(plan, manifest, force=force)
        hold.share()
        yield


def run_workers(plan: RunPlan, count: int, *, progress: Mode, force: bool,
                figures: bool = True, plugins: tuple[str, ...] = ()) -> MergeResult:
    """Solve ``plan``'s sweep in ``count`` worker processes and merge it
    (each worker imports the command's ``plugins`` first)."""
    require_sweep(plan, "--workers")
    out_dir = plan.out_dir
    count = max(1, min(count, len(plan.points)))
    with prepared(plan, force):
        resumed = [plan.point_path(p).is_file() for p in plan.points]
        done_before = sum(resumed)
        reporter = Reporter(plan.where, progress, points=len(plan.points),
                            solves=len(plan.points), points_done=done_before, sweep=True)
        reporter.begin()
        reporter.set_phase(f"solving in {count} worker processes")
        gpus = _gpus()
        command = [sys.executable, "-m", "mfsim_entry", "run", str(out_dir / SCENARIO_FILE),
                   "--out", str(out_dir), "--quiet", "--no-memory-check"]
        for plugin in plugins:
            command += ["--plugin", plugin]
        procs = [subprocess.Popen(command + ["--shard", f"{i}/{count}"],
                                  env=worker_env(i, gpus), start_new_session=True)
                 for i in range(count)]
        try:
            seen = done_before
            while any(p.poll() is None for p in procs):
                time.sleep(POLL)
                now = sum(plan.point_path(p).is_file() for p in plan.points)
                for _ in range(now - seen):
                    reporter.point_done()
                seen = max(seen, now)
        except KeyboardInterrupt:
            reporter.close()
            _stop(procs)
            done = sum(plan.point_path(p).is_file() for p in plan.points)
            raise Interrupted(f"{plan.where}: interrupted; every worker stopped; {done} of "
                              f"{len(plan.points)} points saved in {out_dir}; run the same "
                              "command again to resume") from None
        reporter.close()
    codes = [p.returncode for p in procs]
    broken = [(i, c) for i, c in enumerate(codes) if c not in (0, 3)]
    if broken:
        what = ", ".join(f"worker {i} exited with status {c}" for i, c in broken)
        raise MfsimError(f"{plan.where}: {what} (its message is above); the points the "
                         f"workers finished are kept in {out_dir}; run the same command "
                         "again to resume")
    merged = merge(out_dir, figures=figures, progress=progress)
    return dataclasses.replace(merged, result=dataclasses.replace(
        merged.result, resumed=tuple(label for label, read in zip(merged.result.labels, resumed)
                                     if read)))


PARENT_ENV = "MFSIM_WORKERS_PARENT"


def follow_parent() -> None:
    """In a worker (``MFSIM_WORKERS_PARENT`` names its parent's pid): ask for
    SIGTERM when the parent dies (Linux's ``PR_SET_PDEATHSIG``), so that a
    killed ``--workers`` run stops its workers too (each saves what it
    finished); a parent already gone stops the worker at once. (Set by the
    worker itself: a ``preexec_fn`` would fork a multithreaded JAX process.)"""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the workers finish their shards
        return
    if str(os.getppid()) != parent:
        raise Interrupted("the --workers run that started this worker has ended; nothing "
                          "was solved")


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM every worker still running (each saves what it finished and
    exits), then wait; SIGKILL any still running after ``STOP_WAIT`` s."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        except KeyboardInterrupt:  # asked again: stop waiting
            p.kill()
            p.wait()
