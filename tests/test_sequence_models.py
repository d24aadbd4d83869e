"""Sequence models (C3): vanilla closed form, diagonal model invariants and its
D = 0 exact solution, conserved quantities of theta = A D beta, orthogonality."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import mfsim
from mfsim._tasks.sequence import misaligned_signal

TIGHT = dict()


class Theta(mfsim.AbstractMonitor):
    def __call__(self, t, state, ref):
        return {"theta": ref.system.theta(state)}

    def variables(self):
        return mfsim.Variable.plain({"theta": "estimate"})


class Invariants(mfsim.AbstractMonitor):
    def __call__(self, t, state, ref):
        return ref.system.invariants(state)

    def variables(self):
        return mfsim.Variable.plain({})


class Orthogonality(mfsim.AbstractMonitor):
    def __call__(self, t, state, ref):
        a = ref.system.matrix(state)
        return {"ortho": jnp.max(jnp.abs(a.T @ a - jnp.eye(a.shape[0])))}

    def variables(self):
        return mfsim.Variable.plain({"ortho": ""})


@pytest.fixture(scope="module")
def data():
    return mfsim.sequence_model_task(jax.random.key(0), n=400, N=12, p=1.0, q=2.0, gamma=1.5,
                                     dtype=jnp.float64)


def test_misaligned_signal_layout():
    theta = misaligned_signal(20, p=1.0, q=2.0)
    nz = np.flatnonzero(theta) + 1
    np.testing.assert_array_equal(nz, [1, 4, 9, 16])  # l(j) = j^2
    np.testing.assert_allclose(theta[nz - 1], np.arange(1, 5) ** -1.0)  # j^-(p+1)/2


def test_vanilla_matches_closed_form(data):
    model = mfsim.VanillaSequenceModel(data)
    ts = np.linspace(0.0, 50.0, 11)
    traj = mfsim.simulate(model, 0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=50.0, rtol=1e-12, atol=1e-14),
                          save_times=ts, monitors=[Theta(), mfsim.Risk()], **TIGHT)
    want = np.asarray(model.solution(ts))
    np.testing.assert_allclose(traj.values["theta"], want, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(traj.values["risk"],
                               np.sum((want - np.asarray(data.theta_star)) ** 2, axis=1),
                               rtol=1e-9)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_diagonal_model_invariants(data, depth):
    model = mfsim.DiagonalSequenceModel(data, depth=depth, b0=0.5)
    traj = mfsim.simulate(model, 0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=40.0, rtol=1e-12, atol=1e-14),
                          n_save=9, monitors=[Invariants(), Theta()], **TIGHT)
    assert traj.succeeded
    for name, values in traj.values.items():
        if name != "theta":
            assert np.max(np.abs(values)) < 1e-9, name
    assert np.abs(traj.values["theta"][-1]).max() > 0.1  # it learned something


def _exact_d0(z, lam, t):
    """theta(t) solving F(theta) - F(0) = t, F' = 1/((z - theta) sqrt(lam^2 + 4 theta^2))."""
    s = np.sqrt(lam**2 + 4 * z**2)

    def F(x):
        return np.log((lam**2 + 4 * z * x + s * np.sqrt(lam**2 + 4 * x**2)) / abs(z - x)) / s

    if t == 0:
        return 0.0
    lo, hi = (0.0, z) if z > 0 else (z, 0.0)
    target = F(0.0) + t
    g = lambda x: F(x) - target  # noqa: E731  (monotone between 0 and z)
    edge = z * (1 - 1e-15)
    if g(edge) < 0:  # converged to z within floating point
        return z
    return brentq(g, lo if z > 0 else edge, edge if z > 0 else hi, xtol=1e-15, rtol=1e-15)


def test_diagonal_d0_matches_exact_solution(data):
    model = mfsim.DiagonalSequenceModel(data, depth=0)
    ts = np.linspace(0.0, 30.0, 7)
    traj = mfsim.simulate(model, 0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=30.0, rtol=1e-12, atol=1e-14),
                          save_times=ts, monitors=[Theta()], **TIGHT)
    z, lam = np.asarray(data.z), np.asarray(data.lam)
    want = np.array([[_exact_d0(z[j], lam[j], t) for j in range(z.size)] for t in ts])
    np.testing.assert_allclose(traj.values["theta"], want, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("orthogonal", [False, True])
def test_adaptive_model_conserved_quantities(data, orthogonal):
    model = mfsim.AdaptiveSequenceModel(data, orthogonal=orthogonal)
    mons = [Invariants(), Theta(), mfsim.Risk(), mfsim.LearnedKernel(k=4)]
    if orthogonal:
        mons.append(Orthogonality())
    traj = mfsim.simulate(model, 0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=30.0, rtol=1e-12, atol=1e-14),
                          n_save=7, monitors=mons, **TIGHT)
    assert traj.succeeded
    names = {"d_beta"} | ({"orthogonality"} if orthogonal else {"column_d"})
    for name in names:
        assert np.max(np.abs(traj.values[name])) < 1e-9, name
    if orthogonal:
        assert np.max(traj.values["ortho"]) < 1e-10
    # A moved away from the identity (the eigenvectors were learned)
    a = model.matrix(traj.final_state)
    assert np.abs(np.asarray(a) - np.eye(12)).max() > 1e-3
    # the learned kernel: eigenvalues sorted, top-share a cumulative fraction in [0, 1]
    share = traj.values["kernel_top_share"]
    assert np.all(np.diff(share, axis=1) >= -1e-12) and np.all(share <= 1 + 1e-12)


def test_adaptive_model_free_a_is_a_gradient_flow(data):
    # the derived invariants hold only for the true gradient: check the vector field
    # against central finite differences of the objective
    model = mfsim.AdaptiveSequenceModel(data)
    s = model.init()
    s = mfsim.AdaptiveState(A=s.A + 0.01 * jnp.arange(144.0).reshape(12, 12) / 144,
                            d=s.d, beta=s.beta + 0.1)
    vf = model.vector_field(0.0, s, None)
    eps = 1e-6
    for (i, j) in [(0, 0), (3, 5), (11, 2)]:
        up = mfsim.AdaptiveState(A=s.A.at[i, j].add(eps), d=s.d, beta=s.beta)
        dn = mfsim.AdaptiveState(A=s.A.at[i, j].add(-eps), d=s.d, beta=s.beta)
        fd = (model.objective(up) - model.objective(dn)) / (2 * eps)
        np.testing.assert_allclose(-vf.A[i, j], fd, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("kind", ["vanilla", "diagonal", "adaptive"])
def test_learned_kernel_matches_dense_eigendecomposition(data, kind):
    # the monitor's top-k eigenpairs (top_k of a diagonal, or eigh) against numpy's eigh
    # of the dense kernel matrix at the final state
    model = {"vanilla": lambda: mfsim.VanillaSequenceModel(data),
             "diagonal": lambda: mfsim.DiagonalSequenceModel(data, depth=1, b0=0.5),
             "adaptive": lambda: mfsim.AdaptiveSequenceModel(data)}[kind]()
    traj = mfsim.simulate(model, 0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=20.0, rtol=1e-12, atol=1e-14),
                          n_save=3, monitors=[mfsim.LearnedKernel(k=5)], **TIGHT)
    s = traj.final_state
    dense = (np.asarray(model.kernel(s)) if kind == "adaptive"
             else np.diag(np.asarray(model.kernel_diagonal(s))))
    lam, vec = np.linalg.eigh(dense)
    lam, vec = lam[::-1][:5], vec[:, ::-1][:, :5]
    star = np.asarray(data.theta_star)
    share = np.cumsum((vec.T @ star) ** 2) / np.sum(star**2)
    np.testing.assert_allclose(traj.values["kernel_eigenvalues"][-1], lam, rtol=1e-10)
    np.testing.assert_allclose(traj.values["kernel_top_share"][-1], share, rtol=1e-9,
                               atol=1e-12)
    if kind == "vanilla":  # a fixed kernel: the share does not move
        np.testing.assert_allclose(traj.values["kernel_top_share"][0], share, rtol=1e-12)
    else:  # a learned kernel turns towards theta*
        assert share[-1] > traj.values["kernel_top_share"][0][-1] + 1e-3


def test_orthogonal_model_is_the_riemannian_gradient_flow(data):
    """The orthogonal model against scipy's solve_ivp on the flow written out
    in numpy: dA/dt = -A skew(A^T G), G = -r (d beta)^T, r = z - A(d beta);
    dd/dt = (A^T r) beta, dbeta/dt = (A^T r) d (time scale 1), from a
    non-identity orthogonal basis; rtol 1e-8 on theta."""
    from scipy.integrate import solve_ivp

    n = int(data.z.shape[0])
    basis, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(n, n)))
    model = mfsim.AdaptiveSequenceModel(data, orthogonal=True, basis=basis)
    ts = np.array([0.0, 0.5, 2.0, 8.0])
    traj = mfsim.simulate(model, 0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=8.0, rtol=1e-12, atol=1e-14),
                          save_times=ts, monitors=[Theta()], **TIGHT)
    z, lam = np.asarray(data.z), np.asarray(data.lam)

    def field(t, y):
        a, d, beta = y[: n * n].reshape(n, n), y[n * n: n * n + n], y[n * n + n:]
        r = z - a @ (d * beta)
        g = -np.outer(r, d * beta)
        m = a.T @ g
        da = -a @ (0.5 * (m - m.T))
        atr = a.T @ r
        return np.concatenate([da.ravel(), atr * beta, atr * d])

    y0 = np.concatenate([basis.ravel(), np.sqrt(lam), np.zeros(n)])
    sol = solve_ivp(field, (0.0, 8.0), y0, t_eval=ts, method="DOP853", rtol=1e-12, atol=1e-14)
    theta = [sol.y[: n * n, k].reshape(n, n) @ (sol.y[n * n: n * n + n, k]
                                                * sol.y[n * n + n:, k]) for k in range(ts.size)]
    np.testing.assert_allclose(traj.values["theta"], np.array(theta), rtol=1e-8, atol=1e-12)
