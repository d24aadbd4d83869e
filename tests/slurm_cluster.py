"""A real single-node SLURM for the tests (tests/test_slurm.py): ``munged``,
``slurmctld`` and ``slurmd`` started as root with a key, a ``slurm.conf``
and every state, spool, log and PID file in one temporary directory, and
stopped by PID.

Nothing outside that directory is written: ``SLURM_CONF`` points the client
commands at its ``slurm.conf``, which points them at its munge socket
(``AuthInfo=socket=``). The node (``mfsimnode``, this machine at 127.0.0.1)
declares 4 CPUs whatever the machine has (``SlurmdParameters=config_overrides``,
so that up to 4 one-CPU tasks run at once) and 4 GPUs, stand-ins
(``/dev/null``, ``/dev/zero`` ...), so that ``--gpus-per-task 1`` is accepted,
scheduled and stored; no task here uses them. Two partitions: ``debug`` (the default) and ``gpu``.
No accounting database: ``--account`` and ``--qos`` are accepted and kept in
the job's script. Ports come from the kernel (free when chosen), so two
clusters (two xdist workers) do not meet.

:func:`unavailable` says in one line why a cluster cannot be started here
(not root, or the packages missing: ``apt-get install slurm-wlm munge``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel")
NODE = "mfsimnode"
# four character devices stand in for GPUs (SLURM counts them; nothing opens them)
STAND_IN_GPUS = ("null", "zero", "full", "urandom")


def unavailable() -> str | None:
    """Why no cluster can be started here, or ``None``."""
    if os.name != "posix" or os.geteuid() != 0:
        return "real SLURM tests need root (to start munged, slurmctld and slurmd)"
    missing = [name for name in DAEMONS + CLIENTS
               if shutil.which(name) is None and not Path("/usr/sbin", name).exists()]
    if missing:
        return (f"real SLURM tests need {', '.join(missing)} "
                "(apt-get install slurm-wlm munge)")
    return None


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _conf(root: Path, ports: list[int]) -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 // 2
    host = socket.gethostname()
    return f"""ClusterName=mfsimtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
AuthType=auth/munge
AuthInfo=socket={root}/munge/socket
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
PlugStackConfig={root}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
GresTypes=gpu
KillWait=5
MinJobAge=3600
NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs=4 RealMemory={mem} Gres=gpu:4 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """The cluster in ``root`` (started by :meth:`start`, stopped by :meth:`stop`)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.conf = self.root / "slurm.conf"
        self.pids: dict[str, int] = {}
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def start(self, timeout: float = 60.0) -> None:
        root = self.root
        for sub in ("munge", "state", "spool", "log"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "munge").chmod(0o755)
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o400)
        self.conf.write_text(_conf(root, _free_ports(2)))
        (root / "gres.conf").write_text("".join(f"NodeName={NODE} Name=gpu File=/dev/{dev}\n"
                                                for dev in STAND_IN_GPUS))
        (root / "plugstack.conf").write_text("")
        self._daemon("munged", [_binary("munged"), "--force", f"--key-file={key}",
                                f"--socket={root}/munge/socket",
                                f"--pid-file={root}/munge/munged.pid",
                                f"--seed-file={root}/munge/seed",
                                f"--log-file={root}/log/munged.log"],
                     root / "munge" / "munged.pid")
        self._daemon("slurmctld", [_binary("slurmctld"), "-f", str(self.conf)],
                     root / "slurmctld.pid")
        self._daemon("slurmd", [_binary("slurmd"), "-f", str(self.conf), "-N", NODE],
                     root / "slurmd.pid")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run("sinfo", "--noheader", "--nodes", NODE, "--format=%t",
                             check=False).stdout.split()
            if state and state[0] == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"the test SLURM node did not come up: {state}; logs in {root}/log")

    def _daemon(self, name: str, command: list[str], pid_file: Path) -> None:
        """Start a daemon (it forks itself) and note its PID from its file."""
        subprocess.run(command, env=self.env, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.pids[name] = int(pid_file.read_text().split()[0])
                return
            except (OSError, ValueError, IndexError):
                time.sleep(0.1)
        raise RuntimeError(f"{name} wrote no PID file ({pid_file})")

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(command, env=self.env, capture_output=True, text=True,
                              timeout=60, check=check)

    def processes(self) -> list[int]:
        """The daemons' PIDs and every process below them (job steps)."""
        found = set(self.pids.values())
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        grew = True
        while grew:
            below = {pid for pid, parent in parents.items() if parent in found} - found
            grew = bool(below)
            found |= below
        return sorted(pid for pid in found if alive(pid))

    def stop(self, timeout: float = 60.0) -> list[int]:
        """Cancel every job, stop the daemons by PID; return the PIDs that
        were alive (all gone when this returns)."""
        if "slurmctld" in self.pids:
            self.run("scancel", "--full", "--user", "root", check=False)
            time.sleep(1)
        running = self.processes()
        for name in ("slurmd", "slurmctld", "munged"):  # the reverse of the start
            if name in self.pids:
                _signal(self.pids[name], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(map(alive, running)):
            time.sleep(0.2)
        for pid in running:  # a job step the daemons left behind
            _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(alive, running)):
            time.sleep(0.1)
        return running

    # --- jobs ---------------------------------------------------------------

    def jobs(self) -> dict[str, tuple[str, str]]:
        """Every job (array tasks one by one) the controller knows: id ->
        (state, reason)."""
        out = self.run("squeue", "--noheader", "--array", "--states=all",
                       "--format=%i %T %r", check=False).stdout
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                found[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
        return found

    def show(self, job: str) -> dict[str, str]:
        """``scontrol show job``'s fields of ``job`` (one task of an array)."""
        text = self.run("scontrol", "--oneliner", "show", "job", job).stdout
        fields = {}
        for word in text.split():
            key, _, value = word.partition("=")
            fields.setdefault(key, value)
        return fields

    def script(self, job: str) -> str:
        """The batch script SLURM stored for ``job``."""
        return self.run("scontrol", "write", "batch_script", job, "-").stdout

    def release_requeued(self) -> None:
        """Start requeued jobs now: SLURM holds a requeued job for a fixed
        two minutes (reason BeginTime) before it may start again."""
        for job, (state, reason) in self.jobs().items():
            if state == "PENDING" and reason == "BeginTime":
                self.run("scontrol", "update", f"JobId={job}", "StartTime=now", check=False)

    def wait(self, jobs: list[str], timeout: float, release: bool = True) -> dict[str, str]:
        """Wait until every job of ``jobs`` (ids, an array's id for all its
        tasks) has ended; their tasks' final states."""
        done = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                "PREEMPTED", "BOOT_FAIL", "DEADLINE")
        deadline = time.monotonic() + timeout
        while True:
            if release:
                self.release_requeued()
            known = self.jobs()
            mine = {j: s for j, (s, _) in known.items() if j.split("_")[0] in jobs}
            if mine and all(s in done for s in mine.values()):
                return mine
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs {jobs} still running after {timeout} s: {mine}; "
                                   f"logs in {self.root}/log")
            time.sleep(1.0)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
