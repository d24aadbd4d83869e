"""F2: the particle axis and the sweep axis sharded over 4 forced host
devices give the single-device results to 1e-6 (float64). JAX reads
XLA_FLAGS when it starts, so the check runs in a fresh process."""

import os
import subprocess
import sys
from pathlib import Path

import diffrax
import pytest

SCRIPT = Path(__file__).parent / "scripts" / "sharded_equals_single.py"


@pytest.mark.slow
def test_sharded_solves_equal_single_device_on_four_host_devices():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    for line in ("particles ok", "sweep ok", "scenario particles ok"):
        assert line in proc.stdout, proc.stdout


def test_unknown_shard_mode_is_refused():
    import jax.numpy as jnp

    import mfsim
    from mfsim._solve.sharding import device_layout

    net = mfsim.TwoLayerNetwork(jnp.ones((2, 1)), jnp.ones(2), width=3)
    with pytest.raises(TypeError, match=r"shard must be a layout object \(mfsim.OneDevice\(\)"):
        mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, shard="rows"))
    # names are the scenario's ([solver] shard), turned into the objects once
    assert device_layout("particles") == mfsim.ShardParticles()
    with pytest.raises(ValueError, match="unknown shard 'rows'; allowed: none, particles, sweep"):
        device_layout("rows")
    # one device: the layout the settings default to, the same solve
    one = mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0), n_save=2)
    assert mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0).shard == mfsim.OneDevice()
    same = mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0,
                                                         shard=mfsim.OneDevice()), n_save=2)
    assert (one.final_state.params.w == same.final_state.params.w).all()
