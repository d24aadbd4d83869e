"""mfsim.crossover: the crossing point of a swept variable (against a
log-log interpolation by hand), its power-law fit and 95% interval (against
scipy.stats.linregress), and the shipped lazy_feature_crossover scenario
from the command line."""

import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import mfsim


def test_crossing_point_interpolates_in_log_log():
    x = np.array([0.1, 1.0, 10.0, 100.0])
    y = np.array([8.0, 4.0, 0.5, 0.1])
    # between x = 1 (y 4) and x = 10 (y 0.5): log(4/2)/log(4/0.5) = 1/3 of a decade
    assert mfsim.crossing_point(x, y, 2.0) == pytest.approx(10 ** (1 / 3), rel=1e-14)
    # order of x does not matter, an exact hit is returned as is
    assert mfsim.crossing_point(x[::-1], y[::-1], 4.0) == pytest.approx(1.0, rel=1e-15)
    # rising through the level counts too
    # (between x = 1 (y 0.5) and x = 10 (y 4): log(0.5/2)/log(0.5/4) = 2/3 of a decade)
    assert mfsim.crossing_point(x, y[::-1], 2.0) == pytest.approx(10 ** (2 / 3), rel=1e-14)
    assert math.isnan(mfsim.crossing_point(x, y, 50.0))  # never crossed
    # a NaN (a failed point) brackets nothing
    assert math.isnan(mfsim.crossing_point(x, np.array([8.0, np.nan, 0.5, 0.1]), 2.0))


def _sweep(star, alphas, widths, seeds, p=1.3, level=0.5):
    """drift(alpha) = level (alpha*/alpha)^p: a power law through the level at
    exactly alpha* = star[width, seed], so log-log interpolation is exact."""
    a = np.asarray(alphas)[:, None, None]
    values = level * (star[None] / a) ** p
    ds = xr.Dataset(
        {"kernel_drift": (("scale", "width", "seed", "t"),
                          np.stack([np.zeros_like(values), values], -1),
                          {"long_name": "kernel drift", "symbol": "$d$"})},
        coords={"scale": ("scale", alphas, {"long_name": "output scale",
                                            "symbol": r"$\alpha$"}),
                "width": ("width", widths, {"long_name": "width", "symbol": "$m$"}),
                "seed": seeds, "t": [0.0, 1.0]})
    ds.attrs["sweep_dims"] = "scale,width,seed"
    return ds


def test_crossover_recovers_the_points_and_the_fit_of_linregress():
    rng = np.random.default_rng(0)
    widths = np.array([64.0, 128.0, 256.0, 512.0, 1024.0])
    star = 0.8 * widths[:, None] ** -0.5 * np.exp(0.05 * rng.normal(size=(5, 3)))
    alphas = np.geomspace(0.005, 0.5, 9)
    ds = _sweep(star, alphas, widths, [0, 1, 2])
    spec = mfsim.CrossoverSpec("kernel_drift", "scale", "width", 0.5, predicted_slope=-0.5)
    out = mfsim.crossover(ds, spec)["scale_star"]
    assert out.dims == ("width", "seed")
    np.testing.assert_allclose(out.values, star, rtol=1e-12)
    fit = stats.linregress(np.log(np.repeat(widths, 3)), np.log(star.ravel()))
    half = stats.t.ppf(0.975, star.size - 2) * fit.stderr
    assert out.attrs["crossover_slope"] == pytest.approx(fit.slope, rel=1e-10)
    assert out.attrs["crossover_slope_half"] == pytest.approx(half, rel=1e-8)
    assert out.attrs["crossover_prefactor"] == pytest.approx(math.exp(fit.intercept), rel=1e-10)
    assert out.attrs["crossover_found"] == star.size
    assert out.attrs["figure"] == "crossover" and out.attrs["symbol"] == r"$\alpha^*$"
    # a width whose grid does not reach the level: NaN there, fitted without it
    ds2 = _sweep(np.where(widths[:, None] == 1024.0, 1e-4, star), alphas, widths, [0, 1, 2])
    out2 = mfsim.crossover(ds2, spec)["scale_star"]
    assert np.isnan(out2.sel(width=1024.0)).all() and out2.attrs["crossover_found"] == 12


def test_crossover_refusals():
    with pytest.raises(ValueError, match="along and across are both 'width'"):
        mfsim.CrossoverSpec("kernel_drift", "width", "width", 0.5)
    with pytest.raises(ValueError, match="level"):
        mfsim.CrossoverSpec("kernel_drift", "scale", "width", 0.0)
    ds = _sweep(np.ones((2, 1)), [0.1, 1.0], [64.0, 128.0], [0])
    with pytest.raises(ValueError, match="'depth' is not a sweep dimension"):
        mfsim.crossover(ds, mfsim.CrossoverSpec("kernel_drift", "depth", "width", 0.5))
    with pytest.raises(ValueError, match="record no 'w2'"):
        mfsim.crossover(ds, mfsim.CrossoverSpec("w2", "scale", "width", 0.5))


@pytest.mark.slow  # ~40 s
def test_lazy_feature_crossover_shrunk(tmp_path, capsys):
    """lazy_feature_crossover.toml from the CLI, shrunk to 3 widths x 5 scales:
    every run stops at the loss target, the kernel change at the stop falls
    with alpha and with the width, alpha* is found at every width and falls
    with it (slope within 0.15 of -1/2; the full scenario measures -0.49), and
    the crossover figure is drawn."""
    from mfsim.cli import main

    sets = ["system.scale=[0.01,0.032,0.1,0.32]", "system.width=[64,256,1024]",
            "seed=[0]", "save.n=8"]
    code = main(["run", "lazy_feature_crossover", "--quiet", "--out", str(tmp_path),
                 *(a for s in sets for a in ("--set", s))])
    assert code == 0, capsys.readouterr()
    with xr.open_dataset(tmp_path / "results.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    assert ds.attrs["status"] == "stopped"  # at every point (else a variable over them)
    drift = mfsim.final_value(ds, "kernel_drift").isel(seed=0).values  # (scale, width)
    assert np.all(np.diff(drift, axis=0) < 0) and np.all(np.diff(drift, axis=1) < 0), drift
    loss = mfsim.final_value(ds, "train_loss").values
    np.testing.assert_allclose(loss, 1e-3, rtol=1e-3)  # the value at the stop
    star = ds["scale_star"]
    assert np.isfinite(star).all() and np.all(np.diff(star.isel(seed=0).values) < 0)
    assert abs(star.attrs["crossover_slope"] + 0.5) < 0.15, star.attrs
    assert (tmp_path / "scale_crossover.png").exists()
