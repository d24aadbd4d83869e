r"""A small convolutional network: a few ``eqx.nn.Conv2d`` layers, global
average pooling and a linear readout, trained through :class:`mfsim.Network`.

For an image $x$ of shape ``(c, h, w)`` and channels $C_1..C_L$ (``"SAME"``
padding, stride 1, kernel $k\times k$):

$$z^{l+1} = s_l\,W^l * a^l + \sigma_b b^l,\quad a^0 = x,\ a^l = \phi(z^l),\qquad
h(x) = s_L\,\frac{1}{hw}\sum_{p} v\cdot a^L_p + \sigma_b b^L,$$

- ``ntk``: $W, b, v \sim N(0, 1)$ stored, multipliers $s_l = \sigma_w/\sqrt{C_l k^2}$
  (readout $\sigma_w/\sqrt{C_L}$): the convolutional analogue of ``stax.Conv``
  in the NTK parameterization; the kernel has a limit as the channels grow
  with time scale 1.
- ``standard``: the same network with the multipliers folded into the
  stored weights ($W\sim N(0, s_l^2)$, multiplier 1), trained with one
  learning rate: the NTK grows with the channels.

:class:`ConvNetInit` is a value-comparable recipe ``key -> ConvNet``, so a
:class:`mfsim.Network` built with it redraws the network for each seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .activations import get_activation
from .parameterization import NTK, AbstractParameterization, Standard
from .parameterization import parameterization as to_parameterization

CONV_PARAMETERIZATIONS: dict[str, AbstractParameterization] = {
    p.name: p for p in (NTK(), Standard())}


class ConvNet(eqx.Module):
    """``(c, h, w) -> scalar`` (module docstring)."""

    convs: tuple[eqx.nn.Conv2d, ...]
    readout: eqx.nn.Linear
    multipliers: tuple[float, ...] = eqx.field(static=True)
    sigma_b: float = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __init__(self, in_channels: int, channels=(16, 16), *, kernel_size: int = 3,
                 activation: str = "relu",
                 parameterization: str | AbstractParameterization = "ntk",
                 sigma_w: float = 1.0, sigma_b: float = 0.0, bias: bool = True,
                 dtype=jnp.float32, key: PRNGKeyArray):
        parameterization = to_parameterization(parameterization, CONV_PARAMETERIZATIONS)
        get_activation(activation)
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be positive integers; got {channels}")
        keys = jax.random.split(key, 2 * len(channels) + 2)
        fan_ins = [c * kernel_size**2 for c in (in_channels, *channels[:-1])] + [channels[-1]]
        scales = [sigma_w / math.sqrt(f) for f in fan_ins]
        ntk = isinstance(parameterization, NTK)  # else Standard: multipliers in the weights
        convs = []
        c_in = in_channels
        for i, c_out in enumerate(channels):
            conv = eqx.nn.Conv2d(c_in, c_out, kernel_size, padding="SAME", use_bias=bias,
                                 dtype=dtype, key=keys[2 * i])
            std = 1.0 if ntk else scales[i]
            conv = eqx.tree_at(lambda m: m.weight, conv,
                               std * jax.random.normal(keys[2 * i], conv.weight.shape, dtype))
            if bias:
                conv = eqx.tree_at(lambda m: m.bias, conv,
                                   jax.random.normal(keys[2 * i + 1], conv.bias.shape, dtype))
            convs.append(conv)
            c_in = c_out
        readout = eqx.nn.Linear(c_in, "scalar", use_bias=bias, dtype=dtype, key=keys[-2])
        std = 1.0 if ntk else scales[-1]
        readout = eqx.tree_at(lambda m: m.weight, readout,
                              std * jax.random.normal(keys[-2], readout.weight.shape, dtype))
        if bias:
            readout = eqx.tree_at(lambda m: m.bias, readout,
                                  jax.random.normal(keys[-1], readout.bias.shape, dtype))
        self.convs = tuple(convs)
        self.readout = readout
        self.multipliers = tuple(scales) if ntk else (1.0,) * len(scales)
        self.sigma_b = float(sigma_b)
        self.activation = activation

    def __call__(self, x: Array) -> Array:
        phi = get_activation(self.activation)
        a = x
        for conv, s in zip(self.convs, self.multipliers):
            # the layer's own weights, without eqx's bias add: z = s W * a + sigma_b b
            z = s * jax.lax.conv_general_dilated(a[None], conv.weight, (1, 1), "SAME")[0]
            if conv.bias is not None:
                z = z + self.sigma_b * conv.bias
            a = phi(z)
        pooled = jnp.mean(a, axis=(1, 2))
        out = self.multipliers[-1] * (self.readout.weight @ pooled).reshape(())
        if self.readout.bias is not None:
            out = out + self.sigma_b * self.readout.bias.reshape(())
        return out


@dataclass(frozen=True)
class ConvNetInit:
    """A recipe ``key -> ConvNet`` (the keyword arguments of :class:`ConvNet`),
    compared by value, so systems built from equal recipes batch together."""

    in_channels: int
    channels: tuple[int, ...] = (16, 16)
    kernel_size: int = 3
    activation: str = "relu"
    parameterization: AbstractParameterization = NTK()
    sigma_w: float = 1.0
    sigma_b: float = 0.0
    bias: bool = True
    dtype: str = "float32"

    def __call__(self, key: PRNGKeyArray) -> ConvNet:
        return ConvNet(self.in_channels, self.channels, kernel_size=self.kernel_size,
                       activation=self.activation, parameterization=self.parameterization,
                       sigma_w=self.sigma_w, sigma_b=self.sigma_b, bias=self.bias,
                       dtype=jnp.dtype(self.dtype), key=key)
