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
