"""U2 of issue 18: a run without a terminal (a log file, a batch job) says
what it does: a line at the start and at each phase, and a status line at
least every INTERVAL seconds (30 s; 1 s here), even while a compiled solve
runs; a single run's progress is in solver time."""

import re

from scenario_texts import TINY_PROBLEM

import mfsim
import mfsim._runner.progress as progress
from mfsim.cli import main

LINE = re.compile(r"^mfsim: (?P<file>\S+): \[(?P<s>\d+) s\] (?P<text>.*)$")


def _lines(err: str) -> list[tuple[int, str]]:
    out = []
    for line in err.strip().splitlines():
        m = LINE.match(line)
        if m:
            out.append((int(m["s"]), m["text"]))
    return out


def test_a_sweep_without_a_terminal_prints_a_line_at_least_every_interval(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "INTERVAL", 1.0)
    path = tmp_path / "s.toml"
    path.write_text('name = "p"\n' + TINY_PROBLEM + """[solver]
t1 = 50.0
[save]
n = 30
[compare]
linearized = true
[output]
figures = ["png"]
[sweep.grid]
seed = [0, 1, 2]
""")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    lines = _lines(err)
    texts = [text for _, text in lines]
    assert texts[0] == "started: 3 points, 6 solves", err
    assert "solving (networks first, then twins)" in texts
    assert "writing the results" in texts and "drawing the figures" in texts
    status = [text for text in texts if re.fullmatch(r".*, \d/3 points, \d/6 solves", text)]
    assert status, err  # the heartbeat spoke while the solves ran
    stamps = [s for s, _ in lines]
    # at most the interval apart, give or take a stall: the heartbeat is a thread, and a
    # compilation holding the GIL can delay it a few seconds (measured: 3 s on a loaded
    # machine), small beside the real interval of 30 s
    assert all(b - a <= 1 + 5 for a, b in zip(stamps, stamps[1:])), err
    assert sum(1 for text in texts if "solves" in text) >= 3, err  # it spoke repeatedly


def test_a_single_run_reports_its_solver_time(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "INTERVAL", 0.5)
    path = tmp_path / "s.toml"
    path.write_text('name = "p"\n' + TINY_PROBLEM + """[solver]
t1 = 20.0
[save]
n = 200
spacing = "log"
t_first = 0.01
[output]
figures = []
checkpoint_every = 10
""")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    texts = [text for _, text in _lines(err)]
    assert texts[0] == "started: 1 solve" and "solving the network" in texts, err
    reached = [float(m[1]) for t in texts for m in [re.search(r"t = (\S+) of 20 ", t)] if m]
    assert reached == sorted(reached) and reached, err
    # the summary's time is the whole command's (the solve's own follows it)
    assert re.search(r"done in [\d.]+ s \(the network's solve [\d.]+ s", out), out


def test_a_terminal_bar_of_a_single_run_counts_solver_time(tmp_path, capsys):
    """The bar's total is t1, not the number of segments: with log-spaced
    saves the segments cover very different spans of time."""
    path = tmp_path / "s.toml"
    path.write_text('name = "p"\n' + TINY_PROBLEM + """[solver]
t1 = 20.0
[save]
n = 50
spacing = "log"
t_first = 0.01
[output]
figures = []
checkpoint_every = 10
""")
    mfsim.run_scenario(path, out=tmp_path / "out", progress=True, figures=False)
    err = capsys.readouterr().err
    assert "t = 20 of 20" in err and "segment" not in err, err


def test_reporting_changes_no_result(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "p"\n' + TINY_PROBLEM + "[solver]\nt1 = 2.0\n[save]\nn = 5\n")
    runs = {mode: mfsim.run_scenario(path, out=tmp_path / mode, progress=mode,
                                     figures=False).dataset for mode in ("none", "lines")}
    assert runs["lines"].train_loss.values.tobytes() == runs["none"].train_loss.values.tobytes()
