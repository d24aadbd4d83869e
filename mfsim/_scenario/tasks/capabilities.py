"""What a task's data offer beyond training points, declared by its table's
class (as the capability types of :mod:`mfsim._system` declare what a
system can do): a monitor that needs one checks ``isinstance(scenario.task,
Capability)``, never a task's name, and its refusal names the registered
tasks whose tables have it (:func:`offering`). A task from outside the
package gains a monitor by inheriting the capability in its table.
"""

from __future__ import annotations

import abc
from typing import ClassVar


class AbstractTaskCapability(abc.ABC):
    """A capability of a task table; ``what`` says it in words."""

    what: ClassVar[str]


class SphereInputs(AbstractTaskCapability):
    r"""Inputs on the sphere of radius $\sqrt d$ (for some settings of the table)."""

    what = "inputs on a sphere"
    sphere_setting: ClassVar[str] = ""  # the table's setting that puts them there, if any

    @abc.abstractmethod
    def on_sphere(self) -> bool:
        """Whether the inputs, as configured, lie on the sphere."""

    def uniform_on_sphere(self) -> bool:
        """Whether they are uniform on it (degrees of spherical harmonics separate)."""
        return self.on_sphere()


class SphereDensity(SphereInputs):
    """Inputs drawn from a density on the sphere that a monitor can sample
    again (a Nyström sample of the input law)."""

    what = "an input density on the sphere"

    @abc.abstractmethod
    def input_density(self) -> tuple[str, float]:
        """``(density, kappa)``: ``"uniform"`` or ``"vmf"`` and its concentration."""


class HarmonicTarget(SphereInputs):
    """A target of known spherical-harmonic degrees (its power per degree
    exactly), with i.i.d. label noise on the training targets: what a
    learning curve from the kernel's spectrum needs."""

    what = "a target of known spherical-harmonic degrees"

    @abc.abstractmethod
    def degree_powers(self) -> tuple[list[int], list[float]]:
        """``(degrees, powers)``: the target's energy in each degree."""

    @abc.abstractmethod
    def label_noise(self) -> float:
        """The standard deviation of the training labels' noise."""


class TeacherNeurons(AbstractTaskCapability):
    """A teacher network whose neurons (without biases) are a particle
    measure: ``Dataset.teacher_particles``."""

    what = "a teacher network's neurons"


class PeriodicGrid(AbstractTaskCapability):
    """A 1-d target of known integer-frequency sinusoids, tested on a regular grid."""

    what = "sinusoids on a test grid"

    @abc.abstractmethod
    def target_frequencies(self) -> list[float]:
        """The target's frequencies."""

    @abc.abstractmethod
    def grid_points(self) -> int:
        """The test grid's points."""


class WhitenedInputs(AbstractTaskCapability):
    """Inputs that may be whitened, ``(1/n) X^T X = I``."""

    what = "whitened inputs"

    @abc.abstractmethod
    def whitened(self) -> bool:
        """Whether they are, as configured."""


class LinearRegression(AbstractTaskCapability):
    """A linear regression target; under-determined when ``n_train < d``."""

    what = "a linear regression"

    @abc.abstractmethod
    def underdetermined(self) -> bool:
        """Whether the training equations have more unknowns than rows."""
