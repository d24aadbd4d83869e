"""Kernels: analytic vs empirical (B1), deep recursion vs quadrature and wide
nets (B2), generic empirical implementations vs each other and the structured
formulas (B3)."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate
from scipy.special import erf

import mfsim


def inputs(n, d, seed=0):
    return jax.random.normal(jax.random.key(seed), (n, d), jnp.float64)


# ----------------------------------------------------------------------- B1
@pytest.mark.slow
@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("parameterization", ["ntk", "mean_field"])
def test_two_layer_ntk_converges_like_inverse_sqrt_width(activation, parameterization):
    # B1: E||tau Theta_m - K||_F ~ m^(-1/2), slope -0.5 +- 0.1 over m = 2^8..2^14 (float64),
    # expectation over 32 draws. Neurons are iid, so the first m neurons of a
    # width-2^14 draw are a width-m draw: one draw serves every width.
    x = inputs(12, 4)
    widths = 2 ** np.arange(8, 15)
    nets = {int(m): mfsim.TwoLayerNetwork(x, jnp.zeros(12), width=int(m), activation=activation,
                                          parameterization=parameterization, bias=True,
                                          sigma_b=0.5) for m in widths}
    big = nets[int(widths[-1])]
    k_inf = big.analytic_ntk()(x, x)
    states = jax.vmap(big.init)(jax.random.split(jax.random.key(1), 32))
    errors = []
    for m, net in nets.items():
        prefix = jax.tree.map(lambda a: a[:, :m], states)  # leading axis: draws
        k_m = jax.vmap(lambda s: net.time_scale() * net.ntk(s, x, x))(prefix)
        errors.append(float(jnp.mean(jnp.linalg.norm(k_m - k_inf, axis=(1, 2)))))
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert abs(slope + 0.5) < 0.1, (slope, errors)
    assert errors[-1] < 0.05 * float(jnp.linalg.norm(k_inf))  # and it converges to K


# ----------------------------------------------------------------------- B2
def _ref_expectations(activation, s11, s12, s22):
    """E[phi(u)phi(v)], E[phi'(u)phi'(v)] by adaptive 2-d quadrature (scipy.dblquad)
    over whitened coordinates; for relu, over the quadrant where both are positive."""
    r1, r2 = np.sqrt(s11), np.sqrt(s22)
    rho = np.clip(s12 / (r1 * r2), -1, 1)
    rc = np.sqrt(1 - rho**2)
    dens = lambda z1, z2: np.exp(-(z1**2 + z2**2) / 2) / (2 * np.pi)  # noqa: E731
    u = lambda z1: r1 * z1  # noqa: E731
    v = lambda z1, z2: r2 * (rho * z1 + rc * z2)  # noqa: E731
    opts = dict(epsabs=1e-13, epsrel=1e-11)
    if rc < 1e-6:  # (numerically) collinear: v = rho (r2/r1) u, a 1-d integral
        g = (lambda z: np.maximum(z, 0.0)) if activation == "relu" else erf
        dg = (lambda z: (z > 0) * 1.0) if activation == "relu" else (
            lambda z: 2 / np.sqrt(np.pi) * np.exp(-(z**2)))
        w = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        pts = [0.0]
        e_phi = integrate.quad(lambda z: g(r1 * z) * g(r2 * rho * z) * w(z), -12, 12,
                               points=pts, epsabs=1e-13, epsrel=1e-11)[0]
        e_dphi = integrate.quad(lambda z: dg(r1 * z) * dg(r2 * rho * z) * w(z), -12, 12,
                                points=pts, epsabs=1e-13, epsrel=1e-11)[0]
        return e_phi, e_dphi
    if activation == "relu":
        # z1 > 0 and z2 > -rho z1 / rc  (u > 0, v > 0)
        lo = lambda z1: -rho * z1 / rc  # noqa: E731
        e_phi = integrate.dblquad(lambda z2, z1: u(z1) * v(z1, z2) * dens(z1, z2), 0, 12,
                                  lo, 12, **opts)[0]
        e_dphi = integrate.dblquad(lambda z2, z1: dens(z1, z2), 0, 12, lo, 12, **opts)[0]
    else:
        dphi = lambda z: 2 / np.sqrt(np.pi) * np.exp(-(z**2))  # noqa: E731
        e_phi = integrate.dblquad(lambda z2, z1: erf(u(z1)) * erf(v(z1, z2)) * dens(z1, z2),
                                  -12, 12, -12, 12, **opts)[0]
        e_dphi = integrate.dblquad(lambda z2, z1: dphi(u(z1)) * dphi(v(z1, z2)) * dens(z1, z2),
                                   -12, 12, -12, 12, **opts)[0]
    return e_phi, e_dphi


def _ref_fc_kernels(x, depth, activation, sw, sb):
    """The stax recursion, entry by entry, with quadrature expectations."""
    x = np.asarray(x)
    n, d = x.shape
    sig = sw**2 * x @ x.T / d + sb**2
    ntk = sig.copy()
    for _ in range(depth):
        new_sig, dot = np.empty_like(sig), np.empty_like(sig)
        for i in range(n):
            for j in range(i, n):
                e, de = _ref_expectations(activation, sig[i, i], sig[i, j], sig[j, j])
                new_sig[i, j] = new_sig[j, i] = sw**2 * e + sb**2
                dot[i, j] = dot[j, i] = de
        ntk = ntk * sw**2 * dot + new_sig
        sig = new_sig
    return sig, ntk


@pytest.mark.slow  # 5-10 s: in CI's slow set, keeping the README's command under 10 min
@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("sigma_b", [0.0, 0.3])
def test_deep_kernels_match_quadrature(activation, sigma_b):
    # B2 (part 1): every recursion step against 2-d adaptive quadrature, depth 1..3, rtol 1e-7
    x = inputs(3, 5, seed=2)
    for depth in (1, 2, 3):
        nngp, ntk = mfsim.fc_kernels(x, x, depth=depth, activation=activation,
                                     sigma_w=1.4, sigma_b=sigma_b)
        ref_nngp, ref_ntk = _ref_fc_kernels(x, depth, activation, 1.4, sigma_b)
        np.testing.assert_allclose(nngp, ref_nngp, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(ntk, ref_ntk, rtol=1e-7, atol=1e-10)


def _numpy_init(net, rng):
    return tuple(mfsim.DenseParams(w=rng.standard_normal((o, i)),
                                   b=rng.standard_normal(o) if net.bias else None)
                 for i, o in zip(net.sizes[:-1], net.sizes[1:]))


def test_mlp_init_is_standard_normal():
    x = inputs(3, 50)
    net = mfsim.MLP(x, jnp.zeros(3), widths=(300, 200), bias=True)
    layers = net.init(jax.random.key(0))
    assert [l.w.shape for l in layers] == [(300, 50), (200, 300), (1, 200)]
    w = np.concatenate([np.ravel(l.w) for l in layers])
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


@pytest.mark.slow  # 5-10 s: in CI's slow set, keeping the README's command under 10 min
@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("bias", [False, True])
def test_deep_kernels_match_very_wide_networks(activation, bias):
    # B2 (part 2): very wide empirical NTKs. For depth 1..3, the NTK of width-2048
    # MLPs averaged over 8 draws is within 6% (relative Frobenius) of the analytic
    # one (measured: at most 4.1%), and the expected error of a single draw,
    # O(depth / sqrt(width)), falls by at least 1.5x from width 256 to 2048
    # (measured: about 2x).
    x = inputs(8, 6, seed=3)
    for depth in (1, 2, 3):
        single, averaged = {}, {}
        for width in (256, 2048):
            net = mfsim.MLP(x, jnp.zeros(8), widths=(width,) * depth, activation=activation,
                            sigma_w=1.5, sigma_b=0.4, bias=bias)
            k_inf = np.asarray(net.analytic_ntk()(x, x))
            ntk = eqx.filter_jit(net.ntk)
            rng = np.random.default_rng(depth)  # N(0, 1) weights, as MLP.init draws them
            draws = [np.asarray(ntk(_numpy_init(net, rng), x, x)) for _ in range(8)]
            rel = lambda k: np.linalg.norm(k - k_inf) / np.linalg.norm(k_inf)  # noqa: E731
            single[width] = np.mean([rel(k) for k in draws])
            averaged[width] = rel(np.mean(draws, axis=0))
        assert averaged[2048] < 0.06, (depth, averaged)
        assert single[2048] < single[256] / 1.5, (depth, single)


def test_two_layer_analytic_matches_quadrature():
    # the two-layer formula in mfsim's parameterization, entrywise by quadrature
    x = inputs(3, 4, seed=5)
    sv, sw, sb = 1.3, 0.9, 0.5
    nngp, ntk = mfsim.two_layer_kernels(x, x, activation="erf", sigma_v=sv, sigma_w=sw,
                                        sigma_b=sb, bias=True)
    xn = np.asarray(x)
    s = sw**2 * xn @ xn.T / 4 + sb**2
    for i in range(3):
        for j in range(3):
            e, de = _ref_expectations("erf", s[i, i], s[i, j], s[j, j])
            np.testing.assert_allclose(ntk[i, j], e + sv**2 * (xn[i] @ xn[j] + 1) * de, rtol=1e-8)
            np.testing.assert_allclose(nngp[i, j], sv**2 * e, rtol=1e-8)


@pytest.mark.parametrize("activation", ["tanh", "gelu"])
def test_gauss_hermite_expectations(activation):
    # activations without closed forms go through Gauss-Hermite; check against dblquad
    from mfsim._kernels.gaussian import gauss_hermite_expectations
    phi = {"tanh": np.tanh, "gelu": lambda z: z * 0.5 * (1 + erf(z / np.sqrt(2)))}[activation]
    dphi = {"tanh": lambda z: 1 - np.tanh(z) ** 2,
            "gelu": lambda z: 0.5 * (1 + erf(z / np.sqrt(2))) + z * np.exp(-z**2 / 2)
            / np.sqrt(2 * np.pi)}[activation]
    s11, s12, s22 = 1.2, 0.4, 0.7
    r1, r2 = np.sqrt(s11), np.sqrt(s22)
    rho = s12 / (r1 * r2)
    dens = lambda a, b: np.exp(-(a**2 + b**2) / 2) / (2 * np.pi)  # noqa: E731
    uv = lambda a, b: (r1 * a, r2 * (rho * a + np.sqrt(1 - rho**2) * b))  # noqa: E731
    want = [integrate.dblquad(lambda b, a: g(uv(a, b)[0]) * g(uv(a, b)[1]) * dens(a, b),
                              -12, 12, -12, 12, epsabs=1e-13)[0] for g in (phi, dphi)]
    got = gauss_hermite_expectations(activation, jnp.array(s11), jnp.array(s12), jnp.array(s22))
    np.testing.assert_allclose(np.array(got), want, rtol=1e-9)
    # and it handles a whole Gram matrix (chunked), matching entry by entry
    x = inputs(40, 3)
    nngp, ntk = mfsim.fc_kernels(x, x, depth=1, activation=activation, sigma_w=1.2)
    sig = 1.44 * np.asarray(x @ x.T) / 3
    e01 = gauss_hermite_expectations(activation, jnp.array(sig[0, 0]), jnp.array(sig[0, 1]),
                                     jnp.array(sig[1, 1]))
    np.testing.assert_allclose(nngp[0, 1], 1.44 * e01[0], rtol=1e-9)


# ----------------------------------------------------------------------- B3
TWO_LAYER_CONFIGS = [
    dict(activation="relu"),
    dict(activation="tanh", bias=True, parameterization="ntk", scale=4.0, center=True),
    dict(activation="gelu", bias=True, train=("hidden",)),
    dict(activation="erf", train=("output",), init="symmetric"),
]


def _generic(system, state, x1, x2, method, block):
    return system.loss_weight() * mfsim.empirical_ntk(system.predict, state, x1, x2,
                                                      method=method, block_size=block)


@pytest.mark.parametrize("cfg", TWO_LAYER_CONFIGS)
def test_two_layer_structured_ntk_matches_generic(cfg):
    x = inputs(11, 3)
    net = mfsim.TwoLayerNetwork(x, jnp.zeros(11), width=10, **cfg)
    s = net.init(jax.random.key(4))
    x2 = inputs(7, 3, seed=1)
    k = net.ntk(s, x, x2)
    for method, block in (("jacobian", 4), ("ntvp", 3)):
        np.testing.assert_allclose(_generic(net, s, x, x2, method, block), k,
                                   rtol=1e-10, atol=1e-12 * np.abs(k).max())


@pytest.mark.parametrize("activation", ["relu", "erf", "identity"])
@pytest.mark.parametrize("bias", [False, True])
def test_mlp_structured_ntk_matches_generic(activation, bias):
    # identity without bias is the deep linear network W_L...W_1 x (stax scaling)
    x = inputs(9, 4)
    net = mfsim.MLP(x, jnp.zeros(9), widths=(6, 5), activation=activation, sigma_w=1.3,
                    sigma_b=0.4, bias=bias)
    s = net.init(jax.random.key(5))
    k = net.ntk(s, x, x)
    kj = _generic(net, s, x, x, "jacobian", 4)
    kv = _generic(net, s, x, x, "ntvp", 5)
    np.testing.assert_allclose(kj, k, rtol=1e-10, atol=1e-12 * np.abs(k).max())
    np.testing.assert_allclose(kv, kj, rtol=1e-10, atol=1e-12 * np.abs(k).max())


def test_vector_output_ntk_and_ntk_vector_product():
    def f(p, x):
        return jnp.tanh(x @ p["w"].T) @ p["v"]  # (k, 3)

    key = jax.random.key(6)
    p = {"w": jax.random.normal(key, (5, 4)), "v": jax.random.normal(key, (5, 3))}
    x = inputs(6, 4)
    jac = jax.jacrev(lambda p: f(p, x))(p)
    jm = np.concatenate([np.asarray(jac["w"]).reshape(6, 3, -1),
                         np.asarray(jac["v"]).reshape(6, 3, -1)], axis=2)
    want = np.einsum("iap,jbp->ijab", jm, jm)
    for method in ("jacobian", "ntvp", mfsim.JacobianContraction(), mfsim.NTKVectorProducts()):
        got = mfsim.empirical_ntk(f, p, x, method=method, block_size=4)
        assert got.shape == (6, 6, 3, 3)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="unknown NTK method 'dense'; allowed: jacobian, ntvp "
                       r"\(or JacobianContraction\(\), NTKVectorProducts\(\)\)"):
        mfsim.empirical_ntk(f, p, x, method="dense")
    g = lambda p, x: f(p, x)[:, 0]  # noqa: E731
    v = jnp.arange(6.0)
    np.testing.assert_allclose(mfsim.ntk_vector_product(g, p, x, v),
                               want[:, :, 0, 0] @ np.asarray(v), rtol=1e-10)


def test_blocking_follows_memory_budget():
    from mfsim._kernels.empirical import plan_blocking
    params = {"w": jnp.zeros((1000, 100))}  # 1e5 float64 parameters: 0.8 MB per input row
    row = 800_000

    def used(b, result=0):  # what plan_blocking's docstring counts
        return 3 * result * 8 + b.chunk * 2 * row + b.panel * row + 2 * b.block * row
    # a symmetric Gram whose rows all fit: one panel, every Jacobian computed once
    b = plan_blocking(params, 1, 100, 100, 10**9, symmetric=True)
    assert b.panel == b.block >= 100 and b.panel - 100 < b.panel // b.chunk
    # rows that do not fit: the largest panel beside streamed blocks, within the budget
    for budget, result in ((40 * 10**6, 0), (64 * 10**6, 10**6), (10**9, 10**6)):
        b = plan_blocking(params, 1, 10_000, 10_000, budget, result_elements=result,
                          symmetric=True)
        assert b.panel % b.block == 0 and b.block % b.chunk == 0, b
        assert b.panel >= 4 * b.block and used(b, result) <= budget, (b, budget)
        assert used(b._replace(panel=b.panel + b.block), result) > budget  # the largest
    assert plan_blocking(params, 1, 100, 100, 10**6).panel == 1
    with pytest.raises(ValueError, match="cannot even hold the result"):
        plan_blocking(params, 1, 100, 100, 10**6, result_elements=10**6)


def test_panels_streamed_blocks_and_mirror_agree_with_one_block():
    # float64: a panel of rows against streamed column blocks (symmetric: the upper
    # triangle and its mirror) equals the whole Jacobian contracted at once
    x = inputs(23, 3)
    net = mfsim.MLP(x, jnp.zeros(23), widths=(7, 5), activation="tanh", bias=True)
    s = net.init(jax.random.key(3))
    want = np.asarray(net.ntk(s, x, x))
    x2 = inputs(17, 3, seed=2)
    want2 = np.asarray(net.ntk(s, x, x2))
    p = sum(a.size for a in jax.tree.leaves(s))
    budget = 3 * 23 * 23 * 8 + 15 * p * 8  # about 15 rows: panels of 8-12, blocks of 2-4
    from mfsim._kernels.empirical import plan_blocking
    plan = plan_blocking(s, 1, 23, 23, budget, result_elements=23 * 23, symmetric=True)
    assert 1 < plan.block < plan.panel < 23, plan
    got = mfsim.empirical_ntk(net.predict, s, x, memory_budget=budget)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14 * np.abs(want).max())
    assert np.array_equal(got, np.asarray(got).T)
    got2 = mfsim.empirical_ntk(net.predict, s, x, x2, memory_budget=budget)
    np.testing.assert_allclose(got2, want2, rtol=1e-12, atol=1e-14 * np.abs(want2).max())


@pytest.mark.parametrize("activation, bias", [("relu", True), ("identity", False)])
def test_mlp_neuron_balance_conserved(activation, bias):
    x = inputs(10, 3)
    net = mfsim.MLP(x, jnp.sin(x[:, 0]), widths=(6, 5), activation=activation, bias=bias,
                    sigma_b=0.5)
    s0 = net.init(jax.random.key(2))
    traj = mfsim.simulate(net, s0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=2.0, rtol=1e-11, atol=1e-13),
                          n_save=2, monitors=[mfsim.InvariantDrift.of(net, s0)])
    assert traj.succeeded and set(traj.values) == {"drift_neuron_balance_1",
                                                   "drift_neuron_balance_2"}
    for v in traj.values.values():
        assert float(v[-1]) < 1e-8
    assert max(float(jnp.abs(a.w - b.w).max()) for a, b in zip(traj.final_state, s0)) > 1e-2
    assert mfsim.MLP(x, x[:, 0], widths=(4,), activation="tanh").invariants(s0[:2]) == {}


@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-6), ("float64", 1e-14)])
def test_relu_kernel_diagonal_is_exact(dtype, rtol):
    """Issue 18, U6: a point's correlation with itself rounds to a few eps
    below 1 and arccos(1 - eps) = sqrt(2 eps) used to put a 1e-4 (float32) /
    4e-9 (float64) error on the diagonal. Exact at angle 0 (sigma_b = 0):
    E[phi phi] = S/2, E[phi' phi'] = 1/2, so the two-layer NTK diagonal is
    S/2 + sigma_v^2 |x|^2 / 2 and the depth-L recursion is
    Sigma <- sigma_w^2 Sigma / 2, Theta <- Theta sigma_w^2 / 2 + Sigma."""
    with jax.enable_x64(dtype == "float64"):
        x = jax.random.normal(jax.random.key(3), (40, 7), dtype=dtype) * 1.7
        xs = np.asarray(x, dtype=np.float64)
        sq = np.sum(xs * xs, axis=1)
        sv, sw = 1.3, 0.9
        _, ntk = mfsim.two_layer_kernels(x, x, sigma_v=sv, sigma_w=sw)
        s = sw**2 * sq / 7
        np.testing.assert_allclose(np.diag(np.asarray(ntk)), s / 2 + sv**2 * sq / 2, rtol=rtol)
        for depth in (1, 3):
            nngp, ntk = mfsim.fc_kernels(x, x, depth=depth, sigma_w=1.4)
            sigma = theta = 1.4**2 * sq / 7
            for _ in range(depth):
                sigma = 1.4**2 * sigma / 2
                theta = theta * 1.4**2 / 2 + sigma
            np.testing.assert_allclose(np.diag(np.asarray(nngp)), sigma, rtol=rtol)
            np.testing.assert_allclose(np.diag(np.asarray(ntk)), theta, rtol=rtol)


@pytest.mark.slow  # 11 s on CI; the streamed-panel blocking test stays fast
def test_activations_count_in_the_blocking_and_chunks_agree():
    # a convolutional model's feature maps outnumber its parameters: the blocking
    # counts them (forward_elements, through the inner jits) and builds each block's
    # Jacobians a chunk of inputs at a time; chunked, blocked and plain agree (float64)
    from mfsim._kernels.empirical import choose_blocking, forward_elements
    recipe = mfsim.ConvNetInit(1, (4, 4), kernel_size=3, dtype="float64", sigma_b=0.3)
    x = jax.random.normal(jax.random.key(0), (10, 1, 6, 6), jnp.float64)
    net = mfsim.network(recipe(jax.random.key(1)), x, jnp.zeros(10))
    p = net.init().params
    acts = forward_elements(net.raw_output, p, x)
    assert acts >= 2 * 4 * 36  # at least both layers' feature maps
    budget = 100_000  # bytes: a chunk of 1 input's activations, blocks of 4 inputs
    block, chunk = choose_blocking(p, 1, 10, budget, result_elements=100,
                                   activation_elements=acts)
    assert 1 <= chunk < block < 10 and block % chunk == 0, (block, chunk)
    want = mfsim.empirical_ntk(net.raw_output, p, x, block_size=10)
    for method in ("jacobian", "ntvp"):
        got = mfsim.empirical_ntk(net.raw_output, p, x, method=method, memory_budget=budget)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
