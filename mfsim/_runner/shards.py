"""Shards: a sweep's points split into ``n`` deterministic, balanced parts.

``mfsim run SCENARIO --shard i/n`` (``i`` from 0 to ``n - 1``, as
``$SLURM_ARRAY_TASK_ID`` counts) solves the points of part ``i`` into the
shared run directory and does not combine; ``mfsim merge`` combines. Every
process computes the same partition from the scenario alone:

- points are grouped by batch group (the network solves that share one
  compiled program: :func:`mfsim._solve.batching.group_jobs`), in order of
  first appearance;
- a group larger than the fair share ``ceil(points / n)`` is cut into pieces
  of the fair share (and a remainder), in point order; smaller groups stay whole;
- pieces go, largest first (ties: first appearance), to the shard with the
  fewest points so far (ties: the lowest index).

So a group is split only when it is larger than a fair share, and a shard
compiles each of its groups once, batching its own points (the batch size
chosen from its part of the group: no padding with other shards' points).
A point's results do not depend on the size of the vmapped batch it is
solved in, so every way of running a sweep gives the same bits
(tests/test_cluster.py compares the files).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from .._errors import MfsimError, show
from .._solve.batching import Job, group_jobs
from .._solve.statuses import completed

_SHARD = re.compile(r"(?P<i>\d{1,6})/(?P<n>\d{1,6})")


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` (0 <= index < count)."""

    index: int
    count: int

    def __post_init__(self):
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise MfsimError(f"--shard: {self.index}/{self.count}: the index must be 0 to "
                             f"{self.count - 1} of {self.count} shards")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"``: shard ``i`` of ``n``."""
        match = _SHARD.fullmatch(text.strip())
        if match is None:
            raise MfsimError(f"--shard: {show(text)}: expected i/n, e.g. 0/4 (shard i of n, "
                             "counting from 0)")
        return cls(int(match["i"]), int(match["n"]))

    @property
    def name(self) -> str:
        """``shard-3-of-8``: how files and messages name it."""
        return f"shard-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def require_sweep(plan, option: str) -> None:
    """Refuse to share out a scenario of one run (``option``: what asked for it)."""
    if not plan.sweep:
        raise MfsimError(f"{plan.where}: {option}: the scenario has one run, not a sweep: "
                         "nothing to share out (run it with a plain mfsim run)")


def partition(jobs: list[Job], count: int) -> list[list[int]]:
    """The flat indices of the points of each of ``count`` shards (sorted),
    from the sweep's jobs (keys ``(flat index, prefix)``; the network's
    prefix is ``""``)."""
    network = [job for job in jobs if job.key[1] == ""]
    groups = [[job.key[0] for job in group] for group in group_jobs(network)]
    fair = max(1, math.ceil(len(network) / count))
    pieces = []
    for group in groups:
        if len(group) > fair:
            pieces += [group[i:i + fair] for i in range(0, len(group), fair)]
        else:
            pieces.append(group)
    order = sorted(range(len(pieces)), key=lambda k: (-len(pieces[k]), k))
    shards: list[list[int]] = [[] for _ in range(count)]
    for k in order:
        target = min(range(count), key=lambda s: (len(shards[s]), s))
        shards[target].extend(pieces[k])
    return [sorted(s) for s in shards]


def reference_writers(ref_of: list[int], shards: list[list[int]]) -> list[int]:
    """For each reference run, the shard that writes it: the shard of the
    first point that needs it (one writer per file; the others solve it too
    if it is not on disk yet, and keep it in memory)."""
    shard_of = {flat: s for s, flats in enumerate(shards) for flat in flats}
    writers: dict[int, int] = {}
    for flat, ref in enumerate(ref_of):
        writers.setdefault(ref, shard_of[flat])
    return [writers.get(r, 0) for r in range(max(ref_of, default=-1) + 1)]


@dataclass(frozen=True)
class ShardResult:
    """What one shard solved: its points' labels, the status of each of
    their solves, the last time each network reached, and the labels of the
    points an interrupted run had already written."""

    shard: Shard
    out_dir: Path
    labels: tuple[str, ...]
    statuses: tuple[dict[str, str], ...]
    t_finals: tuple[float, ...]
    resumed: tuple[str, ...]

    @property
    def failed(self) -> list[str]:
        """Its points whose network solve failed (as :attr:`RunResult.failed`)."""
        return [label for label, statuses in zip(self.labels, self.statuses)
                if not completed(statuses[""])]
