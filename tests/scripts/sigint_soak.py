"""R1 of issue 17: real SIGINTs through a pseudo-terminal at random moments of
`mfsim run`, the full count (the suite runs a few: tests/test_interrupts.py).

    python tests/scripts/sigint_soak.py COUNT [--seed S] [--workdir DIR]

COUNT interrupts are spread over four scenarios: a sweep with twins, a sweep
without, a single run with checkpoints and a single run with twins. Each
scenario is first run once uninterrupted (the reference). Then `mfsim run`
starts again and again in one directory, on a pseudo-terminal, and gets a
SIGINT after a random delay (one in four gets a second SIGINT 50 ms later).
After each try:

- the exit status must be 130 (interrupted) or 0 (it had finished): never a
  death by signal, never anything else; nothing like a traceback is printed;
- every file of a finished solve present before the try (a point file, a
  twin's or network's part in parts/) is the same file after it (same inode
  and mtime) unless its point was completed meanwhile: a finished solve is
  never solved again;
- a try that finished (0) must give results.nc bitwise equal to the
  reference; the directory is then emptied and the scenario starts afresh;
- at the end each scenario is resumed once more, uninterrupted, from what
  its last tries left, and compared bitwise with the reference.

Prints a line per try and a summary; exits 1 on any failure."""

from __future__ import annotations

import argparse
import os
import pty
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

MFSIM = str(Path(sys.executable).parent / "mfsim")

PROBLEM = """[task]
d = 3
n_train = 16
n_test = 8
[system]
width = 8
[output]
figures = []
"""
SCENARIOS = {
    "sweep_twins": 'name = "soak_sweep_twins"\n' + PROBLEM + """checkpoint_every = 0
[solver]
t1 = 20.0
[save]
n = 9
[compare]
linearized = true
[sweep.grid]
seed = [0, 1, 2, 3, 4, 5]
""",
    "sweep": 'name = "soak_sweep"\n' + PROBLEM + """[solver]
t1 = 20.0
[save]
n = 9
[sweep.grid]
seed = [0, 1, 2, 3, 4, 5, 6, 7]
""",
    "single_checkpointed": 'name = "soak_single"\n' + PROBLEM + """checkpoint_every = 2
[solver]
t1 = 40.0
[save]
n = 21
""",
    "single_twins": 'name = "soak_single_twins"\n' + PROBLEM + """checkpoint_every = 3
[solver]
t1 = 20.0
[save]
n = 10
[compare]
linearized = true
""",
}


def interrupt_once(scenario: str, out: str, delay: float, twice: bool = False,
                   extra: tuple[str, ...] = ()) -> tuple[int, str]:
    """Start `mfsim run` on a pseudo-terminal, send SIGINT (twice: two, 50 ms
    apart) after ``delay`` seconds unless it finished; return (exit status,
    what it printed). A negative status is a death by signal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: mfsim on the terminal
        os.execv(MFSIM, [MFSIM, "run", scenario, "--out", out, *extra])
    printed = bytearray()

    def drain(timeout: float) -> None:
        ready, _, _ = select.select([fd], [], [], timeout)
        if ready:
            try:
                printed.extend(os.read(fd, 65536))
            except OSError:
                pass

    end = time.monotonic() + delay
    status = None
    while time.monotonic() < end:
        drain(0.02)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, signal.SIGINT)
        if twice:
            time.sleep(0.05)
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 120
        while status is None:
            drain(0.05)
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
    drain(0.05)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), printed.decode(errors="replace")


def finished_solves(out: Path) -> dict[str, tuple[int, int]]:
    """Files of finished solves: points/p*.nc and parts/*.nc -> (inode, mtime)."""
    found = {}
    for sub, pattern in (("points", "p*.nc"), ("parts", "*.nc")):
        for path in (out / sub).glob(pattern) if (out / sub).is_dir() else ():
            st = path.stat()
            found[f"{sub}/{path.name}"] = (st.st_ino, st.st_mtime_ns)
    return found


def same_results(a: Path, b: Path) -> str | None:
    """None if results.nc in a and b are bitwise equal, else what differs."""
    with xr.open_dataset(a / "results.nc", engine="h5netcdf") as x, \
            xr.open_dataset(b / "results.nc", engine="h5netcdf") as y:
        x, y = x.load(), y.load()
        if set(x.variables) != set(y.variables):
            return "variables differ"
        for name in x.variables:
            vx, vy = np.asarray(x[name].values), np.asarray(y[name].values)
            if vx.dtype != vy.dtype or vx.shape != vy.shape:
                return f"{name}: dtype or shape"
            if vx.dtype.kind == "f":
                if not np.array_equal(vx.view(np.uint8), vy.view(np.uint8)):
                    return f"{name}: values"
            elif not np.array_equal(vx, vy):
                return f"{name}: values"
    return None


def recomputed(before: dict, after: dict, out: Path) -> list[str]:
    """Files of finished solves replaced (solved again) during a try. A part
    may vanish when its point was completed (the point file then exists)."""
    bad = []
    for name, stamp in before.items():
        if name in after:
            if after[name] != stamp:
                bad.append(name)
        elif name.startswith("points/"):
            bad.append(name + " (removed)")
        else:  # parts/pNNNNNN-solve.nc: gone only into its point, or into results.nc
            point = name.split("/")[1].split("-")[0] + ".nc"
            if not ((out / "points" / point).exists() or (out / "results.nc").exists()):
                bad.append(name + " (removed, point not written)")
    return bad


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    seed = random.randrange(2**32) if args.seed is None else args.seed
    rng = random.Random(seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mfsim-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"seed {seed}; work directory {work}", flush=True)
    names = list(SCENARIOS)
    refs, spans = {}, {}
    for name, text in SCENARIOS.items():
        path = work / f"{name}.toml"
        path.write_text(text)
        start = time.monotonic()
        subprocess.run([MFSIM, "run", str(path), "--out", str(work / f"{name}-ref"), "--quiet",
                        "--force"], check=True)
        spans[name] = time.monotonic() - start
        refs[name] = work / f"{name}-ref"
        print(f"reference {name}: {spans[name]:.1f} s", flush=True)
    codes, failures, completions, tries = [], [], {n: 0 for n in names}, {n: 0 for n in names}
    for i in range(args.count):
        name = names[i % len(names)]
        out = work / f"{name}-run"
        twice = rng.random() < 0.25
        delay = rng.uniform(0.3, spans[name] * 1.1)
        before = finished_solves(out)
        code, printed = interrupt_once(str(work / f"{name}.toml"), str(out), delay, twice)
        after = finished_solves(out)
        tries[name] += 1
        codes.append(code)
        last = printed.strip().splitlines()[-1:] if printed.strip() else []
        problems = []
        if code not in (0, 130):
            problems.append(f"exit {code}")
        if code == 130 and "interrupted" not in printed:
            problems.append("no interrupted message")
        for trace in ("Traceback", "Exception ignored", "KeyboardInterrupt", "Fatal Python"):
            if trace in printed:
                problems.append(f"printed {trace!r}: {printed!r}")
        problems += [f"solved again: {f}" for f in recomputed(before, after, out)]
        if code == 0:
            differs = same_results(out, refs[name])
            if differs:
                problems.append(f"results differ from the reference: {differs}")
            completions[name] += 1
            shutil.rmtree(out)  # start this scenario afresh next time
        print(f"{i:4d} {name:20s} delay {delay:5.2f}{' x2' if twice else '   '} exit {code:4d} "
              f"{'; '.join(problems) or 'ok'} {last}", flush=True)
        if problems:
            failures.append((i, name, problems))
    for name in names:  # the last try of each scenario: resumed to the end, uninterrupted
        out = work / f"{name}-run"
        before = finished_solves(out)
        code, printed = interrupt_once(str(work / f"{name}.toml"), str(out), 600.0)
        problems = [f"exit {code}"] if code != 0 else []
        problems += [f"solved again: {f}" for f in recomputed(before, finished_solves(out), out)]
        differs = same_results(out, refs[name]) if code == 0 else "no results"
        if differs:
            problems.append(f"results differ from the reference: {differs}")
        completions[name] += 1
        print(f"final {name:20s} resumed from {len(before)} saved solves: exit {code} "
              f"{'; '.join(problems) or 'ok, bitwise equal to the reference'}", flush=True)
        if problems:
            failures.append(("final", name, problems))
    print(f"{len(codes)} SIGINT tries: {codes.count(130)} interrupted (130), {codes.count(0)} had "
          f"finished (0), {len(codes) - codes.count(130) - codes.count(0)} other; "
          f"completed and compared bitwise per scenario: {completions}; tries {tries}; "
          f"failures: {len(failures)}")
    for failure in failures:
        print("FAILED", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
