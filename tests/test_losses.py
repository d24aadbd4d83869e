"""Losses beyond squared error (issue 20, C6), float64: the per-example losses
and their derivatives against closed forms; logistic gradient flow of a linear
model on separable data against the hard-margin SVM (solved by scipy); the
function-space (constant-kernel) flow of the logistic loss."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import mfsim


def test_losses_and_derivatives_match_closed_forms():
    rng = np.random.default_rng(0)
    f, y = rng.normal(size=7), np.sign(rng.normal(size=7))
    logistic = mfsim.LogisticLoss()
    np.testing.assert_allclose(logistic(jnp.asarray(f), jnp.asarray(y)),
                               np.mean(np.log1p(np.exp(-y * f))), rtol=1e-14)
    np.testing.assert_allclose(logistic.derivative(jnp.asarray(f), jnp.asarray(y)),
                               -y / (1 + np.exp(y * f)), rtol=1e-13)
    # no overflow at large margins
    assert np.isfinite(float(logistic(jnp.asarray([800.0, -800.0]), jnp.asarray([-1.0, 1.0]))))
    logits, onehot = rng.normal(size=(5, 3)), np.eye(3)[rng.integers(0, 3, 5)]
    ce = mfsim.CrossEntropyLoss()
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(ce(jnp.asarray(logits), jnp.asarray(onehot)),
                               -np.mean(np.sum(onehot * np.log(p), 1)), rtol=1e-13)
    np.testing.assert_allclose(ce.derivative(jnp.asarray(logits), jnp.asarray(onehot)),
                               p - onehot, rtol=1e-12, atol=1e-15)
    sq = mfsim.SquaredLoss()
    assert float(sq(jnp.asarray(f), jnp.asarray(y))) == float(mfsim.squared_loss(
        jnp.asarray(f), jnp.asarray(y)))
    # the generic derivative (autodiff of the per-example loss) agrees with each closed form
    for loss, a, b in ((logistic, f, y), (ce, logits, onehot), (sq, f, y)):
        generic = mfsim.AbstractLoss.derivative(loss, jnp.asarray(a), jnp.asarray(b))
        np.testing.assert_allclose(generic, loss.derivative(jnp.asarray(a), jnp.asarray(b)),
                                   rtol=1e-12, atol=1e-15)


@pytest.fixture(scope="module")
def separable():
    rng = np.random.default_rng(0)
    d, n = 3, 30
    w_star = np.array([1.0, -0.5, 0.3])
    x = rng.normal(size=(n, d))
    y = np.sign(x @ w_star)
    keep = np.abs(x @ w_star) > 0.3
    x, y = x[keep], y[keep]
    # the hard-margin SVM: min |w|^2 / 2 subject to y_i x_i . w >= 1 (SLSQP)
    cons = {"type": "ineq", "fun": lambda w: y * (x @ w) - 1, "jac": lambda w: y[:, None] * x}
    svm = scipy.optimize.minimize(lambda w: 0.5 * w @ w, w_star, jac=lambda w: w,
                                  constraints=[cons], method="SLSQP",
                                  options={"ftol": 1e-14, "maxiter": 500})
    assert svm.success and np.min(y * (x @ svm.x)) > 1 - 1e-8
    return x, y, svm.x


class _Weights(mfsim.AbstractMonitor):
    def __call__(self, t, state, ctx):
        return {"w": state[0].w.ravel()}

    def variables(self):
        return mfsim.Variable.plain({"w": "the linear model's weights"})


def test_logistic_flow_of_a_linear_model_tends_to_the_svm_direction_like_one_over_log_t(
        separable):
    x, y, w_svm = separable
    d = x.shape[1]
    model = mfsim.MLP(x, y, widths=(), bias=False, loss="logistic")  # f = w . x / sqrt(d)
    ts = mfsim.save_times(1e9, 60, spacing="log", t_first=1.0)
    traj = mfsim.simulate(model, 0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1e9, rtol=1e-10, atol=1e-12),
                          save_times=ts, monitors=[_Weights(), mfsim.Margin(), mfsim.TrainLoss()])
    assert traj.succeeded
    t = np.asarray(traj.ts)
    v = np.asarray(traj.values["w"]) / np.sqrt(d)  # the predictor: f = v . x
    w_hat = w_svm / np.linalg.norm(w_svm)
    err = np.linalg.norm(v / np.linalg.norm(v, axis=1, keepdims=True) - w_hat, axis=1)
    late = t >= 1e3
    slope = np.polyfit(np.log(np.log(t[late])), np.log(err[late]), 1)[0]
    assert -1.5 < slope < -0.7, slope  # measured -1.09: err ~ C / log t
    assert err[-1] < 0.03
    # Soudry et al.: v(t) = w_svm log t + w~ + o(1): v grows along the SVM solution itself
    i = np.searchsorted(t, 1e6)
    rate = (v[-1] - v[i]) / (np.log(t[-1]) - np.log(t[i]))
    assert np.linalg.norm(rate - w_svm) < 0.05 * np.linalg.norm(w_svm)  # measured 2.3%
    # the normalized margin increases toward the SVM's 1 / |w_svm| (of v; /sqrt(d) of w)
    nm = np.asarray(traj.values["normalized_margin"])
    assert np.all(np.diff(nm[late]) > 0)
    np.testing.assert_allclose(nm[-1], 1 / np.linalg.norm(w_svm) / np.sqrt(d), rtol=0.05)
    assert np.asarray(traj.values["train_loss"])[-1] < 1e-6


def test_logistic_function_space_flow_of_a_linear_model_is_its_constant_kernel_flow(separable):
    x, y, _ = separable
    model = mfsim.MLP(x, y, widths=(), bias=False, loss="logistic")
    state0 = model.init(jax.random.key(1))
    twin = mfsim.ConstantKernelFlow.empirical_twin(model, state0)  # a linear model's NTK is constant
    a = mfsim.simulate(model, state0,
                       mfsim.SolveSettings.of(diffrax.Tsit5(), t1=50.0, rtol=1e-11, atol=1e-12), n_save=6,
                       monitors=[mfsim.TrainOutputs(), mfsim.TrainLoss()])
    b = mfsim.simulate(twin, twin.init(None),
                       mfsim.SolveSettings.of(diffrax.Tsit5(), t1=50.0, rtol=1e-11, atol=1e-12), n_save=6,
                       monitors=[mfsim.TrainOutputs(), mfsim.TrainLoss()])
    np.testing.assert_allclose(a.values["train_outputs"], b.values["train_outputs"],
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.values["train_loss"], b.values["train_loss"], rtol=1e-7)
    loss = np.asarray(a.values["train_loss"])
    assert loss[-1] < 0.5 * loss[0]


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_scenario_logistic_loss_and_margin():
    scenario = {
        "name": "logistic", "dtype": "float64",
        "task": {"kind": "ntk_eigenfunction", "index": 1, "n_train": 16, "n_test": 16, "d": 3},
        "system": {"kind": "two_layer", "width": 32, "loss": "logistic"},
        "solver": {"t1": 30.0}, "save": {"n": 4},
        "monitors": [{"name": "train_loss"}, {"name": "test_loss"}, {"name": "margin",
                                                                      "degree": 2}],
        "compare": {"linearized": True},
    }
    ds = mfsim.run(scenario)
    loss = ds["train_loss"].values
    assert loss[0] > loss[-1] and loss[-1] < np.log(2)
    assert ds["margin"].values[-1] > ds["margin"].values[0]
    # the twin trained on the same loss
    assert ds["lin_train_loss"].values[-1] < ds["lin_train_loss"].values[0]
