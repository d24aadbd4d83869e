r"""NTK eigenfunction tasks (Ortiz-Jiménez et al., 2021): labels
$y = \mathrm{sign}(\phi_j)$ for the $j$-th eigenvector $\phi_j$ of a kernel's
Gram matrix on the pooled train and test inputs.

The kernel is typically the network's own NTK at initialization, so the
task asks how well the network (and its linearization) learns a target that
is exactly the $j$-th eigenfunction of its initial kernel, as $j$ grows.
Eigenvalues are sorted in decreasing order, $j = 1$ is the top one; the
eigenvector's sign is fixed so that its largest-magnitude entry is positive;
an entry of exactly 0 gets the label +1. The first ``n_train`` inputs train.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .dataset import Dataset
from .teacher import sample_inputs


def eigenfunction_labels(gram, index: int) -> np.ndarray:
    """``sign`` of the ``index``-th (1-based, decreasing eigenvalue) eigenvector
    of the symmetric matrix ``gram``, as a float array of +-1 (host-side, float64)."""
    gram = np.asarray(gram, dtype=np.float64)
    n = gram.shape[0]
    if not 1 <= index <= n:
        raise ValueError(f"eigenvector index must be within 1..{n} (the pooled inputs); "
                         f"got {index}")
    _, vecs = np.linalg.eigh((gram + gram.T) / 2)
    v = vecs[:, n - index]
    v = v * np.sign(v[np.argmax(np.abs(v))])
    return np.where(v >= 0, 1.0, -1.0)


def ntk_eigenfunction_task(
    key,
    kernel: Callable,
    *,
    d: int,
    n_train: int,
    n_test: int,
    index: int,
    inputs: Literal["gaussian", "sphere"] = "gaussian",
    dtype=jnp.float32,
) -> Dataset:
    """Inputs drawn like :func:`teacher_task`'s, labels ``sign(phi_index)`` of
    ``kernel(x, x)`` on the ``n_train + n_test`` pooled inputs."""
    x = sample_inputs(key, n_train + n_test, d, inputs, dtype)
    y = jnp.asarray(eigenfunction_labels(jax.device_get(kernel(x, x)), index), dtype)
    return Dataset(x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:],
                   y_test=y[n_train:])
