"""A1 of issue 16: the refactoring changed no number. Shrunk float64 versions
of the shipped scenarios (tests/golden_cases.py) are run and compared, variable
by variable, with results saved from the code before it (tests/golden/*.nc)
to rtol 1e-12. The suite runs five of them (every system family, twins, the
kernel and Wasserstein monitors, sweeps and reference runs);
``python tests/scripts/make_golden.py --check`` compares all nine."""

import numpy as np
import pytest
import xarray as xr
from golden_cases import GOLDEN, shrunk

import mfsim

IN_SUITE = ("quickstart", "deep_linear_saxe", "sequence_model_adaptivity", "lazy_vs_active",
            "mean_field_chaos")


def assert_same_results(ds: xr.Dataset, golden: xr.Dataset, rtol: float = 1e-12) -> None:
    assert sorted(ds.data_vars) == sorted(golden.data_vars)
    assert dict(ds.sizes) == dict(golden.sizes)
    for name in list(golden.data_vars) + list(golden.coords):
        a, b = np.asarray(ds[name].values), np.asarray(golden[name].values)
        if a.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    for key in ("status", "t_final"):
        if key in golden.attrs:
            assert str(ds.attrs[key]) == str(golden.attrs[key]), key


# the slowest shipped scenarios run in the slow set (CI runs it after the README's command)
SLOW_GOLDEN = ("lazy_vs_active", "mean_field_chaos", "sequence_model_adaptivity")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow)
                                  if n in SLOW_GOLDEN else n for n in IN_SUITE])
def test_shipped_scenario_results_unchanged(name):
    with xr.open_dataset(GOLDEN / f"{name}.nc", engine="h5netcdf") as golden:
        assert_same_results(mfsim.run(shrunk(name)), golden.load())
