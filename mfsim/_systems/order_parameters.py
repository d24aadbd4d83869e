r"""The order-parameter ODEs of online SGD in a soft committee machine: the
theory twin of :class:`mfsim.SoftCommittee` (Saad and Solla 1995; Goldt et al.
2019, with a trained second layer and output noise).

With $\Delta = \sum_c a_c g(z_c)$ over all fields $z = (\lambda_1..\lambda_K,
\nu_1..\nu_M)$, $a = (v, -\tilde v)$, and the integrals I2, I3, I4, J2 of
:mod:`mfsim._kernels.erf_integrals` at the covariance $C = [[Q, R], [R^\top,
T]]$, the overlaps obey, in the flow time $t = \eta\alpha$ of mfsim's online SGD
($\alpha$ = samples / N, learning rate $\eta$, batches of $B$ samples):

$$\frac{dR_{in}}{dt} = -v_i\sum_c a_c I_3(i, n, c),\qquad
\frac{dv_i}{dt} = -\rho\sum_c a_c I_2(i, c),$$
$$\frac{dQ_{ik}}{dt} = -v_i\sum_c a_c I_3(i,k,c) - v_k\sum_c a_c I_3(k,i,c)
+ \frac{\eta}{B} v_i v_k\Big[\sum_{c,d} a_c a_d I_4(i,k,c,d) + \sigma^2 J_2(i,k)\Big],$$

$\rho = \eta_v/\eta$ (``output_rate``; $dv/dt = 0$ when $v$ does not train),
$T$ constant. The first-order terms are the population gradient flow (exact at
any $N$); the $\eta/B$ term is the sample noise of online SGD (exact as $N \to
\infty$; online SGD approaches the ODE like $N^{-1/2}$). $\eta = 0$: gradient
flow on the population loss. Derivation: $\Delta w_i = -\frac{\eta}{\sqrt N} v_i
g'(\lambda_i)\Delta x$ per sample gives $\Delta R_{in} = -\frac{\eta}{N} v_i
g'(\lambda_i)\Delta\,\nu_n$ and $\Delta Q_{ik} = -\frac{\eta}{N}[v_i g'(\lambda_i)
\lambda_k + v_k g'(\lambda_k)\lambda_i]\Delta + \frac{\eta^2}{N} v_i v_k g'(\lambda_i)
g'(\lambda_k)\Delta^2$ ($|x|^2 \approx N$); averaging over a fresh sample and
taking $N$ samples per unit $\alpha$ gives the equations.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._kernels.erf_integrals import covariance, generalization_error, i2, i3, i4, j2
from .._solve.fixed_points import AbstractCoordinates, FixedPoint, fixed_point, solve_fixed_point
from .._system import AbstractOrderParameterSystem, OrderParameters


class OverlapState(eqx.Module):
    """The evolving order parameters: ``Q`` ``(K, K)``, ``R`` ``(K, M)``, ``v`` ``(K,)``."""

    Q: Float[Array, "K K"]
    R: Float[Array, "K M"]
    v: Float[Array, " K"]


class IdenticalStudents(AbstractCoordinates):
    r"""The states where every student unit is the same vector: $Q_{ik} = q$,
    $R_{in} = r_n$, $v_i = \bar v$, coordinates $z = (q, r_1..r_M)$ and
    $\bar v$ as the last one when the second layer trains (``v`` None), else
    $\bar v$ = ``v`` held fixed.
    The flow leaves this set invariant when the students' $v_i$ are equal (a
    permutation of the students is a symmetry); the symmetric plateau lies on
    it (at the edge of the realizable overlaps, where the students' covariance
    is singular, so it is not an isolated zero of the field over every entry
    of $Q$)."""

    students: int = eqx.field(static=True)
    v: Float[Array, ""] | None = None

    def embed(self, z):
        K = self.students
        ones = jnp.ones((K,), z.dtype)
        v, r = (z[-1], z[1:-1]) if self.v is None else (self.v, z[1:])
        return OverlapState(Q=jnp.full((K, K), z[0]), R=jnp.outer(ones, r), v=ones * v)

    def of(self, state: OverlapState):
        z = [jnp.mean(state.Q)[None], jnp.mean(state.R, axis=0)]
        return jnp.concatenate(z + ([jnp.mean(state.v)[None]] if self.v is None else []))


class OrderParameterODE(AbstractOrderParameterSystem):
    """The theory twin (module docstring). ``initial``: the overlaps to start
    from (those of the network's initial weights: :meth:`twin_of`)."""

    initial: OverlapState
    T: Float[Array, "M M"]
    v_teacher: Float[Array, " M"]
    eta: Float[Array, ""]
    noise: Float[Array, ""]
    output_rate: Float[Array, ""]
    train_output: bool = eqx.field(static=True)

    def __init__(self, initial: OverlapState, T, v_teacher, *, eta: float = 0.0,
                 batch_size: int = 1, noise: float = 0.0, train_output: bool = False,
                 output_rate: float = 1.0):
        dtype = initial.Q.dtype
        self.initial = initial
        self.T = jnp.asarray(T, dtype)
        self.v_teacher = jnp.asarray(v_teacher, dtype)
        self.eta = jnp.asarray(eta / batch_size, dtype)
        self.noise = jnp.asarray(noise, dtype)
        self.output_rate = jnp.asarray(output_rate, dtype)
        self.train_output = bool(train_output)

    @classmethod
    def twin_of(cls, system, state0, *, eta: float = 0.0, batch_size: int = 1
                ) -> OrderParameterODE:
        """The twin of a :class:`mfsim.SoftCommittee` from its initial state:
        ``eta`` the learning rate of its online SGD (0: its population flow)."""
        p = system.order_parameters(state0)
        return cls(OverlapState(p.Q, p.R, p.v), p.T, p.v_teacher, eta=eta,
                   batch_size=batch_size, noise=system.noise, train_output=system.train_output,
                   output_rate=system.output_rate)

    def init(self, key=None) -> OverlapState:
        return self.initial

    # ------------------------------------------------------------ the plateau
    def plateau_guess(self) -> OverlapState:
        r"""The symmetric plateau of $K$ students on an orthonormal teacher
        ($T = I$, unit second layers) as $\eta \to 0$ (Saad & Solla 1995):
        $Q_{ik} = 1/(2K-1)$, $R_{in} = 1/\sqrt{K(2K-1)}$, with this twin's
        mean student $v$; the start of :meth:`plateau`'s Newton iteration."""
        K, M = self.initial.R.shape
        dtype = self.initial.Q.dtype
        q = 1.0 / (2 * K - 1)
        return OverlapState(Q=jnp.full((K, K), q, dtype),
                            R=jnp.full((K, M), (q / K) ** 0.5, dtype),
                            v=jnp.full((K,), jnp.mean(self.initial.v), dtype))

    def _plateau_coordinates(self) -> IdenticalStudents:
        v = self.initial.v
        if v.shape[0] > 1 and not bool(jnp.all(v == v[0])):
            raise ValueError("the symmetric plateau needs equal second-layer weights v_i "
                             f"(students interchangeable); got v = {v}")
        return IdenticalStudents(v.shape[0], None if self.train_output else v[0])

    def plateau(self, guess: OverlapState | None = None, **kw) -> FixedPoint:
        r"""The symmetric plateau: the fixed point with every student unit
        identical (:class:`IdenticalStudents`), from ``guess`` (default
        :meth:`plateau_guess`), at this twin's $\eta$; its stability over all
        the overlaps (a saddle: the unstable directions break the students'
        symmetry). ``kw``: :func:`mfsim.fixed_point`'s options.
        ``generalization_error(plateau().state)`` is the plateau's height:
        $\epsilon^* = \frac{K}{\pi}(\frac{\pi}{6} - K\arcsin\frac{1}{2K})$ at
        $T = I$, $v = v^* = 1$, $\eta \to 0$."""
        guess = self.plateau_guess() if guess is None else guess
        return fixed_point(self, guess, coordinates=self._plateau_coordinates(), **kw)

    def plateau_state(self) -> OverlapState:
        """:meth:`plateau`'s point alone, traceable (for a monitor inside the
        compiled solve; students' equal ``v`` is the caller's to check)."""
        v = self.initial.v
        coordinates = IdenticalStudents(v.shape[0], None if self.train_output else jnp.mean(v))
        return solve_fixed_point(self, self.plateau_guess(), coordinates=coordinates)[0]

    def order_parameters(self, state: OverlapState) -> OrderParameters:
        return OrderParameters(state.Q, state.R, self.T, state.v, self.v_teacher)

    def generalization_error(self, state: OverlapState):
        return generalization_error(state.Q, state.R, self.T, state.v, self.v_teacher)

    def vector_field(self, t, state: OverlapState, args) -> OverlapState:
        K = state.Q.shape[0]
        C = covariance(state.Q, state.R, self.T)
        d = jnp.diag(C)
        a = jnp.concatenate([state.v, -self.v_teacher])
        s = slice(0, K)
        # I3[i, b, c] = E[g'(z_i) z_b g(z_c)], i over students
        I3 = i3(d[s, None, None], C[s, :, None], C[s, None, :], C[None, :, :], d[None, None, :])
        grad = -state.v[:, None] * (I3 @ a)  # (K, K+M): -v_i sum_c a_c I3(i, b, c)
        dR = grad[:, K:]
        first = grad[:, :K]
        # I4[i, k, c, e] = E[g'(z_i) g'(z_k) g(z_c) g(z_e)], i, k over students
        I4 = i4(d[s, None, None, None], C[s, s][:, :, None, None], C[s, None, :, None],
                C[s, None, None, :], d[None, s, None, None], C[None, s, :, None],
                C[None, s, None, :], d[None, None, :, None], C[None, None, :, :],
                d[None, None, None, :])
        J2 = j2(d[s, None], C[s, s], d[None, s])
        noise = jnp.einsum("ikce,c,e->ik", I4, a, a) + self.noise**2 * J2
        dQ = first + first.T + self.eta * jnp.outer(state.v, state.v) * noise
        if self.train_output:
            I2 = i2(d[s, None], C[s, :], d[None, :])
            dv = -self.output_rate * (I2 @ a)
        else:
            dv = jnp.zeros_like(state.v)
        return OverlapState(dQ, dR, dv)
