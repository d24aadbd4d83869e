"""R1 of issue 17 (a small number; tests/scripts/sigint_soak.py runs the full
count): real SIGINTs through a pseudo-terminal at random moments of a sweep
with twins end with exit 130 and the resume message, never a death by
signal; a second SIGINT exits at once; the rerun completes with results
bitwise equal to an uninterrupted run."""

import random
import sys
from pathlib import Path

import pytest
from scenario_texts import TINY_PROBLEM
from test_resume import assert_same_results

import mfsim

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from sigint_soak import interrupt_once  # noqa: E402

SWEEP = 'name = "sigint"\n' + TINY_PROBLEM + """[solver]
t1 = 20.0
[save]
n = 9
[compare]
linearized = true
[output]
figures = []
[sweep.grid]
seed = [0, 1, 2, 3, 4, 5]
"""


@pytest.mark.slow
def test_sigint_through_a_terminal_exits_130_and_resumes_bitwise(tmp_path):
    scenario = tmp_path / "sweep.toml"
    scenario.write_text(SWEEP)
    reference = tmp_path / "ref"
    mfsim.run_scenario(scenario, out=reference, figures=False)
    out = str(tmp_path / "out")
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    for i in range(3):
        code, printed = interrupt_once(str(scenario), out, rng.uniform(0.5, 6.0),
                                       twice=(i == 2), extra=("--quiet",))
        assert code in (0, 130), (seed, i, code, printed)  # never a signal death
        assert "Traceback" not in printed and "Exception ignored" not in printed, printed
        if code == 130:
            assert "interrupted" in printed, (seed, printed)
    code, printed = interrupt_once(str(scenario), out, 600.0, extra=("--quiet",))
    assert code == 0, printed
    assert_same_results(Path(out), reference)


def _interrupt_after(monkeypatch, n):
    """Ctrl-C at the n-th safe point (after the n-th solve is saved)."""
    import mfsim._runner.assemble as assemble

    calls = []

    def check():
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(assemble, "check_interrupt", check)


SMALL = 'name = "parts"\n' + TINY_PROBLEM + """[solver]
t1 = 2.0
[save]
n = 5
[compare]
linearized = true
[output]
figures = []
"""


@pytest.mark.parametrize("kind", ["sweep", "single"])
def test_finished_network_solves_are_never_recomputed(kind, tmp_path, monkeypatch):
    """Interrupted once every network solve (solved before any twin) is in:
    the rerun reads each back from parts/ and solves only the twins."""
    text = SMALL + ("[sweep.grid]\nseed = [0, 1, 2]\n" if kind == "sweep" else "")
    scenario = tmp_path / "s.toml"
    scenario.write_text(text)
    reference = mfsim.run_scenario(scenario, out=tmp_path / "ref", figures=False)
    n = len(reference.labels)
    _interrupt_after(monkeypatch, n)
    out = tmp_path / "out"
    kept = f"0 of {n} points saved \\(and {n} finished solves" if kind == "sweep" else (
        "interrupted; network solve saved, checkpoints kept in")
    with pytest.raises(mfsim.Interrupted, match=kept):
        mfsim.run_scenario(scenario, out=out, figures=False)
    assert sorted(p.name for p in (out / "parts").iterdir()) == [
        f"p{i:06d}-network.nc" for i in range(n)]
    monkeypatch.undo()
    again = mfsim.run_scenario(scenario, out=out, figures=False)
    assert again.reused == tuple((label, "network") for label in reference.labels)
    assert all(t is None for t in again.trajectories)  # no network solved again
    assert_same_results(out, tmp_path / "ref")
    assert not list((out / "parts").iterdir())  # gone once the results hold them


def test_a_twin_finished_before_the_interrupt_is_read_back(tmp_path, monkeypatch):
    """Interrupted after the network and the linearized twin of point 0 (and
    point 1's network): the rerun assembles point 0 without solving."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SMALL + "[sweep.grid]\nseed = [0, 1]\n")
    mfsim.run_scenario(scenario, out=tmp_path / "ref", figures=False)
    _interrupt_after(monkeypatch, 3)  # network 0, network 1, twin 0
    out = tmp_path / "out"
    with pytest.raises(mfsim.Interrupted, match="1 of 2 points saved"):
        mfsim.run_scenario(scenario, out=out, figures=False)
    monkeypatch.undo()
    again = mfsim.run_scenario(scenario, out=out, figures=False)
    assert again.resumed == ("seed=0",) and again.reused == (("seed=1", "network"),)
    assert_same_results(out, tmp_path / "ref")


@pytest.mark.parametrize("where", ["build", "store"])
def test_an_interrupt_outside_the_solves_says_what_was_kept(where, tmp_path, monkeypatch):
    """Ctrl-C while the points are built (nothing written yet) or while the
    results are written (every solve saved): the message says which."""
    import mfsim._runner.run as run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "build_jobs" if where == "build" else "store", interrupted)
    scenario = tmp_path / "s.toml"
    scenario.write_text(SMALL)
    out = tmp_path / "out"
    with pytest.raises(mfsim.Interrupted) as e:
        mfsim.run_scenario(scenario, out=out, figures=False)
    if where == "build":
        assert str(e.value) == f"{scenario}: interrupted before anything was written"
        assert not out.exists()
    else:
        assert str(e.value) == (f"{scenario}: interrupted while writing the results; every "
                                f"solve is saved in {out}; run the same command again to finish")
        monkeypatch.undo()
        again = mfsim.run_scenario(scenario, out=out, figures=False)
        assert again.reused == (("(single run)", "network"), ("(single run)", "lin"))


def test_a_ctrl_c_where_python_cannot_raise_it_is_sent_again(capsys):
    """A KeyboardInterrupt raised inside a garbage-collection callback (JAX's
    _xla_gc_callback) or a weakref callback is 'unraisable': Python prints
    'Exception ignored ... Traceback' and drops it (the SIGINT soak met both).
    The CLI's unraisable hook prints nothing and sends the signal again, so
    it raises in the main thread."""
    import gc
    import signal
    import time

    from mfsim._runner import interrupt as _interrupt

    def callback(phase, info):
        if phase == "start":
            gc.callbacks.remove(callback)
            _interrupt.on_signal(signal.SIGINT, None)  # raises: unraisable here

    _interrupt.begin()
    previous = signal.signal(signal.SIGINT, _interrupt.on_signal)  # as the CLI does
    hook, sys.unraisablehook = sys.unraisablehook, _interrupt.unraisable_hook
    gc.callbacks.append(callback)
    try:
        gc.collect()
        with pytest.raises(KeyboardInterrupt):
            time.sleep(2)  # the signal comes again, in the main thread
        assert _interrupt.take_redelivered()
        while _interrupt.take_redelivered():
            pass
    finally:
        if callback in gc.callbacks:
            gc.callbacks.remove(callback)
        sys.unraisablehook = hook
        signal.signal(signal.SIGINT, previous)
        _interrupt._requested.clear()
    assert "Traceback" not in capsys.readouterr().err
