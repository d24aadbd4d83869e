"""U5 of issue 18: rough edges of the public API met while writing checks
against it, each with the behaviour a researcher expects."""

import inspect

import jax
import jax.numpy as jnp
import pytest

import mfsim

TASKS = [mfsim.teacher_task, mfsim.sinusoid_task, mfsim.sparse_regression_task,
         mfsim.linear_teacher_task, mfsim.sequence_model_task]


def test_every_documented_task_is_exported_and_defaults_to_float32():
    for task in TASKS:
        assert inspect.signature(task).parameters["dtype"].default is jnp.float32, task
    data = mfsim.linear_teacher_task(jax.random.key(0), d=4, d_out=2, n_train=8, n_test=4,
                                     singular_values=[2.0, 1.0])
    assert data.x_train.dtype == jnp.float32 and data.y_train.shape == (8, 2)


class Mine(mfsim.AbstractGradientFlowSystem):
    """A user's system with none of the supervised capabilities."""

    x: jax.Array

    def init(self, key):
        return jnp.zeros(3)

    def objective(self, state):
        return jnp.sum((state - self.x) ** 2)

    def time_scale(self):
        return jnp.asarray(1.0)


def test_a_monitor_that_does_not_fit_says_what_to_implement():
    with pytest.raises(ValueError, match="KernelMonitor cannot monitor Mine: it requires "
                       "AbstractSupervisedSystem and AbstractScalarOutputSystem: subclass "
                       "them and implement loss_weight, ntk, predict, train_outputs"):
        mfsim.simulate(Mine(jnp.ones(3)), jnp.zeros(3), t1=1.0,
                       monitors=[mfsim.KernelMonitor(subsample=2)])


def test_linearizing_a_system_without_an_ntk_says_what_to_implement():
    with pytest.raises(TypeError, match="Linearized cannot linearize Mine: it requires "
                       "AbstractSupervisedSystem: subclass it and implement loss_weight, ntk, "
                       "predict, train_outputs"):
        mfsim.Linearized(Mine(jnp.ones(3)), jnp.zeros(3))


def test_invariant_drift_can_be_relative():
    """The balancedness of a deep linear network from a Gaussian init is
    O(scale^2): its relative drift is the absolute one over the initial size."""
    with jax.enable_x64(True):
        data = mfsim.linear_teacher_task(jax.random.key(1), d=3, d_out=2, n_train=16,
                                         n_test=4, singular_values=[2.0, 1.0],
                                         dtype=jnp.float64)
        net = mfsim.DeepLinearNetwork(data.x_train, data.y_train, widths=(4,), scale=3.0)
        state0 = net.init(jax.random.key(2))
        monitor = mfsim.InvariantDrift.of(net, state0, relative=True)
        traj = mfsim.simulate(net, state0, t1=1.0, solver="euler", dt=0.05, n_save=3,
                              monitors=[monitor])
        (name,) = monitor.names
        size = max(float(jnp.max(jnp.abs(q))) for q in [net.invariants(state0)[name]])
        absolute = traj.values[f"drift_{name}"]
        assert float(absolute[-1]) > 0  # gradient descent does not conserve it exactly
        assert jnp.allclose(traj.values[f"drift_rel_{name}"], absolute / max(size, 1.0),
                            rtol=1e-12)
