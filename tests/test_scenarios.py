"""Shipped scenarios: every one has a smoke test at shrunk size in the suite
(E1), and the trends the new ones are shipped to show (E4, eigenfunction
tasks, propagation of chaos), checked on shrunk versions."""

from pathlib import Path

import diffrax
import jax
import numpy as np
import pytest
import xarray as xr

import mfsim
from mfsim._scenario.build import build
from mfsim._scenario.sweep import apply_overrides, expand

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

# each shipped scenario -> the test that runs it (shrunk, or at full size when it
# takes seconds) through run_scenario or the CLI
SMOKE_TESTS = {
    "quickstart.toml": "test_cli.test_quickstart_loss_non_increasing",
    "deep_linear_saxe.toml": "test_cli.test_shipped_deep_linear_saxe",
    "diagonal_linear_implicit_bias.toml": "test_sweeps.test_diagonal_linear_implicit_bias_shrunk",
    "sequence_model_adaptivity.toml": "test_sweeps.test_sequence_model_adaptivity_shrunk",
    "spectral_bias.toml": "test_regimes.test_spectral_bias_low_frequencies_first",
    "width_transition.toml": "test_regimes.test_ntk_parameterization_is_lazy_as_width_grows",
    "lazy_vs_active.toml": "test_scenarios.test_lazy_vs_active_trends_in_alpha",
    "ntk_eigenfunction_tasks.toml": "test_scenarios.test_ntk_eigenfunction_tasks_shrunk",
    "mean_field_chaos.toml": "test_scenarios.test_mean_field_chaos_shrunk",
    "digits.toml": "test_data_tasks.test_digits_shrunk",
    "sphere_spectral_bias.toml": "test_scenarios.test_sphere_spectral_bias_shrunk",
    "richness_sweep.toml": "test_scenarios.test_richness_sweep_shrunk",
    "nonuniform_density.toml": "test_scenarios.test_nonuniform_density_shrunk",
    "coordinate_check.toml": "test_scenarios.test_coordinate_check_shrunk",
    "catapult.toml": "test_sharpness.test_catapult_shrunk",
    "edge_of_stability.toml": "test_sharpness.test_edge_of_stability_shrunk",
    "online_sgd_committee.toml": "test_committee.test_online_sgd_committee_shrunk",
    "sgd_vs_flow.toml": "test_optimizers.test_sgd_vs_flow_shrunk",
    "langevin_mean_field.toml": "test_langevin.test_langevin_mean_field_shrunk",
    "lazy_feature_crossover.toml": "test_crossover.test_lazy_feature_crossover_shrunk",
    "learning_curves_sphere.toml": "test_learning_curve.test_learning_curves_sphere_shrunk",
}


def test_every_shipped_scenario_has_a_smoke_test():
    shipped = sorted(p.name for p in SCENARIOS.glob("*.toml"))
    assert shipped == sorted(SMOKE_TESTS), "add the new scenario's smoke test to SMOKE_TESTS"
    for name, test in SMOKE_TESTS.items():
        module, func = test.split(".")
        source = (Path(__file__).parent / f"{module}.py").read_text()
        assert f"def {func}(" in source, test
        assert name.removesuffix(".toml") in source, f"{test} does not run {name}"
        # and the file itself is valid and documented
        text = (SCENARIOS / name).read_text()
        assert text.startswith("# "), f"{name}: no header comment"
        mfsim.load_scenario(SCENARIOS / name)


# ------------------------------------------------------------------ lazy_vs_active
@pytest.fixture(scope="module")
def lazy_vs_active(tmp_path_factory):
    out = tmp_path_factory.mktemp("lva")
    return mfsim.run_scenario(
        SCENARIOS / "lazy_vs_active.toml", out=out,
        overrides={"system.scale": [0.5, 4.0, 32.0], "system.width": 64, "task.n_train": 32,
                   "task.n_test": 64, "solver.t1": 20.0, "save.n": 8})


@pytest.mark.slow
def test_lazy_vs_active_trends_in_alpha(lazy_vs_active):
    """E4: as alpha grows, the kernel drift, W2(mu_T, mu_0) and the
    network-to-linearized gap all decrease; the centred linearized flow does
    not depend on alpha (an independent check: f_lin = alpha J (theta -
    theta_0) under the objective L(alpha h)/alpha^2 gives the same function
    dynamics for every alpha)."""
    r = lazy_vs_active
    assert r.succeeded
    final = r.dataset.isel(t=-1)
    for name in ("kernel_drift", "w2_init", "lin_gap", "ck_empirical_gap",
                 "param_distance_rel"):
        values = final[name].values
        assert np.all(np.diff(values) < 0), (name, values)
    assert final["kernel_drift"].values[-1] < 0.1 * final["kernel_drift"].values[0]
    np.testing.assert_allclose(final["lin_test_loss"].values,
                               final["lin_test_loss"].values[0], rtol=1e-3)
    # the linearized twin and the constant-kernel flow are the same dynamics
    np.testing.assert_allclose(final["lin_gap"], final["ck_empirical_gap"], rtol=1e-3)
    for fig in ("vs_scale.png", "lin_gap.png", "kernel_drift.png", "w2_init.png"):
        assert (r.out_dir / fig).stat().st_size > 0


# ---------------------------------------------------------- ntk_eigenfunction_tasks
EIG_OVERRIDES = {"task.index": [1, 24], "task.n_train": 32, "task.n_test": 32, "task.d": 4,
                 "system.width": 64, "solver.t1": 300.0, "save.n": 8, "dtype": "float64"}


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_ntk_eigenfunction_tasks_shrunk(tmp_path):
    r = mfsim.run_scenario(SCENARIOS / "ntk_eigenfunction_tasks.toml", out=tmp_path,
                           overrides=EIG_OVERRIDES)
    assert r.succeeded
    ds = r.dataset
    acc, lin_acc = (ds[v].isel(t=-1).values for v in ("test_accuracy", "lin_test_accuracy"))
    # the top eigenfunction is learned by both; the 24th generalizes worse
    assert acc[0] >= 0.85 and lin_acc[0] >= 0.85, (acc, lin_acc)
    assert acc[1] < acc[0] and lin_acc[1] < lin_acc[0], (acc, lin_acc)
    assert (ds["train_loss"].isel(t=-1) < ds["train_loss"].isel(t=0)).all()
    assert (tmp_path / "vs_index.png").exists() is False  # two points: no summary figure
    assert (tmp_path / "test_accuracy.png").stat().st_size > 0


def test_eigenfunction_labels_are_signs_of_the_ntk_eigenvectors():
    # the labels equal sign(v_j) of an independent eigendecomposition (numpy, float64)
    # of the built network's NTK at init on the pooled inputs, for j = 1 and 24
    base = mfsim.load_scenario(SCENARIOS / "ntk_eigenfunction_tasks.toml")
    for j in (1, 24):
        (point,) = expand(apply_overrides(base, {**EIG_OVERRIDES, "task.index": [j]}))
        b = build(point.scenario)
        x = np.concatenate([b.data.x_train, b.data.x_test])
        gram = np.asarray(b.system.ntk(b.state0, x, x), dtype=np.float64)
        vals, vecs = np.linalg.eigh(gram)
        assert vals[-j] - vals[-j - 1] > 1e-8 * vals[-1]  # a simple eigenvalue
        v = vecs[:, -j]
        v = v if v[np.argmax(np.abs(v))] > 0 else -v
        y = np.concatenate([b.data.y_train, b.data.y_test])
        np.testing.assert_array_equal(y, np.where(v >= 0, 1.0, -1.0))
    # and the test-accuracy monitor is the sign agreement on the test inputs
    traj = mfsim.simulate(b.system, b.state0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0), n_save=3,
                          monitors=[mfsim.TestAccuracy(b.data.x_test, b.data.y_test),
                                    mfsim.Predictions(b.data.x_test)])
    f = np.asarray(traj.values["test_outputs"])
    want = np.mean(np.sign(f) == np.asarray(b.data.y_test)[None], axis=1)
    np.testing.assert_array_equal(np.asarray(traj.values["test_accuracy"]), want)


def test_eigenfunction_task_refuses_a_system_without_a_scalar_ntk(tmp_path):
    """The labels are eigenvectors of a scalar NTK: the deep linear network (vector
    outputs) is refused; the diagonal linear network (a scalar NTK) is accepted."""
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[task]\nkind = "ntk_eigenfunction"\n'
                    '[system]\nkind = "deep_linear"\n')
    with pytest.raises(mfsim.ScenarioError, match="task.kind: task ntk_eigenfunction needs a "
                       "system that is AbstractScalarOutputSystem; allowed systems: two_layer, "
                       "mlp, diagonal_linear"):
        mfsim.load_scenario(path)
    path.write_text('name = "ok"\n[task]\nkind = "ntk_eigenfunction"\n'
                    '[system]\nkind = "diagonal_linear"\n')
    mfsim.load_scenario(path)


# ---------------------------------------------------------------- mean_field_chaos
@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_mean_field_chaos_shrunk(tmp_path):
    r = mfsim.run_scenario(
        SCENARIOS / "mean_field_chaos.toml", out=tmp_path,
        overrides={"system.width": [16, 256], "seed": [0, 1], "task.n_train": 32,
                   "task.n_test": 64, "solver.t1": 5.0, "save.n": 6,
                   "sweep.reference.system.width": 4096})
    assert r.dataset.attrs["resolved_scenario"].count('"system.width" = 4096') == 1
    assert r.succeeded
    ds = r.dataset
    # ref_distance recomputed from the stored outputs of each point and the reference
    ref = xr.open_dataset(tmp_path / "reference" / "r000.nc", engine="h5netcdf")
    assert "system.width=4096" in ref.attrs["reference"]
    assert ref.attrs["resolved_scenario"].count("width = 4096") == 1
    for width in (16, 256):
        for seed in (0, 1):
            point = ds.sel(width=width, seed=seed)
            diff = point["test_outputs"].values - ref["test_outputs"].values
            np.testing.assert_allclose(point["ref_distance"].values,
                                       np.sqrt((diff**2).mean(axis=1)), rtol=1e-12)
    # the same data for every seed (task.seed), other initializations
    np.testing.assert_array_equal(ds["test_outputs"].sel(width=16, seed=0).isel(t=0) !=
                                  ds["test_outputs"].sel(width=16, seed=1).isel(t=0), True)
    # propagation of chaos: 16x more particles, about 4x closer (asserted: > 2x)
    final = ds["ref_distance"].isel(t=-1).mean("seed").values
    assert final[1] < 0.5 * final[0], final
    assert (tmp_path / "ref_distance.png").stat().st_size > 0


def _single(base, overrides):
    """The one point of ``base`` with every key of ``overrides`` fixed."""
    (point,) = expand(apply_overrides(base, {k: [v] for k, v in overrides.items()}))
    return point.scenario


def test_task_seed_fixes_the_data_only():
    base = mfsim.load_scenario(SCENARIOS / "mean_field_chaos.toml")
    small = {"task.n_train": 8, "task.n_test": 8, "system.width": 8}
    a = build(_single(base, {**small, "seed": 0}))
    b = build(_single(base, {**small, "seed": 5}))
    c = build(_single(base, {**small, "seed": 5, "task.seed": 5}))
    np.testing.assert_array_equal(a.data.x_train, b.data.x_train)  # task.seed = 0 in both
    assert not np.array_equal(a.state0.params.w, b.state0.params.w)
    assert not np.array_equal(a.data.x_train, c.data.x_train)
    # the data of task.seed = s are those of a run with seed = s and no task.seed
    plain = build(apply_overrides(mfsim.load_scenario(SCENARIOS / "quickstart.toml"),
                                  {"seed": 5, "task.d": 4, "task.n_train": 8, "task.n_test": 8,
                                   "task.teacher_width": 4, "system.width": 8}))
    np.testing.assert_array_equal(c.data.x_train, plain.data.x_train)
    assert jax.numpy.allclose(c.data.y_train, plain.data.y_train)


@pytest.mark.slow  # ~20-30 s: run by CI after the README's command
def test_sphere_spectral_bias_shrunk(tmp_path):
    """sphere_spectral_bias.toml shrunk: degrees 1 and 2 are learned in order by the
    network and both kernel flows; the prediction is recorded and the infinite-width
    flow's learning times are within 50% of 1/mu_l (on 120 points); the figure
    is drawn."""
    from mfsim.plotting import theory_learning_times
    r = mfsim.run_scenario(
        SCENARIOS / "sphere_spectral_bias.toml", out=tmp_path,
        overrides={"task.degrees": [1, 2], "task.n_train": 120, "task.n_test": 120,
                   "system.width": 256, "solver.t1": 200.0, "save.n": 30})
    assert r.succeeded
    ds = r.dataset
    assert "theory_harmonic_residual" in ds and "ck_analytic_theory_harmonic_residual" not in ds
    for prefix in ("", "ck_empirical_", "ck_analytic_"):
        times = mfsim.learning_times(ds, f"{prefix}harmonic_residual").values
        assert np.isfinite(times[1:3]).all() and times[1] < times[2], (prefix, times)
    predicted = theory_learning_times(ds)
    flow = mfsim.learning_times(ds, "ck_analytic_harmonic_residual").values
    np.testing.assert_allclose(flow[1:3], predicted[1:3], rtol=0.5)  # 120 points: measured 0.36
    assert (tmp_path / "learning_times.png").exists()


@pytest.mark.slow  # ~20-30 s: run by CI after the README's command
def test_richness_sweep_shrunk(tmp_path):
    """richness_sweep.toml shrunk: under muP the feature movement grows with gamma0 and
    barely changes with the width; the initial-kernel regression does not depend on
    gamma0; the phase diagram is drawn."""
    r = mfsim.run_scenario(
        SCENARIOS / "richness_sweep.toml", out=tmp_path,
        overrides={"system.gamma0": [0.01, 0.3], "system.width": [32, 96], "seed": [0],
                   "task.n_train": 64, "task.n_test": 128, "solver.steps": 60, "save.n": 3})
    assert r.succeeded
    ds = r.dataset
    move = ds["feature_movement_2"].isel(t=-1, seed=0).values  # (gamma0, width)
    assert np.all(move[1] > 10 * move[0]), move  # measured: 30-50x
    assert np.all(np.abs(np.log(move[:, 1] / move[:, 0])) < np.log(2)), move  # 1.2-1.7x
    init = ds["kr_init_test_loss"].isel(t=-1, seed=0).values
    np.testing.assert_allclose(init[0], init[1], rtol=1e-5)
    assert (tmp_path / "phase_gamma0_width.png").exists()


@pytest.mark.slow  # ~20-30 s: run by CI after the README's command
def test_nonuniform_density_shrunk(tmp_path):
    """nonuniform_density.toml shrunk: the Nystrom modes' energies are recorded for
    the network and its kernel flow with the prediction; the kernel flow learns the
    top non-constant modes in the order of their eigenvalues, within a factor 2 of
    1/lambda_i; the figure is drawn."""
    from mfsim.plotting import theory_learning_times
    r = mfsim.run_scenario(
        SCENARIOS / "nonuniform_density.toml", out=tmp_path,
        overrides={"system.width": 256,
                   "solver.t1": 100.0, "save.n": 30})
    assert r.succeeded
    ds = r.dataset
    assert "theory_mode_residual" in ds and "ck_analytic_mode_residual" in ds
    flow = mfsim.learning_times(ds, "ck_analytic_mode_residual").values
    predicted = theory_learning_times(ds, "theory_mode_residual")
    # within a factor 2 (measured 1.66 and 0.86: Monte Carlo inner products on 400
    # held-out points leak other modes' energy into each mode's)
    ratio = flow[1:3] / predicted[1:3]
    assert np.all((ratio > 0.5) & (ratio < 2.0)), (flow, predicted)
    assert predicted[1] < predicted[2] and flow[1] < flow[2]
    assert (tmp_path / "mode_learning_times.png").exists()


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_coordinate_check_shrunk(tmp_path):
    """coordinate_check.toml at widths 64 and 512: the feature movement is flat in the
    width under mup and falls like N^-1/2 under ntk (log-log slopes within 0.15;
    the full scenario's and the slow B1 test's: 0.02, 0.01 and -0.49, -0.50)."""
    r = mfsim.run_scenario(SCENARIOS / "coordinate_check.toml", out=tmp_path,
                           overrides={"system.width": [64, 512]})
    assert r.succeeded
    ds = r.dataset
    for layer in (1, 2):
        move = ds[f"feature_movement_{layer}"].isel(t=-1)
        slope = {p: float(np.diff(np.log(move.sel(parameterization=p).values))[0]
                          / np.log(512 / 64)) for p in ("mup", "ntk")}
        assert abs(slope["mup"]) < 0.15 and abs(slope["ntk"] + 0.5) < 0.15, (layer, slope)
    assert any(tmp_path.glob("phase_*.png"))
