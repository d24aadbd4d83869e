r"""How a two-layer network of width $m$ on inputs of dimension $d$ is scaled
and initialized, as objects (the network holds them; strings become them
once, in :func:`parameterization` and :func:`neuron_init`).

$$f(x) = \alpha\, c_m \sum_{j=1}^m v_j\, \phi(a\, w_j \cdot x + b_j),
\qquad \dot\theta = -\tau\, \nabla_\theta J$$

A parameterization gives the output factor $c_m$, the time scale $\tau$,
the input multiplier $a$ and the law of the input weights $w_j$;
an initialization says how the neurons are drawn (independently, or in
mirrored pairs).
"""

from __future__ import annotations

import abc
import math
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._named import named


class AbstractParameterization(eqx.Module):
    """The scaling of a two-layer network (module docstring)."""

    name: ClassVar[str]

    @abc.abstractmethod
    def width_divisor(self, width: int) -> float:
        r"""What the readout divides by: $m$ (mean field) or $\sqrt m$."""

    def output_factor(self, width: int) -> float:
        """$c_m$, one over :meth:`width_divisor`."""
        return 1.0 / self.width_divisor(width)

    @abc.abstractmethod
    def time_scale(self, width: int) -> float:
        r"""$\tau$."""

    def input_multiplier(self, dim: int) -> float:
        """$a$: 1 unless the parameterization scales the input layer."""
        return 1.0

    def input_std(self, sigma_w, dim: int):
        r"""The standard deviation of each entry of $w_j$: $\sigma_w/\sqrt d$."""
        return sigma_w / math.sqrt(dim)


class MeanField(AbstractParameterization):
    r"""$c_m = 1/m$, $\tau = m$: each neuron moves $O(1)$ and the empirical
    measure of the neurons follows the mean-field continuity equation."""

    name = "mean_field"

    def width_divisor(self, width: int) -> float:
        return width

    def time_scale(self, width: int) -> float:
        return width


class NTK(AbstractParameterization):
    r"""$c_m = 1/\sqrt m$, $\tau = 1$: the kernel stays put as $m$ grows."""

    name = "ntk"

    def width_divisor(self, width: int) -> float:
        return math.sqrt(width)

    def time_scale(self, width: int) -> float:
        return 1


class MuP(MeanField):
    r"""Yang and Hu's μP for two layers: as :class:`MeanField`, with the
    input multiplier $1/\sqrt d$ and $w_j \sim N(0, \sigma_w^2 I)$ (the
    effective input weights move $d$ times slower than in mean field)."""

    name = "mup"

    def input_multiplier(self, dim: int) -> float:
        return 1.0 / math.sqrt(dim)

    def input_std(self, sigma_w, dim: int):
        return sigma_w


class Standard(AbstractParameterization):
    r"""The deep network's standard parameterization (:class:`mfsim.MLP`):
    the NTK scaling trained at per-layer rates, $n_l/\sigma_w^2$ for the
    weights and $1/\sigma_b^2$ for the biases (one learning rate for the
    weights $s W$ themselves). Not a two-layer network's."""

    name = "standard"

    def width_divisor(self, width: int) -> float:
        return math.sqrt(width)

    def time_scale(self, width: int) -> float:
        return 1


class AbstractNeuronInit(eqx.Module):
    """How the neurons of a two-layer network are drawn."""

    name: ClassVar[str]

    def drawn(self, width: int) -> int:
        """How many neurons are drawn independently."""
        return width

    def arrange(self, v, w, b):
        """The width's neurons from those drawn."""
        return v, w, b

    def check(self, width: int) -> None:
        """Refuse a width this initialization cannot make."""


class Gaussian(AbstractNeuronInit):
    """Every neuron drawn independently."""

    name = "gaussian"


class Symmetric(AbstractNeuronInit):
    """$m/2$ neurons drawn, each mirrored as $(-v_j, w_j, b_j)$: the output
    is zero at initialization."""

    name = "symmetric"

    def drawn(self, width: int) -> int:
        return width // 2

    def arrange(self, v, w, b):
        return (jnp.concatenate([v, -v]), jnp.concatenate([w, w]),
                None if b is None else jnp.concatenate([b, b]))

    def check(self, width: int) -> None:
        if width % 2:
            raise ValueError(f"symmetric init needs an even width; got {width}")


# the two-layer network's; the deep network's (mup and mean_field coincide there)
PARAMETERIZATIONS: dict[str, AbstractParameterization] = {
    p.name: p for p in (MeanField(), NTK(), MuP())}
DEEP_PARAMETERIZATIONS: dict[str, AbstractParameterization] = {
    p.name: p for p in (NTK(), MuP(), MeanField(), Standard())}
NEURON_INITS: dict[str, AbstractNeuronInit] = {i.name: i for i in (Gaussian(), Symmetric())}


def parameterization(spec: str | AbstractParameterization,
                     table: dict[str, AbstractParameterization] = PARAMETERIZATIONS
                     ) -> AbstractParameterization:
    """One of ``table``'s parameterizations (the two-layer network's by
    default), given as an object or by its name."""
    return named(spec, tuple(type(t) for t in table.values()), table, "parameterization")


def neuron_init(spec: str | AbstractNeuronInit) -> AbstractNeuronInit:
    """An object, or its name (``"gaussian"``, ``"symmetric"``)."""
    return named(spec, tuple(type(t) for t in NEURON_INITS.values()), NEURON_INITS, "init")
