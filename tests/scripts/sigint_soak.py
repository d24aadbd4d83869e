"""R1 of issue 17: real SIGINTs through a pseudo-terminal at random moments of
`mfsim run`, each followed by checks; the suite runs a few
(tests/test_interrupts.py), this script the full count:

    python tests/scripts/sigint_soak.py SCENARIO.toml COUNT [--twice]

Prints each exit status and a summary; exits 1 if any run died by a signal
or ended otherwise than 130 (interrupted) or 0 (it had finished)."""

from __future__ import annotations

import os
import pty
import random
import select
import signal
import sys
import time
from pathlib import Path

MFSIM = str(Path(sys.executable).parent / "mfsim")


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


def main() -> int:
    scenario, count = sys.argv[1], int(sys.argv[2])
    twice = "--twice" in sys.argv
    codes = []
    for i in range(count):
        code, printed = interrupt_once(scenario, f"/tmp/mfsim-soak-{os.getpid()}",
                                       random.uniform(0.5, 15.0), twice)
        codes.append(code)
        print(i, code, printed.strip().splitlines()[-1:] if printed.strip() else "", flush=True)
    bad = [c for c in codes if c not in (0, 130)]
    print(f"{len(codes)} runs: {codes.count(130)} interrupted (130), {codes.count(0)} finished "
          f"(0), {len(bad)} other: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
