"""Discrete optimizers (issue 20, C1): SGD, momentum and Adam through optax on
the flow time axis. References: diffrax's Euler (bitwise), hand-written optax
loops (1e-12, float64), the batches drawn, separate processes, interrupted runs."""

import subprocess
import sys
import textwrap

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mfsim

DT, STEPS = 0.1, 30


@pytest.fixture(scope="module")
def problem():
    x = jax.random.normal(jax.random.key(0), (16, 3))
    y = jnp.sin(x[:, 0]) + 0.3 * x[:, 1]
    return mfsim.TwoLayerNetwork(x, y, width=8, activation="tanh")


def _run(system, solver, start=1, **kw):
    return mfsim.simulate(system, start, mfsim.SolveSettings.of(solver, t1=DT * STEPS, dt=DT, adaptive=False),
                          n_save=7, monitors=[mfsim.TrainLoss()], **kw)


def _leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state)]


def _bitwise(a, b):
    return all(np.array_equal(u, v) for u, v in zip(_leaves(a), _leaves(b), strict=True))


def _max_diff(a, b):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(_leaves(a), _leaves(b), strict=True))


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_full_batch_sgd_is_euler_bitwise(problem, dtype):
    system = mfsim.TwoLayerNetwork(problem.x_train.astype(dtype), problem.y_train.astype(dtype),
                                   width=8, activation="tanh")
    euler = _run(system, diffrax.Euler())
    sgd = _run(system, mfsim.sgd())
    assert euler.succeeded and sgd.succeeded
    assert _bitwise(euler.final_state, sgd.final_state)
    assert np.array_equal(euler.values["train_loss"], sgd.values["train_loss"])
    assert np.array_equal(euler.ts, sgd.ts)  # flow time: steps x eta / tau


def _optax_loop(system, tx, scale):
    """``STEPS`` optax steps on ``scale * grad J`` (full batch) from seed 1's init."""
    theta = system.init(jax.random.key(1))
    state = tx.init(theta)
    grad = jax.jit(jax.grad(system.objective))
    for _ in range(STEPS):
        g = jax.tree.map(lambda g: scale * g, grad(theta))
        updates, state = tx.update(g, state, theta)
        theta = optax.apply_updates(theta, updates)
    return theta


def test_momentum_and_adam_equal_hand_written_optax_loops(problem):
    tau = float(problem.time_scale())
    # heavy ball: optax.sgd with learning rate eta = tau dt on grad J
    got = _run(problem, mfsim.sgd(momentum=0.9)).final_state
    ref = _optax_loop(problem, optax.sgd(tau * DT, momentum=0.9), 1.0)
    assert _max_diff(got, ref) < 1e-12
    got = _run(problem, mfsim.sgd(momentum=0.9, nesterov=True)).final_state
    ref = _optax_loop(problem, optax.sgd(tau * DT, momentum=0.9, nesterov=True), 1.0)
    assert _max_diff(got, ref) < 1e-12
    # Adam sees the flow's velocity tau grad J, learning rate dt
    got = _run(problem, mfsim.adam()).final_state
    ref = _optax_loop(problem, optax.adam(DT), tau)
    assert _max_diff(got, ref) < 1e-12
    moved = _max_diff(got, problem.init(jax.random.key(1)))
    assert moved > 0.1  # the comparison is not of two resting states


def test_schedule_multiplies_the_step(problem):
    schedule = optax.cosine_decay_schedule(1.0, STEPS)
    got = _run(problem, mfsim.sgd(schedule=schedule)).final_state
    tau = float(problem.time_scale())
    ref = _optax_loop(problem, optax.sgd(optax.cosine_decay_schedule(tau * DT, STEPS)), 1.0)
    assert _max_diff(got, ref) < 1e-12


def test_minibatches_without_replacement_visit_every_row_once_per_epoch(problem):
    batches = mfsim.Minibatch(5)  # 16 rows: 3 steps per epoch, one row left out
    key = jax.random.key(3)
    x0 = np.asarray(problem.x_train[:, 0])
    for epoch in range(2):
        seen = np.concatenate([np.asarray(batches.draw(problem, key, jnp.asarray(
            3 * epoch + k))[0][:, 0]) for k in range(3)])
        index = [int(np.flatnonzero(x0 == v)[0]) for v in seen]
        assert len(set(index)) == 15  # no row twice within an epoch
    first = [np.asarray(batches.draw(problem, key, jnp.asarray(k))[0]) for k in range(6)]
    assert not np.array_equal(first[0], first[3])  # a fresh permutation each epoch


def test_minibatch_sgd_equals_a_loop_over_its_batches(problem):
    for replacement in (False, True):
        batches = mfsim.Minibatch(4, replacement=replacement)
        start = mfsim.Start(problem.init(jax.random.key(1)), 7)
        got = _run(problem, mfsim.sgd(batches=batches), start).final_state
        theta = problem.init(jax.random.key(1))
        tau = float(problem.time_scale())
        tx = optax.sgd(tau * DT)
        state = tx.init(theta)

        def loss(theta, x, y):  # the weighted squared loss on a batch, written out
            f = problem.predict(theta, x)
            return problem.loss_weight() * 0.5 * jnp.mean((f - y) ** 2)

        for k in range(STEPS):
            x, y = batches.draw(problem, jax.random.key(7), jnp.asarray(k))
            updates, state = tx.update(jax.grad(loss)(theta, x, y), state, theta)
            theta = optax.apply_updates(theta, updates)
        assert _max_diff(got, theta) < 1e-12
        full = _run(problem, mfsim.sgd()).final_state
        assert _max_diff(got, full) > 1e-3  # the batches matter


def test_stochastic_run_from_a_state_needs_a_noise_key(problem):
    state = problem.init(jax.random.key(1))
    with pytest.raises(ValueError, match="noise_key"):
        mfsim.simulate(problem, state,
                       mfsim.SolveSettings.of(mfsim.sgd(batches=mfsim.Minibatch(4)), t1=1.0, dt=DT,
                                              adaptive=False))


class _Store(mfsim.AbstractCheckpointStore):
    """In memory; raises KeyboardInterrupt after ``stop_after`` saves."""

    def __init__(self, stop_after=None):
        self.arrays, self.saves, self.stop_after = None, 0, stop_after

    def load(self):
        return self.arrays

    def save(self, arrays):
        self.arrays, self.saves = dict(arrays), self.saves + 1
        if self.saves == self.stop_after:
            raise KeyboardInterrupt


@pytest.mark.parametrize("solver", [mfsim.sgd(batches=mfsim.Minibatch(4)),
                                    mfsim.adam(batches=mfsim.Minibatch(4, replacement=True))],
                         ids=["sgd", "adam"])
def test_interrupted_sgd_resumes_bitwise(problem, solver):
    whole = _run(problem, solver, checkpoint_every=2, checkpoint=_Store())
    store = _Store(stop_after=1)
    with pytest.raises(KeyboardInterrupt):
        _run(problem, solver, checkpoint_every=2, checkpoint=store)
    store.stop_after = None
    resumed = _run(problem, solver, checkpoint_every=2, checkpoint=store)
    assert resumed.succeeded and store.saves == 3  # 1 segment before, 2 after the stop
    assert _bitwise(whole.final_state, resumed.final_state)
    assert np.array_equal(whole.values["train_loss"], resumed.values["train_loss"])
    # one segmented solve and one unsegmented differ by rounding of the step grid only
    plain = _run(problem, solver)
    assert _max_diff(plain.final_state, whole.final_state) < 1e-12


SCRIPT = textwrap.dedent("""
    import hashlib, jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    import mfsim
    x = jax.random.normal(jax.random.key(0), (16, 3))
    s = mfsim.TwoLayerNetwork(x, jnp.sin(x[:, 0]), width=8, activation="tanh")
    t = mfsim.simulate(s, 4, mfsim.SolveSettings.of(mfsim.sgd(momentum=0.5, batches=mfsim.Minibatch(
        3, replacement=True)), t1=2.0, dt=0.1), n_save=3)
    h = hashlib.sha256()
    for leaf in jax.tree.leaves(t.final_state):
        h.update(np.asarray(leaf).tobytes())
    print(h.hexdigest())
""")


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_same_seed_same_sgd_run_in_separate_processes():
    digests = [subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                              check=True).stdout.strip() for _ in range(2)]
    assert digests[0] == digests[1] and len(digests[0]) == 64


SCENARIO = {
    "name": "sgd", "dtype": "float64", "seed": 2,
    "task": {"kind": "teacher", "d": 3, "n_train": 12, "n_test": 16},
    "system": {"kind": "two_layer", "width": 8, "activation": "tanh"},
    "solver": {"name": "euler", "learning_rate": 0.4, "steps": 20},
    "save": {"n": 5},
}


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_scenario_sgd_full_batch_equals_euler_and_seeded_batches_differ_by_seed():
    euler = mfsim.run(SCENARIO)
    sgd = mfsim.run(SCENARIO, solver__name="sgd")
    assert np.array_equal(euler["train_loss"].values, sgd["train_loss"].values)
    mini = mfsim.run(SCENARIO, solver__name="sgd", solver__batch_size=4, seed=[2, 3],
                     task__seed=2)
    again = mfsim.run(SCENARIO, solver__name="sgd", solver__batch_size=4, seed=[2, 3],
                      task__seed=2)
    loss = mini["train_loss"].values
    assert np.array_equal(loss, again["train_loss"].values)  # the seed fixes the batches
    assert np.all(np.isfinite(loss)) and not np.array_equal(loss[0], loss[1])
    # online SGD on the teacher's stream: the test loss falls
    online = mfsim.run(SCENARIO, solver__name="sgd", solver__online=True, solver__steps=300)
    test = online["test_loss"].values
    assert test[-1] < 0.5 * test[0]


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_sgd_vs_flow_shrunk(tmp_path):
    """sgd_vs_flow.toml shrunk: SGD and its flow twin share the initial state and
    the time axis; the gap to the flow falls as the batch grows."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scenarios" / "sgd_vs_flow.toml"
    r = mfsim.run_scenario(path, out=tmp_path, overrides={
        "system.width": 64, "task.n_train": 64, "task.n_test": 64, "solver.learning_rate": 64.0,
        "solver.steps": 100, "save.n": 12, "solver.batch_size": [4, 64]})
    assert r.succeeded
    ds = r.dataset
    assert np.array_equal(ds["train_loss"].isel(t=0).values, ds["flow_train_loss"].isel(
        t=0).values)
    gap = ds["flow_gap"].isel(t=-1).values
    assert gap[0] > 2 * gap[1], gap
    loss = ds["train_loss"].values
    assert np.all(loss[:, -1] < 0.5 * loss[:, 0])
    assert (tmp_path / "loss.png").stat().st_size > 0
