"""mfsim.fixed_point: the committee twin's symmetric plateau against Saad and
Solla's closed form, its Jacobian against finite differences, and the deep
linear network's fixed points (Saxe et al.) against their closed-form spectra."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import mfsim
from mfsim import OrderParameterODE, OverlapState
from mfsim._systems.deep_linear import whiten


def committee_twin(K, eta=0.0):
    start = OverlapState(Q=0.01 * jnp.eye(K, dtype=jnp.float64),
                         R=jnp.zeros((K, K), jnp.float64), v=jnp.ones(K, jnp.float64))
    return OrderParameterODE(start, jnp.eye(K), jnp.ones(K), eta=eta)


def plateau_error(K):
    return (K / math.pi) * (math.pi / 6 - K * math.asin(1 / (2 * K)))


def finite_difference_jacobian(system, state, h=1e-6):
    """Central differences of the vector field, entry by entry (numpy loop)."""
    flat, unravel = ravel_pytree(state)
    flat = np.asarray(flat, np.float64)
    cols = []
    for j in range(flat.size):
        e = np.zeros_like(flat)
        e[j] = h
        f = [np.asarray(ravel_pytree(system.vector_field(0.0, unravel(jnp.asarray(flat + s * e)),
                                                         None))[0]) for s in (1, -1)]
        cols.append((f[0] - f[1]) / (2 * h))
    return np.stack(cols, axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("K", [2, 3, 4, 5])
def test_committee_plateau_closed_form(K):
    """eta -> 0: eps* = (K/pi)(pi/6 - K arcsin(1/(2K))) to 1e-8 (measured
    ~1e-14), Q = 1/(2K-1), R = 1/sqrt(K(2K-1)); a saddle, its (K-1)^2
    unstable eigenvalues equal (the students' permutations) and positive."""
    twin = committee_twin(K)
    # start away from the closed form so that Newton has work to do
    guess = OverlapState(Q=jnp.full((K, K), 0.8 / (2 * K - 1)),
                         R=jnp.full((K, K), 1.2 / math.sqrt(K * (2 * K - 1))), v=jnp.ones(K))
    fp = twin.plateau(guess)
    assert fp.converged and fp.steps > 1
    eps = float(twin.generalization_error(fp.state))
    np.testing.assert_allclose(eps, plateau_error(K), rtol=1e-8, atol=0)
    np.testing.assert_allclose(fp.state.Q, 1 / (2 * K - 1), rtol=1e-8)
    np.testing.assert_allclose(fp.state.R, 1 / math.sqrt(K * (2 * K - 1)), rtol=1e-8)
    assert fp.kind == "saddle" and fp.unstable == (K - 1) ** 2
    up = fp.unstable_eigenvalues
    np.testing.assert_allclose(up.imag, 0, atol=1e-10)
    np.testing.assert_allclose(up.real, up.real[0], rtol=1e-8)
    assert 0 < up.real[0] < 0.1
    # the escape estimate: ln(reach/distance) / lambda_+
    assert fp.escape_time(1e-6) == pytest.approx(math.log(1e6) / up.real[0], rel=1e-12)


def test_committee_plateau_jacobian_against_finite_differences():
    """K = 2: the Jacobian over all of Q, R, v equals central differences to
    1e-8, and so does its one unstable eigenvalue (numpy's eigvals on each)."""
    twin = committee_twin(2)
    fp = twin.plateau()
    fd = finite_difference_jacobian(twin, fp.state)
    np.testing.assert_allclose(fp.jacobian, fd, atol=1e-8)
    lam = np.linalg.eigvals(fd)
    np.testing.assert_allclose(fp.unstable_eigenvalues.real, np.max(lam.real), rtol=1e-7)
    assert fp.unstable == 1 and np.sum(lam.real > 1e-6) == 1


def test_committee_plateau_at_finite_eta_moves_up():
    """The eta^2 noise term lifts the plateau (eta = 0.5, K = 2): still a
    converged fixed point of the full field, above the eta -> 0 height."""
    twin = committee_twin(2, eta=0.5)
    fp = twin.plateau()
    assert fp.converged and fp.kind == "saddle"
    full = np.asarray(ravel_pytree(twin.vector_field(0.0, fp.state, None))[0])
    assert np.max(np.abs(full)) < 1e-12
    assert float(twin.generalization_error(fp.state)) > plateau_error(2) * 1.05


def test_plateau_needs_interchangeable_students():
    start = OverlapState(Q=0.01 * jnp.eye(2), R=jnp.zeros((2, 2)), v=jnp.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="equal second-layer"):
        OrderParameterODE(start, jnp.eye(2), jnp.ones(2)).plateau()


@pytest.fixture(scope="module")
def saxe_network():
    """Two-layer linear network, whitened inputs, Sigma_yx with singular
    values (3, 2, 0.5), hidden width 3, tau = 0.7."""
    rng = np.random.default_rng(0)
    x = whiten(jnp.asarray(rng.normal(size=(40, 3))))
    u, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    v, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    m = u @ np.diag([3.0, 2.0, 0.5]) @ v.T
    net = mfsim.DeepLinearNetwork(x, x @ m.T, widths=(3,), time_scale=0.7)
    return net, m, rng


def test_saxe_origin_is_a_saddle(saxe_network):
    """At W = 0 the flow's Jacobian is tau [[0, S^T], [S, 0]] per hidden unit:
    eigenvalues +-tau s_i, each h times (a mode u = a b grows at 2 tau s)."""
    net, m, rng = saxe_network
    s = np.linalg.svd(m, compute_uv=False)
    guess = tuple(jnp.asarray(0.01 * rng.normal(size=(3, 3))) for _ in range(2))
    fp = mfsim.fixed_point(net, guess)
    assert fp.converged and max(float(jnp.abs(w).max()) for w in fp.state) < 1e-12
    assert fp.kind == "saddle" and fp.unstable == 9 and fp.neutral == 0
    expected = np.sort(np.concatenate([np.repeat(0.7 * s, 3), -np.repeat(0.7 * s, 3)]))
    np.testing.assert_allclose(np.sort(fp.eigenvalues.real), expected, atol=1e-12)


def test_saxe_minimum(saxe_network):
    """From near the balanced minimum, Newton lands on a minimum (W2 W1 =
    Sigma_yx; stable, h^2 = 9 neutral directions: the GL(h) symmetry). At the
    balanced one (W1 = S^1/2 V^T, W2 = U S^1/2) the eigenvalues are
    -tau (s_i + s_j) and nine zeros."""
    net, m, rng = saxe_network
    u, s, vt = np.linalg.svd(m)
    balanced = (jnp.asarray(np.diag(np.sqrt(s)) @ vt), jnp.asarray(u @ np.diag(np.sqrt(s))))
    guess = tuple(w + 0.01 * rng.normal(size=w.shape) for w in balanced)
    fp = mfsim.fixed_point(net, guess)
    assert fp.converged and fp.kind == "stable" and fp.neutral == 9
    np.testing.assert_allclose(fp.state[1] @ fp.state[0], m, atol=1e-12)
    at = mfsim.fixed_point(net, balanced)
    expected = np.sort(-0.7 * (s[:, None] + s[None, :]).ravel())
    np.testing.assert_allclose(np.sort(at.eigenvalues.real)[:9], expected, rtol=1e-10)
    np.testing.assert_allclose(at.eigenvalues[:9], 0, atol=1e-12)  # by decreasing real part
    assert at.escape_time(1e-3) == math.inf
