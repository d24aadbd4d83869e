"""Dot-product kernels on the sphere (issue 19, B5, first part): Funk-Hecke
eigenvalues against scipy.integrate.quad, multiplicities, Gegenbauer
polynomials."""

import math

import diffrax
import numpy as np
import pytest
from scipy.integrate import quad

import mfsim
from mfsim._kernels.sphere import _surface_ratio, profile

SIGMA_W = 1.3


def _fc(activation):
    def kernel(a, b):
        return mfsim.fc_kernels(np.asarray(a), np.asarray(b), depth=1, activation=activation,
                                sigma_w=SIGMA_W, sigma_b=0.0)[1]
    return kernel


def _kappa(activation, t):
    """The same one-hidden-layer NTK written out in numpy (inputs of norm
    sqrt(d), so the pre-activation covariance is sw^2 [[1, t], [t, 1]]):
    sw^2 t E[phi'(u) phi'(v)] + sw^2 E[phi(u) phi(v)], arc-cosine and arcsine
    closed forms."""
    s, c = SIGMA_W**2, SIGMA_W**2 * t
    if activation == "relu":
        theta = np.arccos(np.clip(t, -1, 1))
        e_phi = s / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * np.cos(theta))
        e_dphi = (np.pi - theta) / (2 * np.pi)
    else:  # erf
        e_phi = 2 / np.pi * np.arcsin(2 * c / (1 + 2 * s))
        e_dphi = 4 / np.pi / np.sqrt((1 + 2 * s) ** 2 - 4 * c**2)
    return c * s * e_dphi + s * e_phi


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("d", [3, 5, 10])
def test_eigenvalues_match_direct_integration(activation, d):
    """mu_k = (w_{d-2}/w_{d-1}) int kappa(t) P_k(t) (1-t^2)^((d-3)/2) dt by
    adaptive quadrature in t (scipy quad, of kappa written out in numpy),
    to 1e-10 (relative to the largest: the ReLU kernel's odd degrees above 1 and the
    odd erf kernel's even degrees vanish), for
    the NTK of fc_kernels on inputs of the sphere of radius sqrt(d)."""
    kernel = _fc(activation)
    radius = math.sqrt(d)
    t = np.linspace(-1, 1, 9)
    np.testing.assert_allclose(profile(kernel, d, t, radius), _kappa(activation, t),
                               rtol=1e-12, atol=1e-14)
    degrees = range(8)
    mu = mfsim.sphere_eigenvalues(kernel, d, degrees, radius=radius)
    ref = [_surface_ratio(d) * quad(lambda t, k=k: _kappa(activation, t)
                                    * mfsim.gegenbauer(k, d, t) * (1 - t * t) ** ((d - 3) / 2),
                                    -1, 1, epsabs=1e-15, epsrel=1e-13, limit=1000)[0]
           for k in degrees]
    np.testing.assert_allclose(mu, ref, rtol=1e-10, atol=1e-10 * np.max(np.abs(ref)))
    assert np.all(mu > -1e-12)  # a positive-definite kernel


def test_eigenvalues_sum_to_the_kernel_diagonal():
    """Mercer: sum_k N(d, k) mu_k = kappa(1)."""
    d = 5
    kernel = _fc("erf")
    mu = mfsim.sphere_eigenvalues(kernel, d, range(80), radius=math.sqrt(d))
    total = sum(mfsim.harmonic_multiplicity(d, k) * m for k, m in enumerate(mu))
    np.testing.assert_allclose(total, profile(kernel, d, np.array([1.0]), math.sqrt(d))[0],
                               rtol=1e-8)


def test_multiplicities_and_gegenbauer_polynomials():
    assert [mfsim.harmonic_multiplicity(3, k) for k in range(5)] == [1, 3, 5, 7, 9]
    assert [mfsim.harmonic_multiplicity(2, k) for k in range(4)] == [1, 2, 2, 2]
    assert [mfsim.harmonic_multiplicity(4, k) for k in range(4)] == [1, 4, 9, 16]  # (k+1)^2
    assert mfsim.harmonic_multiplicity(10, 2) == 54  # d(d+1)/2 - 1
    t = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(mfsim.gegenbauer(2, 3, t), 1.5 * t**2 - 0.5)  # Legendre
    for d in (2, 3, 6):
        assert mfsim.gegenbauer(4, d, 1.0) == pytest.approx(1.0)
        # orthogonal under the weight (1 - t^2)^((d-3)/2), in the angle
        inner = quad(lambda s: mfsim.gegenbauer(2, d, np.cos(s)) * mfsim.gegenbauer(
            3, d, np.cos(s)) * np.sin(s) ** (d - 2), 0, np.pi)[0]
        assert abs(inner) < 1e-12
    with pytest.raises(ValueError, match="d >= 2"):
        mfsim.harmonic_multiplicity(1, 0)


def test_kernel_flow_learns_each_degree_at_its_eigenvalue():
    """B5, third part, on the circle (d = 2, where the degree-k harmonics are
    cos k phi, sin k phi): the constant-kernel flow with the infinite-width
    NTK (erf, smooth) on n equispaced points, from f0 = 0, has the residual's
    degree-k component decaying exactly as exp(-mu_k t) (tau = 1, eta = 1/n:
    (1/n) Theta(X, X) is circulant, its eigenvalues the trapezoidal rule of
    the Funk-Hecke integral, exact to rounding for a smooth kernel), to 1e-8."""
    import jax.numpy as jnp

    n, radius = 64, 1.7
    phi = 2 * np.pi * np.arange(n) / n
    x = radius * np.stack([np.cos(phi), np.sin(phi)], axis=1)
    y = np.cos(3 * phi) + 0.5 * np.sin(5 * phi) + 0.25
    net = mfsim.TwoLayerNetwork(jnp.asarray(x), jnp.asarray(y), width=4, activation="erf",
                                bias=True, sigma_b=0.5)
    kernel = net.analytic_ntk()
    ck = mfsim.ConstantKernelFlow(kernel, lambda z: jnp.zeros(z.shape[0]), x, y)
    mu = mfsim.sphere_eigenvalues(kernel, 2, [0, 3, 5], radius=radius)
    ts = np.array([0.0, 0.5, 2.0, 7.0])
    residual = np.asarray(ck.solution(ts).train) - y  # (T, n), starts at -y
    for k, amplitude, mu_k, basis in ((0, 0.25, mu[0], np.ones(n)),
                                      (3, 1.0, mu[1], np.cos(3 * phi)),
                                      (5, 0.5, mu[2], np.sin(5 * phi))):
        component = residual @ basis / (basis @ basis)
        np.testing.assert_allclose(component, -amplitude * np.exp(-mu_k * ts), rtol=1e-8,
                                   err_msg=f"degree {k}")


def test_gegenbauer_task_puts_its_energy_in_its_degrees():
    """The target's decomposition on a sample of the sphere: exactly zero
    (to rounding) outside the task's degrees, and about c_k^2 in degree k
    (population energy c_k^2; sampling error ~ 1/sqrt(n))."""
    import jax
    import jax.numpy as jnp

    data = mfsim.gegenbauer_task(jax.random.key(0), d=4, n_train=5, n_test=1500,
                                 degrees=[1, 3], amplitudes=[1.0, 0.5], dtype=jnp.float64)
    x = np.asarray(data.x_test)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 2.0, rtol=1e-12)  # radius sqrt(d)
    monitor = mfsim.HarmonicEnergy(data.x_test, data.y_test, max_degree=4)
    energy = np.asarray(monitor.energies(data.y_test))
    assert np.all(energy[[0, 2, 4]] < 1e-20), energy
    np.testing.assert_allclose(energy[[1, 3]], [1.0, 0.25], rtol=0.15)


def test_harmonic_energies_equal_a_direct_least_squares_projection():
    """B5, second part: for an arbitrary vector g on 400 points of S^4, the
    monitor's per-degree energies (eigenvector bases of the reproducing
    kernels, a pseudo-inverse) equal a least-squares fit (numpy lstsq) on a
    different basis of the same spaces: the zonal functions P_l(x . z_j) for
    N(d, l) random directions z_j per degree; to 1e-8."""
    rng = np.random.default_rng(1)
    d, n, top = 5, 400, 4
    x = rng.normal(size=(n, d))
    x *= 3.0 / np.linalg.norm(x, axis=1, keepdims=True)
    g = rng.normal(size=n)
    monitor = mfsim.HarmonicEnergy(x, np.zeros(n), max_degree=top)
    got = np.asarray(monitor.energies(g))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    columns, owner = [], []
    for k in range(top + 1):
        z = rng.normal(size=(mfsim.harmonic_multiplicity(d, k), d))
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        columns.append(mfsim.gegenbauer(k, d, np.clip(u @ z.T, -1, 1)))
        owner += [k] * z.shape[0]
    design, owner = np.concatenate(columns, axis=1), np.array(owner)
    coef = np.linalg.lstsq(design, g, rcond=None)[0]
    want = [np.mean((design[:, owner == k] @ coef[owner == k]) ** 2) for k in range(top + 1)]
    np.testing.assert_allclose(got, want, rtol=1e-8)


@pytest.mark.slow  # ~12-13 s: keeps the README's command well under 10 min
def test_harmonics_in_a_scenario(tmp_path):
    ds = mfsim.run({"name": "sph", "dtype": "float64",
                    "task": {"kind": "gegenbauer", "d": 3, "n_train": 32, "n_test": 64,
                             "degrees": [1, 2]},
                    "system": {"width": 32}, "solver": {"t1": 20.0}, "save": {"n": 4},
                    "monitors": [{"name": "harmonics", "max_degree": 3}]}, out=tmp_path)
    assert ds.harmonic_residual.dims == ("t", "degree")
    assert list(ds.degree.values) == [0, 1, 2, 3]
    assert (tmp_path / "harmonic_residual.png").is_file()
    residual = ds.harmonic_residual.values
    assert residual[-1, 1] < residual[0, 1]  # degree 1 is being learned
    with pytest.raises(mfsim.ScenarioError, match=r"monitors\[0\]\.max_degree: degrees up "
                       r"to 6 in d = 3 have 49 harmonics"):
        mfsim.validate_scenario({"name": "x", "task": {"kind": "gegenbauer", "d": 3,
                                                       "n_test": 40},
                                 "monitors": [{"name": "harmonics", "max_degree": 6}]})
    # what a task offers is its table's capability type, never its name
    with pytest.raises(mfsim.ScenarioError, match=r"monitors\[0\]\.name: harmonics needs inputs "
                       r"on a sphere: task teacher as set draws them elsewhere \(task\.inputs = "
                       r'"sphere" puts them there\)$'):
        mfsim.validate_scenario({"name": "x", "monitors": [{"name": "harmonics"}]})
    with pytest.raises(mfsim.ScenarioError, match=r"monitors\[0\]\.name: harmonics needs a task "
                       r"with inputs on a sphere, not sinusoids; tasks with it: teacher, "
                       r"gegenbauer$"):
        mfsim.validate_scenario({"name": "x", "task": {"kind": "sinusoids"},
                                 "monitors": [{"name": "harmonics"}]})
    with pytest.raises(mfsim.ScenarioError, match=r"monitors\[0\]\.name: harmonics needs uniform"):
        mfsim.validate_scenario({"name": "x", "task": {"kind": "gegenbauer", "density": "vmf",
                                                       "kappa": 2.0},
                                 "monitors": [{"name": "harmonics"}]})


def test_first_passage_and_predicted_learning_times():
    """first_passage_time interpolates in log(value): exact for an exponential
    on a coarse grid; NaN where the level is never reached or the start is 0.
    predicted_learning_times is ln(1/fraction) / (2 mu): 1/mu by default."""
    mu = np.array([0.3, 2.0, 0.0])
    t = np.array([0.0, 0.5, 1.3, 4.0, 9.0])
    got = [mfsim.first_passage_time(t, 2.5 * np.exp(-2 * m * t), np.exp(-2)) for m in mu]
    np.testing.assert_allclose(got[:2], 1 / mu[:2], rtol=1e-12)
    assert np.isnan(got[2])
    assert np.isnan(mfsim.first_passage_time(t, np.zeros(5), 0.1))
    np.testing.assert_allclose(mfsim.predicted_learning_times(mu), [1 / 0.3, 0.5, np.inf])
    np.testing.assert_allclose(mfsim.predicted_learning_times(mu[:2], fraction=0.01),
                               np.log(100) / (2 * mu[:2]))


def test_harmonics_theory_is_the_kernel_flow_on_the_circle():
    """HarmonicEnergy(mu=...) records E_l(0) exp(-2 mu_l t); on equispaced
    points of the circle the analytic-kernel flow follows it to the solver's
    tolerance (its empirical operator is circulant: exact eigenvalues), and
    the measured learning times (mfsim.learning_times, through a results
    dataset) equal 1/mu_l to 1e-6 where reached."""
    import jax.numpy as jnp
    import xarray as xr

    n, radius = 48, 1.0
    phi = 2 * np.pi * np.arange(n) / n
    x = radius * np.stack([np.cos(phi), np.sin(phi)], axis=1)
    y = np.cos(phi) + 0.5 * np.sin(2 * phi) + 0.3 * np.cos(4 * phi)
    net = mfsim.TwoLayerNetwork(jnp.asarray(x), jnp.asarray(y), width=4, activation="erf",
                                bias=True, sigma_b=0.5)
    kernel = net.analytic_ntk()
    ck = mfsim.ConstantKernelFlow(kernel, lambda z: jnp.zeros(z.shape[0]), x, y, x_test=x)
    mu = mfsim.sphere_eigenvalues(kernel, 2, range(5), radius=radius)
    monitor = mfsim.HarmonicEnergy(x, y, 4, mu=mu)
    ts = np.concatenate([[0.0], np.geomspace(1e-3, 40.0, 400)])
    traj = mfsim.simulate(ck, ck.init(),
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=40.0, rtol=1e-11, atol=1e-13),
                          save_times=ts, monitors=[monitor])
    got, theory = (np.asarray(traj.values[k]) for k in ("harmonic_residual",
                                                        "theory_harmonic_residual"))
    np.testing.assert_allclose(got[:, [1, 2, 4]], theory[:, [1, 2, 4]], rtol=1e-7, atol=1e-14)
    ds = xr.Dataset({"harmonic_residual": (("t", "degree"), got)},
                    coords={"t": ts, "degree": np.arange(5)})
    times = mfsim.learning_times(ds).values
    np.testing.assert_allclose(times[[1, 2]], 1 / mu[[1, 2]], rtol=1e-6)
    assert 1 / mu[4] > 40 and np.isnan(times[4])  # not learned by t = 40
    assert np.isnan(times[0]) and np.isnan(times[3])  # no energy there (rounding only)


@pytest.mark.slow  # 5-10 s: in CI's slow set, keeping the README's command under 10 min
def test_vmf_sampler_matches_its_closed_forms():
    """The vMF sampler (Wood's algorithm): on the sphere, the mean resultant length
    E[x_1] equals I_{d/2}(kappa)/I_{d/2-1}(kappa) within 4 Monte Carlo standard
    errors; the law of t = x_1 passes a Kolmogorov-Smirnov test against the exact
    density prop. to exp(kappa t)(1 - t^2)^((d-3)/2); kappa = 0 is uniform; points lie
    on the sphere of the radius asked for."""
    import jax
    from scipy import integrate, stats

    for d, kappa in ((2, 3.0), (3, 5.0), (6, 12.0)):
        x = np.asarray(mfsim.sample_sphere(jax.random.key(d), 20000, d, density="vmf",
                                           kappa=kappa, radius=2.0, dtype=np.float64))
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 2.0, rtol=1e-12)
        t = x[:, 0] / 2.0
        se = t.std() / np.sqrt(t.size)
        assert abs(t.mean() - mfsim.vmf_mean_resultant(d, kappa)) < 4 * se, (d, t.mean())
        dens = lambda s: np.exp(kappa * (s - 1)) * (1 - s * s) ** ((d - 3) / 2)  # noqa: E731
        z = integrate.quad(dens, -1, 1)[0]
        cdf = np.vectorize(lambda s: integrate.quad(dens, -1, s)[0] / z)
        assert stats.kstest(t, cdf).pvalue > 1e-3, (d, kappa)
    u = np.asarray(mfsim.sample_sphere(jax.random.key(0), 20000, 3, density="vmf", kappa=0.0))
    assert abs(u[:, 0].mean()) < 4 / np.sqrt(3 * 20000)


def test_nystrom_eigenfunctions_and_density_modes():
    """Nystrom on equispaced points of the circle gives the Funk-Hecke eigenvalues
    (each twice, degree >= 1) to 1e-10 and orthonormal eigenfunctions; the
    DensityModes monitor on the same points follows the analytic-kernel flow's
    closed form: its recorded theory to the solver's tolerance."""
    import jax.numpy as jnp

    n, radius = 64, 1.0
    phi = 2 * np.pi * np.arange(n) / n
    x = radius * np.stack([np.cos(phi), np.sin(phi)], axis=1)
    y = np.cos(phi) + 0.5 * np.sin(2 * phi)
    net = mfsim.TwoLayerNetwork(jnp.asarray(x), jnp.asarray(y), width=4, activation="erf",
                                bias=True, sigma_b=0.5)
    kernel = net.analytic_ntk()
    eig = mfsim.NystromEigenfunctions(kernel, x, 5)
    mu = mfsim.sphere_eigenvalues(kernel, 2, range(3), radius=radius)
    np.testing.assert_allclose(np.sort(np.asarray(eig.eigenvalues)),
                               np.sort([mu[0], mu[1], mu[1], mu[2], mu[2]]), rtol=1e-10)
    f = np.asarray(eig(x))
    np.testing.assert_allclose(f.T @ f / n, np.eye(5), atol=1e-9)
    ck = mfsim.ConstantKernelFlow(kernel, lambda z: jnp.zeros(z.shape[0]), x, y, x_test=x)
    monitor = mfsim.DensityModes(x, y, f, eig.eigenvalues)
    ts = np.linspace(0.0, 10.0, 6)
    traj = mfsim.simulate(ck, ck.init(),
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=10.0, rtol=1e-11, atol=1e-13),
                          save_times=ts, monitors=[monitor])
    got, want = (np.asarray(traj.values[k]) for k in ("mode_residual", "theory_mode_residual"))
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-14)
    assert got[0].max() > 0.1  # the target has energy in the modes
