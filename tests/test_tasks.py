"""Tasks: seeded, shaped and distributed as documented."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfsim


def test_teacher_task_is_seeded_and_matches_its_teacher(key):
    a = mfsim.teacher_task(key, d=5, n_train=30, n_test=20, teacher_width=3, noise=0.0)
    b = mfsim.teacher_task(key, d=5, n_train=30, n_test=20, teacher_width=3, noise=0.0)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    c = mfsim.teacher_task(jax.random.key(9), d=5, n_train=30, n_test=20, teacher_width=3)
    assert not np.allclose(a.x_train, c.x_train)
    assert a.x_train.shape == (30, 5) and a.x_test.shape == (20, 5)
    # targets recomputed from the reference particles (a_i, u_i): (1/k) sum a_i relu(u_i.x)
    p = np.asarray(a.teacher_particles)
    av, u = p[:, 0], p[:, 1:]
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=1e-6)
    want = np.maximum(np.asarray(a.x_test) @ u.T, 0) @ av / 3
    np.testing.assert_allclose(a.y_test, want, rtol=1e-5, atol=1e-6)


def test_teacher_noise_on_train_only(key):
    clean = mfsim.teacher_task(key, d=4, n_train=2000, n_test=50, dtype=jnp.float64)
    noisy = mfsim.teacher_task(key, d=4, n_train=2000, n_test=50, noise=0.3, dtype=jnp.float64)
    np.testing.assert_array_equal(clean.y_test, noisy.y_test)
    resid = np.asarray(noisy.y_train - clean.y_train)
    assert abs(resid.std() - 0.3) < 0.02


def test_sphere_inputs_have_radius_sqrt_d(key):
    data = mfsim.teacher_task(key, d=7, n_train=10, n_test=5, inputs="sphere",
                              dtype=jnp.float64)
    np.testing.assert_allclose(np.linalg.norm(data.x_train, axis=1), np.sqrt(7), rtol=1e-12)


@pytest.mark.parametrize("domain", ["interval", "circle"])
def test_sinusoids(domain, key):
    data = mfsim.sinusoid_task(key, frequencies=[1.0, 3.0], amplitudes=[1.0, 0.5],
                               phases=[0.0, 0.25], n_train=16, n_test=8, domain=domain,
                               grid=True, dtype=jnp.float64)
    s = np.arange(16) / 16
    want = np.sin(2 * np.pi * s) + 0.5 * np.sin(2 * np.pi * 3 * s + 0.25)
    np.testing.assert_allclose(data.y_train, want, rtol=1e-12, atol=1e-12)
    if domain == "circle":
        np.testing.assert_allclose(data.x_train, np.stack([np.cos(2 * np.pi * s),
                                                           np.sin(2 * np.pi * s)], 1), atol=1e-12)
    else:
        np.testing.assert_allclose(data.x_train[:, 0], s)
    s_test = (np.arange(8) + 0.5) / 8
    np.testing.assert_allclose(data.y_test, np.sin(2 * np.pi * s_test)
                               + 0.5 * np.sin(6 * np.pi * s_test + 0.25), atol=1e-12)


def test_sinusoid_length_mismatch(key):
    with pytest.raises(ValueError, match="same length"):
        mfsim.sinusoid_task(key, frequencies=[1.0, 2.0], amplitudes=[1.0], n_train=4, n_test=4)
