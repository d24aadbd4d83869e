"""U7 of issue 18: training on real data and on the user's own arrays. A
file task reads .npz and netCDF files into exactly the arrays written (and the
same run as from the arrays in memory); a bad file is one line naming
task.path and what is wrong; the digits task is scikit-learn's images."""

import numpy as np
import pytest
import xarray as xr

import mfsim
from mfsim.cli import main


def _arrays(rng, n=12, n_test=5, d=3):
    return {"x_train": rng.normal(size=(n, d)), "y_train": np.sign(rng.normal(size=n)),
            "x_test": rng.normal(size=(n_test, d)), "y_test": np.sign(rng.normal(size=n_test))}


def _scenario(path, **names):
    return {"name": "f", "dtype": "float64", "task": {"kind": "file", "path": str(path), **names},
            "system": {"width": 8}, "solver": {"t1": 2.0}, "save": {"n": 3},
            "monitors": [{"name": "train_loss"}, {"name": "test_loss"},
                         {"name": "train_outputs"}]}


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_a_file_task_reads_exactly_the_arrays(suffix, tmp_path):
    a = _arrays(np.random.default_rng(0))
    path = tmp_path / f"data{suffix}"
    if suffix == ".npz":
        np.savez(path, **{"inputs": a["x_train"], **{k: v for k, v in a.items()
                                                    if k != "x_train"}})
    else:
        xr.Dataset({"inputs": (("n", "d"), a["x_train"]), "y_train": ("n", a["y_train"]),
                    "x_test": (("m", "d"), a["x_test"]), "y_test": ("m", a["y_test"])}
                   ).to_netcdf(path, engine="h5netcdf")
    data = mfsim.file_task(path, x_train="inputs", dtype=np.float64)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(np.asarray(getattr(data, name)), a[name])
    # in a scenario: the initial outputs are the network's on these very inputs
    ds = mfsim.run(_scenario(path, x_train="inputs"))
    ref = mfsim.array_task(a["x_train"], a["y_train"], a["x_test"], a["y_test"],
                           dtype=np.float64)
    assert ds.attrs["status"] == "success" and ds.train_outputs.shape == (3, 12)
    np.testing.assert_allclose(ds.train_loss.values[0], 0.5 * np.mean(
        (ds.train_outputs.values[0] - np.asarray(ref.y_train)) ** 2), rtol=1e-12)


def _write(tmp_path, arrays, name="bad.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


BAD = {
    "missing array": (lambda a: {k: v for k, v in a.items() if k != "y_test"},
                      "no array named 'y_test' (y_test); it has: x_test, x_train, y_train"),
    "inputs not 2-d": (lambda a: {**a, "x_train": a["x_train"][:, 0]},
                       "'x_train' has shape (12,); inputs must be (n, d)"),
    "vector targets": (lambda a: {**a, "y_train": np.ones((12, 2))},
                       "'y_train' has shape (12, 2); targets must be (n,) or (n, 1)"),
    "rows": (lambda a: {**a, "y_train": a["y_train"][:-1]},
             "'x_train' has 12 rows and 'y_train' 11: they must match (and not be empty)"),
    "columns": (lambda a: {**a, "x_test": a["x_test"][:, :2]},
                "the test inputs have 2 columns, the training inputs 3"),
    "nan": (lambda a: {**a, "x_test": np.full((5, 3), np.nan)},
            "'x_test' holds NaN or infinite values"),
    "strings": (lambda a: {**a, "y_test": np.array(["a"] * 5)},
                "'y_test' holds <U1, not real numbers"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_data_file_is_one_line_naming_task_path(case, tmp_path, capsys, monkeypatch):
    change, message = BAD[case]
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, change(_arrays(np.random.default_rng(0))))
    (tmp_path / "s.toml").write_text('name = "x"\n[task]\nkind = "file"\npath = "bad.npz"\n')
    for command in ("check", "run"):
        assert main([command, "s.toml"]) == 2
        err = capsys.readouterr().err
        assert err.strip().splitlines() == [f"mfsim: s.toml: task.path: bad.npz: {message}"], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "s.toml"]


def test_an_unreadable_data_file_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.npz").write_bytes(b"not a zip archive")
    (tmp_path / "s.toml").write_text('name = "x"\n[task]\nkind = "file"\npath = "bad.npz"\n')
    assert main(["check", "s.toml"]) == 2
    assert capsys.readouterr().err.strip() == (
        "mfsim: s.toml: task.path: bad.npz: cannot read it as a NumPy .npz archive (ValueError)")


def test_the_digits_task_is_scikit_learns_images():
    import jax
    from sklearn.datasets import load_digits

    data = mfsim.digits_task(jax.random.key(0), classes=(3, 8), n_train=200, n_test=100)
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    assert x.shape == (200, 64) and set(np.unique(y)) == {-1.0, 1.0}
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 8.0, rtol=1e-5)
    # every image is one of the dataset's 3s (+1) or 8s (-1), after the same standardization
    digits = load_digits()
    raw = digits.data / 16.0
    std = raw.std(0)
    z = (raw - raw.mean(0)) / np.where(std > 0, std, 1.0)
    z = z / np.linalg.norm(z, axis=1, keepdims=True) * 8.0
    for xi, yi in zip(np.concatenate([x, np.asarray(data.x_test)]),
                      np.concatenate([y, np.asarray(data.y_test)])):
        match = np.flatnonzero(np.abs(z - xi).max(1) < 1e-4)
        assert match.size >= 1 and digits.target[match[0]] == (3 if yi > 0 else 8)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_digits_shrunk(tmp_path):
    """The shipped real-data scenario, smaller: the active network's kernel
    moves far more than the lazy one's, and both learn to classify."""
    from pathlib import Path

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "digits.toml"
    ds = mfsim.run_scenario(scenario, out=tmp_path, figures=False, overrides={
        "system.scale": [0.25, 16.0], "system.width": 64, "task.n_train": 120,
        "task.n_test": 60, "save.n": 12}).dataset
    assert ds.attrs["status"] == "success"
    final = ds.isel(t=-1)
    drift = final.kernel_drift.values
    assert drift[0] > 10 * drift[1]
    assert np.all(final.test_accuracy.values > 0.9)
