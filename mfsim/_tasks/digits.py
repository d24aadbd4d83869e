"""A small real dataset: scikit-learn's handwritten digits (1797 greyscale
8x8 images, shipped inside the package: nothing is downloaded), as a binary
task of two digit classes with labels +1 / -1.

Pixels (0..16) are divided by 16 and then centred and scaled to unit
variance per pixel over the whole dataset (pixels that never vary stay 0),
then each image is scaled to norm sqrt(64) = 8, so inputs have the second
moment of a standard Gaussian in d = 64. The images of the two classes are
shuffled with ``key`` and split into ``n_train`` and ``n_test``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .dataset import Dataset


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """(images as (1797, 64) floats in [0, 1], labels 0..9)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target


def digits_task(key, *, classes=(3, 8), n_train: int = 280, n_test: int = 77,
                dtype=jnp.float32) -> Dataset:
    """Digits ``classes[0]`` (label +1) against ``classes[1]`` (label -1)."""
    x, labels = digit_images()
    mean, std = x.mean(0), x.std(0)
    x = (x - mean) / np.where(std > 0, std, 1.0)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12) * np.sqrt(x.shape[1])
    a, b = classes
    keep = np.flatnonzero((labels == a) | (labels == b))
    if n_train + n_test > keep.size:
        raise ValueError(f"digits {a} and {b}: {keep.size} images; n_train + n_test = "
                         f"{n_train + n_test}")
    order = np.asarray(jax.random.permutation(key, keep.size))
    chosen = keep[order[: n_train + n_test]]
    y = np.where(labels[chosen] == a, 1.0, -1.0)
    xs, ys = jnp.asarray(x[chosen], dtype), jnp.asarray(y, dtype)
    return Dataset(xs[:n_train], ys[:n_train], xs[n_train:], ys[n_train:])
