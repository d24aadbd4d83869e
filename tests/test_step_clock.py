"""The clock of a fixed-step solve (mfsim/_solve/step_clock.py): in float32,
every step exactly dt long and all n of them taken, where diffrax's own clock
merges the last steps of a long run and jitters each step's length."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfsim
from mfsim._solve.step_clock import StepClock, StepTerm

DT = 2.0**-10  # exact in float32, and so is its rate 2 / dt


class Flip(mfsim.AbstractSystem):
    """dy/dt = -(2 / dt) y: a gradient-descent step of dt maps y to -y, exactly
    in floating point; a step of any other length changes |y|."""

    rate: float = eqx.field(static=True)

    def init(self, key):
        return jnp.ones(3, jnp.float32)

    def vector_field(self, t, y, args):
        return -self.rate * y


def test_a_long_float32_gd_run_takes_every_step_at_its_length():
    n = 3 * 2**16  # t1 = 192: diffrax's own clock merges the last steps (100 ulps > dt)
    t1 = n * DT
    system = Flip(2.0 / DT)
    y0 = system.init(None)
    save = np.array([0.0, 1000 * DT, 0.5 * t1, t1 - DT, t1], np.float32)
    traj = mfsim.simulate(system, y0, mfsim.SolveSettings.of(
        diffrax.Euler(), t1=t1, dt=DT, max_steps=n + 10, save_times=save), n_save=None)
    assert traj.stats["num_steps"] == n
    # n steps of length dt flip the sign n times, |y| stays exactly 1
    np.testing.assert_array_equal(np.asarray(traj.final_state), np.asarray(y0) * (-1.0) ** n)
    # the save times are the requested ones, exactly
    np.testing.assert_array_equal(np.asarray(traj.ts), save)
    # what diffrax's own clock does with the same run: fewer steps, one of them longer
    f32 = np.float32
    raw = diffrax.diffeqsolve(diffrax.ODETerm(system.vector_field), diffrax.Euler(), f32(0.0),
                              f32(t1), f32(DT), y0, max_steps=n + 10,
                              saveat=diffrax.SaveAt(t1=True))
    assert int(raw.stats["num_steps"]) < n and float(jnp.abs(raw.ys[0, 0])) != 1.0


def test_the_step_term_s_control_is_the_nominal_step():
    clock = StepClock(jnp.float32(0.0), jnp.float32(400.0), jnp.float32(1e-3))
    terms = clock.terms(diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: t), diffrax.ODETerm(
        lambda t, y, a: y)))
    first = terms.terms[0]
    assert isinstance(first, StepTerm)
    # a step of [t, t + dt] near t = 400 spans a rounded 1.007e-3 of float32 time
    s0 = clock.shift(jnp.float32(300.0))
    s1 = s0 + jnp.float32(1e-3)
    assert float(s1 - s0) != pytest.approx(1e-3, rel=1e-4)
    assert float(first.contr(s0, s1)) == np.float32(1e-3)
    # the field sees the run's time
    assert float(first.vf(s0, 0.0, None)) == pytest.approx(300.0, rel=1e-6)
    assert jax.tree.structure(clock.span) == jax.tree.structure((0.0, 0.0))
