r"""Fixed points of any system's flow and their stability: where a theory twin
sits on a plateau, and how long it stays there.

:func:`fixed_point` solves $F(y) = 0$ for the system's vector field $F$ (at
time ``t``; autonomous systems ignore it) from a guess, by Gauss-Newton
(``optimistix.GaussNewton`` on $|F|^2$; each step a least-squares solve by
QR/SVD, so redundant coordinates, e.g. the two copies of a symmetric matrix's
off-diagonal, do not break it; on a consistent system this is Newton's method,
quadratically convergent). Then it takes the dense Jacobian
$J = \partial F/\partial y$ there, over the whole flattened state, and its
eigenvalues: directions with $\mathrm{Re}\,\lambda >$ ``tol``
$\cdot\max|\lambda|$ are unstable, those within it neutral (a conserved or
frozen coordinate, a symmetry).

A fixed point that is not isolated (a continuum of them, or one on the edge
of the states the flow can reach) can be solved for on a set the flow leaves
invariant: ``coordinates`` (an :class:`AbstractCoordinates`) maps a few
numbers $z$ to a state, and Newton solves $F(\mathrm{embed}(z)) = 0$ there.
Entries the flow never changes (an untrained layer, a parameter carried in
the state) must be left out of the coordinates, or Newton moves them too and
lands on another system's fixed point: the default coordinates are a
gradient-flow system's ``trainable`` entries, every entry of any other state.
The committee twin's symmetric plateau (all students identical) is solved
this way (:meth:`mfsim.OrderParameterODE.plateau`); its stability is still
read off the Jacobian over the whole state, so the symmetry-breaking
directions count.

Near a fixed point with one weakly unstable direction (a plateau), a
perturbation of size $\delta_0$ along it grows as $\delta_0 e^{\lambda_+ t}$
and reaches a size $\Delta$ at $t = \ln(\Delta/\delta_0)/\lambda_+$
(:meth:`FixedPoint.escape_time`): the linear estimate of the time spent on
the plateau (Saad & Solla 1995: it grows like $\ln(1/\delta_0)$).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PyTree

from .._system import AbstractGradientFlowSystem, AbstractSystem


class AbstractCoordinates(eqx.Module):
    """Coordinates $z$ on a set of states that the flow leaves invariant."""

    @abc.abstractmethod
    def embed(self, z: Float[Array, " p"]) -> PyTree:
        """The state at coordinates ``z``."""

    @abc.abstractmethod
    def of(self, state: PyTree) -> Float[Array, " p"]:
        """The coordinates of (the state nearest) ``state``."""


class FlatCoordinates(AbstractCoordinates):
    """The entries of the state where ``mask`` is True (a pytree of bools
    like the state, or None: every entry); the others stay as in ``like``.
    The default coordinates: a gradient-flow system's ``trainable`` entries,
    every entry of any other system's state."""

    like: PyTree
    mask: PyTree = None

    def embed(self, z):
        if self.mask is None:
            return ravel_pytree(self.like)[1](z)
        free, frozen = eqx.partition(self.like, self.mask)
        return eqx.combine(ravel_pytree(free)[1](z), frozen)

    def of(self, state):
        free = state if self.mask is None else eqx.filter(state, self.mask)
        return ravel_pytree(free)[0]


def default_coordinates(system: AbstractSystem, guess: PyTree) -> FlatCoordinates:
    """:class:`FlatCoordinates` over what ``system`` trains: an entry whose
    field is zero by construction (a frozen layer) must not move, or Newton
    wanders along it to another point of a continuum of fixed points."""
    if isinstance(system, AbstractGradientFlowSystem):
        return FlatCoordinates(guess, system.trainable(guess))
    return FlatCoordinates(guess)


def default_tol(dtype) -> float:
    """The residual :func:`fixed_point` asks for: 1e-10 in float64, 1e-4 in float32."""
    return 1e-10 if jnp.dtype(dtype) == jnp.float64 else 1e-4


def solve_fixed_point(system: AbstractSystem, guess: PyTree, *,
                      coordinates: AbstractCoordinates | None = None, t: float = 0.0,
                      max_steps: int = 256) -> tuple[PyTree, Float[Array, ""], Array]:
    """``(state, residual, steps)``: the fixed point nearest ``guess`` (on
    ``coordinates``), $|F|_2$ there and Newton's steps. Traceable: a monitor
    may call it inside the compiled solve."""
    coordinates = default_coordinates(system, guess) if coordinates is None else coordinates
    z0 = coordinates.of(guess)
    # Newton's step is below eps**0.75 only once the iterate is within ~eps
    # (quadratic convergence); a tolerance of eps itself may never be met
    tol = float(jnp.finfo(z0.dtype).eps) ** 0.75

    def residual(z, _):
        return ravel_pytree(system.vector_field(t, coordinates.embed(z), None))[0]

    solver = optx.GaussNewton(rtol=tol, atol=tol,
                              linear_solver=lx.AutoLinearSolver(well_posed=False))
    sol = optx.least_squares(residual, solver, z0, max_steps=max_steps, throw=False)
    return (coordinates.embed(sol.value), jnp.linalg.norm(residual(sol.value, None)),
            sol.stats["num_steps"])


class FixedPoint(eqx.Module):
    """What :func:`fixed_point` found.

    - ``state``: the point; ``residual``: $|F|_2$ there; ``converged``:
      whether it is at most ``tol``; ``steps``: Newton's steps.
    - ``jacobian``: the dense Jacobian of the vector field over the flattened
      state (every entry, whatever ``coordinates`` Newton used);
      ``eigenvalues``: its eigenvalues by decreasing real part.
    - ``unstable``, ``neutral``: how many eigenvalues have real part above,
      and within, ``tol`` times the largest modulus; ``kind``: ``stable`` (no
      unstable direction), ``saddle``, or ``unstable`` (every non-neutral
      direction unstable).
    """

    state: PyTree
    residual: float
    converged: bool
    steps: int
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    unstable: int
    neutral: int
    kind: str

    @property
    def unstable_eigenvalues(self) -> np.ndarray:
        """The unstable eigenvalues, largest real part first."""
        return self.eigenvalues[:self.unstable]

    def escape_time(self, distance: float, reach: float = 1.0) -> float:
        r"""$\ln(\mathrm{reach}/\mathrm{distance})/\lambda_+$: the time a
        perturbation of size ``distance`` along the most unstable direction
        takes to grow to ``reach`` (the linear estimate; ``inf`` at a stable point)."""
        if self.unstable == 0:
            return float("inf")
        return float(np.log(reach / distance) / np.real(self.eigenvalues[0]))


def classify(jacobian: np.ndarray, tol: float) -> tuple[np.ndarray, int, int, str]:
    """``(eigenvalues by decreasing real part, unstable, neutral, kind)`` of a
    Jacobian (:class:`FixedPoint`)."""
    eigenvalues = np.linalg.eigvals(jacobian)
    eigenvalues = eigenvalues[np.argsort(-eigenvalues.real, kind="stable")]
    scale = max(float(np.max(np.abs(eigenvalues), initial=0.0)), np.finfo(np.float64).tiny)
    neutral = np.abs(eigenvalues.real) <= tol * scale
    unstable = int(np.sum(~neutral & (eigenvalues.real > 0)))
    stable = int(np.sum(~neutral & (eigenvalues.real < 0)))
    kind = "stable" if unstable == 0 else ("unstable" if stable == 0 else "saddle")
    return eigenvalues, unstable, int(np.sum(neutral)), kind


@eqx.filter_jit
def _solve_and_linearize(system, guess, coordinates, t, max_steps):
    state, residual, steps = solve_fixed_point(system, guess, coordinates=coordinates, t=t,
                                               max_steps=max_steps)
    flat, unravel = ravel_pytree(state)

    def field(f):
        return ravel_pytree(system.vector_field(t, unravel(f), None))[0]

    return state, residual, steps, jax.jacfwd(field)(flat)


def fixed_point(system: AbstractSystem, guess: PyTree, *,
                coordinates: AbstractCoordinates | None = None, t: float = 0.0,
                tol: float | None = None, max_steps: int = 256) -> FixedPoint:
    """The fixed point of ``system.vector_field`` nearest ``guess`` (a state),
    on ``coordinates`` if given, and its stability (module docstring).
    ``tol``: the residual to reach and the relative size of a neutral
    eigenvalue (default :func:`default_tol`)."""
    dtype = ravel_pytree(guess)[0].dtype
    tol = default_tol(dtype) if tol is None else float(tol)
    state, residual, steps, jacobian = _solve_and_linearize(system, guess, coordinates, t,
                                                            max_steps)
    jacobian = np.asarray(jacobian, np.float64)
    eigenvalues, unstable, neutral, kind = classify(jacobian, tol)
    return FixedPoint(state=state, residual=float(residual), converged=float(residual) <= tol,
                      steps=int(steps), jacobian=jacobian, eigenvalues=eigenvalues,
                      unstable=unstable, neutral=neutral, kind=kind)
