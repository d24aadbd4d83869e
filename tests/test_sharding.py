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

    net = mfsim.TwoLayerNetwork(jnp.ones((2, 1)), jnp.ones(2), width=3)
    with pytest.raises(ValueError, match="allowed: none, particles, sweep"):
        mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, shard="rows"))
