"""The data a task hands to a system and to the monitors."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
from jaxtyping import Array, Float, PRNGKeyArray


class AbstractSampler(eqx.Module):
    """A data distribution that draws fresh samples (online learning)."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        """``n`` inputs ``(n, d)`` and their targets ``(n,)``."""



class Dataset(eqx.Module):
    """Train and test inputs and targets.

    ``teacher_particles`` is the teacher's neurons as a particle array
    (``(k, d+1)``, rows $(a_i, u_i)$) where the task has a teacher, else ``None``.
    ``sampler`` draws fresh samples of the task's distribution (training
    targets: with their label noise) where the task can, else ``None``: what
    online SGD trains on.
    """

    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]
    x_test: Float[Array, "n_test d"]
    y_test: Float[Array, " n_test"]
    teacher_particles: Float[Array, "k p"] | None = None
    sampler: AbstractSampler | None = None

    @classmethod
    def abstract(cls, sizes, dtype) -> Dataset:
        """The shapes of data of ``sizes`` (``n_train``, ``n_test``, an
        example's ``shape`` or ``(d,)``, ``target_shape``) as
        ``jax.ShapeDtypeStruct`` leaves: what a system is built on to read its
        state's shapes and time scale (:func:`jax.eval_shape`) before any
        data exist."""
        x, y = tuple(sizes.shape) or (sizes.d,), tuple(sizes.target_shape)
        return cls(*(jax.ShapeDtypeStruct((n, *shape), dtype) for n, shape in (
            (sizes.n_train, x), (sizes.n_train, y), (sizes.n_test, x), (sizes.n_test, y))))


class ImageDataset(Dataset):
    """A :class:`Dataset` whose inputs are images ``(n, c, h, w)``: trained on by
    the image systems (``cnn``), not by those of vector inputs."""


class CommitteeDataset(Dataset):
    """A :class:`Dataset` drawn from a soft committee machine teacher, with its
    weights ``teacher_w`` ``(M, N)``, second layer ``teacher_v`` ``(M,)`` and
    output noise ``noise``: what :class:`mfsim.SoftCommittee` students train on."""

    teacher_w: Float[Array, "M N"] = None
    teacher_v: Float[Array, " M"] = None
    noise: Float[Array, ""] = None

    @classmethod
    def abstract(cls, sizes, dtype) -> CommitteeDataset:
        """:meth:`Dataset.abstract`, with the teacher's ``teacher_width`` neurons."""
        base = Dataset.abstract(sizes, dtype)
        shape = lambda *s: jax.ShapeDtypeStruct(s, dtype)  # noqa: E731
        return cls(base.x_train, base.y_train, base.x_test, base.y_test,
                   teacher_w=shape(sizes.teacher_width, sizes.d),
                   teacher_v=shape(sizes.teacher_width), noise=shape())
