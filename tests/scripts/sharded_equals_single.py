"""Run by tests/test_sharding.py in a process with 4 forced host devices:
sharded solves equal single-device ones (F2). Prints one line per check."""

import diffrax
import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import mfsim  # noqa: E402

assert len(jax.devices()) == 4, jax.devices()
TOL = dict(rtol=1e-6, atol=1e-12)


def close(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **TOL)


data = mfsim.teacher_task(jax.random.key(0), d=3, n_train=12, n_test=8, dtype=jnp.float64)
net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=16, activation="tanh")
mons = [mfsim.TrainLoss(), mfsim.TestLoss(data.x_test, data.y_test)]
kw = dict(n_save=5, monitors=mons)

# particles: one solve, its neurons split over the 4 devices
flow = dict(t1=2.0, rtol=1e-8, atol=1e-10)
one = mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), **flow), **kw)
split = mfsim.simulate(net, 0,
                       mfsim.SolveSettings.of(diffrax.Tsit5(), shard=mfsim.ShardParticles(), **flow),
                       **kw)
w = split.final_state.params.w
assert len(w.sharding.device_set) == 4 and not w.sharding.is_fully_replicated, w.sharding
close(one.values, split.values)
close(one.final_state, split.final_state)
print("particles ok", float(one.values["train_loss"][-1]))
odd = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=6)
try:
    mfsim.simulate(odd, 0,
                   mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, shard=mfsim.ShardParticles()))
    raise AssertionError("width 6 over 4 devices was not refused")
except ValueError as err:
    assert "not divisible by the 4 devices" in str(err), err
try:
    mfsim.simulate_batch([net] * 6, list(range(6)),
                         mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, shard=mfsim.ShardSweep()))
    raise AssertionError("6 problems over 4 devices were not refused")
except ValueError as err:
    assert "do not split evenly over 4 devices" in str(err), err

# sweep: 8 seeds, 2 per device
nets = [net] * 8
seeds = list(range(8))
single = mfsim.simulate_batch(nets, seeds, mfsim.SolveSettings.of(diffrax.Tsit5(), **flow), **kw)
spread = mfsim.simulate_batch(nets, seeds,
                              mfsim.SolveSettings.of(diffrax.Tsit5(), shard=mfsim.ShardSweep(),
                                                     **flow), **kw)
for a, b in zip(single, spread):
    close(a.values, b.values)
    close(a.final_state, b.final_state)
print("sweep ok")

# the scenario option, through mfsim.run (twins included)
scenario = {"name": "sharded", "dtype": "float64",
            "task": {"d": 3, "n_train": 12, "n_test": 8},
            "system": {"width": 16, "activation": "tanh"},
            "solver": {"t1": 1.0}, "save": {"n": 4},
            "monitors": [{"name": "train_loss"}, {"name": "test_loss"}],
            "compare": {"linearized": True}}
base = mfsim.run(scenario, seed=[0, 1, 2, 3])
for mode in ("particles",):  # the sweep layout is compared on simulate_batch above
    # batch=4: particle sharding must still solve the points one by one
    other = mfsim.run(scenario, seed=[0, 1, 2, 3], solver__shard=mode, sweep__batch=4)
    for name in base.data_vars:
        if base[name].dtype.kind == "f":
            np.testing.assert_allclose(other[name].values, base[name].values, **TOL)
    print(f"scenario {mode} ok")
