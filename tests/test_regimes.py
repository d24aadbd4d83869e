"""The lazy/active signature (D4) and the spectral-bias ordering (D3), on
shrunk versions of the shipped scenarios run through ``run_scenario``."""

import numpy as np
import pytest

import mfsim
from mfsim.plotting import fourier_learning_times as learning_times


@pytest.fixture(scope="module")
def widths(tmp_path_factory):
    """width_transition.toml at widths 32 and 512, n = 32, d = 4, float64 (two widths:
    each width and parameterization is one compilation, ~9 s)."""
    return mfsim.run_scenario(
        "scenarios/width_transition.toml", out=tmp_path_factory.mktemp("wt"), figures=False,
        overrides={"system.width": [32, 512], "dtype": "float64", "task.n_train": 32,
                   "task.n_test": 64, "task.d": 4, "solver.t1": 10.0, "save.n": 4})


def _slope(ds, name, param):
    final = ds.sel(parameterization=param).isel(t=-1)
    return np.polyfit(np.log(ds.width.values), np.log(final[name].values), 1)[0], final


@pytest.mark.slow
def test_ntk_parameterization_is_lazy_as_width_grows(widths):
    ds = widths.dataset
    assert widths.succeeded
    slope, final = _slope(ds, "kernel_drift", "ntk")
    assert -0.75 < slope < -0.35  # about -1/2
    w2_slope, _ = _slope(ds, "w2_init", "ntk")
    assert w2_slope < -0.3
    assert np.all(np.diff(final.kernel_drift.values) < 0)
    assert np.all(np.diff(final.w2_init.values) < 0)
    # method "auto" ran the exact W2 at these widths (on CPU: up to 8192 particles)
    assert "method auto chose exact" in ds.w2_init.attrs["description"]


@pytest.mark.slow
def test_mean_field_parameterization_stays_active_as_width_grows(widths):
    ds = widths.dataset
    slope, final = _slope(ds, "kernel_drift", "mean_field")
    assert abs(slope) < 0.2
    assert np.all(final.kernel_drift.values > 0.3)
    w2_slope, final = _slope(ds, "w2_init", "mean_field")
    assert abs(w2_slope) < 0.2 and np.all(final.w2_init.values > 0.3)
    # at the largest width the mean-field drift is > 10x the NTK one
    ntk = ds.sel(parameterization="ntk").isel(t=-1, width=-1)
    assert float(final.kernel_drift[-1]) > 10 * float(ntk.kernel_drift)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_spectral_bias_low_frequencies_first(tmp_path):
    """spectral_bias.toml shrunk: each frequency reaches 90% later than the lower
    ones, for the network and its constant-kernel flow; the heatmap is drawn."""
    r = mfsim.run_scenario(
        "scenarios/spectral_bias.toml", out=tmp_path,
        overrides={"task.frequencies": [1.0, 2.0, 4.0], "task.n_train": 32,
                   "task.n_test": 64, "system.width": 256, "solver.t1": 4000.0,
                   "save.n": 40, "save.t_first": 0.5})
    assert r.succeeded
    for prefix in ("", "ck_empirical_"):
        freqs, times = learning_times(r.dataset, f"{prefix}fourier_progress")
        np.testing.assert_array_equal(freqs, [1, 2, 4])
        assert np.all(np.isfinite(times)) and np.all(np.diff(times) > 0), (prefix, times)
    assert (tmp_path / "spectral_bias.png").exists()
