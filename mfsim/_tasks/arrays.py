"""Tasks from the user's own arrays: in memory (:func:`array_task`) or in a
file (:func:`file_task`: a NumPy ``.npz`` archive or a netCDF ``.nc`` file,
holding ``x_train``, ``y_train``, ``x_test``, ``y_test`` or arrays named
otherwise).

Inputs are ``(n, d)``, targets ``(n,)`` (or ``(n, 1)``): scalar regression,
or classification with +-1 labels (read by ``test_accuracy``). Arrays must be
real numbers, finite, with matching sizes; they are cast to the run's dtype.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from .dataset import Dataset

NAMES = ("x_train", "y_train", "x_test", "y_test")
SUFFIXES = (".npz", ".nc")


class DataArrayError(ValueError):
    """Arrays that cannot make a task (the message says which and why)."""


_CACHE: dict[tuple, dict[str, np.ndarray]] = {}


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` or netCDF file, read without executing
    anything (``allow_pickle=False``); cached while the file is unchanged."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise DataArrayError(f"{path}: must be a .npz or .nc (netCDF) file")
    try:
        stat = path.stat()
    except OSError as e:
        raise DataArrayError(f"{path}: {e.strerror or e}") from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        try:
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as z:
                    arrays = {name: z[name] for name in z.files}
            else:
                import xarray as xr

                with xr.open_dataset(path, engine="h5netcdf") as ds:
                    arrays = {str(name): np.asarray(v.values) for name, v in ds.variables.items()}
        except Exception as e:  # noqa: BLE001 (any unreadable file is one line)
            what = "a NumPy .npz archive" if path.suffix == ".npz" else "a netCDF file"
            raise DataArrayError(f"{path}: cannot read it as {what} ({type(e).__name__})"
                                 ) from None
        _CACHE.clear()  # one file at a time is enough for a run's points
        _CACHE[key] = arrays
    return _CACHE[key]


def check_arrays(arrays: dict[str, np.ndarray], names: dict[str, str] | None = None,
                 where: str = "") -> dict[str, np.ndarray]:
    """The four arrays (``names`` maps x_train ... to the names in
    ``arrays``), checked: real, finite, inputs 2-d of one width, targets of
    their inputs' length. Returns float64 copies, targets flattened."""
    names = {n: n for n in NAMES} | (names or {})
    out = {}
    for role in NAMES:
        name = names[role]
        if name not in arrays:
            found = ", ".join(sorted(arrays)) or "none"
            raise DataArrayError(f"{where}no array named {name!r} ({role}); it has: {found}")
        a = np.asarray(arrays[name])
        if a.dtype.kind not in "biuf":
            raise DataArrayError(f"{where}{name!r} holds {a.dtype}, not real numbers")
        a = a.astype(np.float64)
        if role.startswith("x") and a.ndim != 2:
            raise DataArrayError(f"{where}{name!r} has shape {a.shape}; inputs must be "
                                 "(n, d)")
        if role.startswith("y"):
            if a.ndim == 2 and a.shape[1] == 1:
                a = a[:, 0]
            if a.ndim != 1:
                raise DataArrayError(f"{where}{name!r} has shape {a.shape}; targets must be "
                                     "(n,) or (n, 1)")
        if not np.all(np.isfinite(a)):
            raise DataArrayError(f"{where}{name!r} holds NaN or infinite values")
        out[role] = a
    for split in ("train", "test"):
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        if len(x) != len(y) or len(x) == 0:
            raise DataArrayError(f"{where}{names['x_' + split]!r} has {len(x)} rows and "
                                 f"{names['y_' + split]!r} {len(y)}: they must match (and "
                                 "not be empty)")
    if out["x_test"].shape[1] != out["x_train"].shape[1]:
        raise DataArrayError(f"{where}the test inputs have {out['x_test'].shape[1]} columns, "
                             f"the training inputs {out['x_train'].shape[1]}")
    return out


def array_task(x_train, y_train, x_test, y_test, *, dtype=jnp.float32) -> Dataset:
    """A task from arrays in memory (checked as :func:`check_arrays` says)."""
    a = check_arrays({"x_train": x_train, "y_train": y_train, "x_test": x_test,
                      "y_test": y_test})
    return Dataset(*(jnp.asarray(a[n], dtype) for n in NAMES))


def file_task(path: str | os.PathLike, *, x_train: str = "x_train", y_train: str = "y_train",
              x_test: str = "x_test", y_test: str = "y_test", dtype=jnp.float32) -> Dataset:
    """A task from the arrays of a ``.npz`` or netCDF file."""
    names = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    a = check_arrays(read_arrays(path), names, where=f"{path}: ")
    return Dataset(*(jnp.asarray(a[n], dtype) for n in NAMES))
