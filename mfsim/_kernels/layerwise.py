r"""The layerwise factorization of a fully connected network's NTK.

For a layer computing $z^{l+1} = s_w^l W^l a^l + s_b^l b^l$, the gradient in
$W^l$ is $s_w^l\,\delta^{l+1}\otimes a^l$ and in $b^l$ is $s_b^l\,\delta^{l+1}$,
with $\delta^{l+1} = \partial f/\partial z^{l+1}$ the back-propagated signal.
Hence

$$\Theta(x, x') = \sum_l \big((s_w^l)^2\,a^l(x)\cdot a^l(x') + (s_b^l)^2\big)
\;\delta^{l+1}(x)\cdot\delta^{l+1}(x'),$$

the elementwise product of the Gram matrices of each layer's inputs and of its
back-propagated signals: $O(n_1 n_2 \sum_l n_l)$ work, no Jacobian.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp


def layerwise_ntk(
    inputs1: Sequence,
    inputs2: Sequence,
    signals1: Sequence,
    signals2: Sequence,
    weight_scales: Sequence[float],
    bias_scales: Sequence[float | None],
):
    """Sum over layers of ``(s_w^2 A1 A2^T + s_b^2) * (D1 D2^T)``.

    ``inputs*[l]``: ``(n, n_l)`` inputs of layer ``l``; ``signals*[l]``:
    ``(n, n_{l+1})`` signals at its outputs; ``bias_scales[l]`` is ``None`` for
    a layer without (trained) bias. A scale of 0 drops a frozen part.
    """
    total = 0.0
    for a1, a2, d1, d2, sw, sb in zip(inputs1, inputs2, signals1, signals2, weight_scales,
                                      bias_scales):
        gram_in = sw**2 * (a1 @ a2.T)
        if sb is not None:
            gram_in = gram_in + sb**2
        total = total + gram_in * (d1 @ d2.T)
    return jnp.asarray(total)
