"""Compile once per machine (issue 22, P4): the compiled solve has no host
callback, so the ``mfsim`` command writes it to JAX's persistent compilation
cache (and a second process loads it); tolerances are arrays, so a sweep
over ``solver.rtol`` traces the solve once."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import mfsim

TINY = {"name": "tiny", "dtype": "float64",
        "task": {"d": 3, "n_train": 9, "n_test": 5},
        "system": {"width": 7, "activation": "tanh"}, "solver": {"t1": 1.0},
        "save": {"n": 4}}


def test_rtol_sweep_traces_the_solve_once(monkeypatch):
    import mfsim._solve.core as core

    traces = []
    original = core._diffeqsolve

    def counting(*args, **kwargs):
        traces.append(1)  # runs when JAX traces the solve, not per step
        return original(*args, **kwargs)

    monkeypatch.setattr(core, "_diffeqsolve", counting)
    rtols = [1e-3, 1e-6, 1e-9]
    ds = mfsim.run({**TINY, "name": "rtols"}, **{"solver.rtol": rtols})
    assert ds.sizes["rtol"] == 3 and len(traces) == 1
    # each point is the run with that tolerance alone, to the last bit, and the
    # tolerance did act (fewer steps at 1e-3 than at 1e-9)
    for i, rtol in enumerate(rtols):
        one = mfsim.run({**TINY, "name": "rtols", "solver": {"t1": 1.0, "rtol": rtol}})
        np.testing.assert_array_equal(ds["train_loss"].values[i], one["train_loss"].values)
    losses = ds["train_loss"].values[:, -1]
    assert abs(losses[0] - losses[2]) > 0
    # a sweep over other tolerances traces nothing new
    before = len(traces)
    again = mfsim.run({**TINY, "name": "rtols"}, **{"solver.rtol": [1e-4, 1e-7]})
    assert len(traces) == before and np.isfinite(again["train_loss"].values).all()


def _mfsim(args, env, cwd):
    exe = Path(sys.executable).with_name("mfsim")  # the installed command
    return subprocess.run([str(exe), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # four mfsim processes (~30 s)
def test_cli_writes_the_solve_to_its_compilation_cache(tmp_path):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text('name = "tiny"\n[task]\nd = 3\nn_train = 9\nn_test = 5\n'
                        '[system]\nwidth = 6\n[solver]\nt1 = 1.0\n[save]\nn = 4\n')
    cache = tmp_path / "cache"
    env = {**os.environ, "MFSIM_COMPILE_CACHE": str(cache)}
    env.pop("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", None)
    first = _mfsim(["run", str(scenario), "--out", str(tmp_path / "a"), "--quiet"], env,
                   tmp_path)
    assert first.returncode == 0, first.stderr
    # the solve itself is in the cache: it has no host callback (JAX writes no
    # entry for a computation with one)
    assert any(p.name.startswith("jit_solve-") for p in cache.iterdir()), sorted(
        p.name for p in cache.iterdir())
    second = _mfsim(["run", str(scenario), "--out", str(tmp_path / "b"), "--quiet"], env,
                    tmp_path)
    assert second.returncode == 0, second.stderr
    a = (tmp_path / "a" / "results.nc").read_bytes()
    assert a == (tmp_path / "b" / "results.nc").read_bytes()
    # --no-compile-cache: no directory is made; an unwritable one: a note, and the run
    off = _mfsim(["run", str(scenario), "--out", str(tmp_path / "c"), "--quiet",
                  "--no-compile-cache"], {**env, "MFSIM_COMPILE_CACHE": str(tmp_path / "x")},
                 tmp_path)
    assert off.returncode == 0 and not (tmp_path / "x").exists(), off.stderr
    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = _mfsim(["run", str(scenario), "--out", str(tmp_path / "d"), "--quiet"],
                 {**env, "MFSIM_COMPILE_CACHE": str(blocked / "sub")}, tmp_path)
    assert bad.returncode == 0, bad.stderr
    assert "compilation cache off: cannot create" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert (tmp_path / "d" / "results.nc").read_bytes() == a


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    from mfsim._store.compile_cache import cache_directory
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("MFSIM_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_directory() == tmp_path / "mfsim" / "jax"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere")
    assert cache_directory() == Path("/somewhere")
    monkeypatch.setenv("MFSIM_COMPILE_CACHE", "off")
    assert cache_directory() is None
    assert jax.config.jax_compilation_cache_dir  # the test session's own (conftest)
