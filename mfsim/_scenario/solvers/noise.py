"""``[noise]``: Langevin temperature, weight decay and the diffusion of
mini-batch SGD added to the flow (:class:`mfsim.Langevin`); docs/theory.md,
"Noisy dynamics". Which solvers integrate it is their entry's ``noise``."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ..._solve.langevin import Langevin, SGDNoise
from ..._system import (
    AbstractGradientFlowSystem,
    AbstractParticleSystem,
    AbstractSupervisedSystem,
    AbstractSystem,
)
from ..entry import error
from ..table import NonNegFloat, PosFloat, PosInt, Table, shown


class NoiseConfig(Table):
    """Noise and weight decay added to the flow: an SDE (``euler`` is then
    Euler-Maruyama; ``sra1`` and ``shark`` integrate Langevin dynamics only)."""

    temperature: NonNegFloat | None = Field(
        None, description="Langevin temperature T = 1/beta: the flow gets the noise "
        "sqrt(2 tau T) dW", json_schema_extra=shown("temperature", r"$T$"))
    weight_decay: NonNegFloat | None = Field(
        None, description="lambda: the drift gets -lambda theta (with or without temperature)",
            json_schema_extra=shown("weight decay", r"$\lambda$"))
    per_particle: bool | None = Field(
        None, description="mean-field Langevin: the temperature is per particle (noise "
        "sqrt(2 tau T / m) dW; for the mean-field network sqrt(2 T) per neuron)")
    sgd_learning_rate: PosFloat | None = Field(
        None, description="the diffusion of mini-batch SGD with this learning rate (SGD's "
        "step on the objective, flow time learning_rate / tau): the flow gets the noise "
        "sqrt(h/(B n)) sum_i (v_i - v) dW^i (an SDE of SGD; needs sgd_batch_size and solver "
        "euler, Euler-Maruyama)")
    sgd_batch_size: PosInt | None = Field(
        None, description="B, the batch size whose noise sgd_learning_rate models (rows drawn "
        "with replacement)")

    @property
    def active(self) -> bool:
        """Whether the flow gets noise or weight decay."""
        return (self.temperature is not None or self.weight_decay is not None
                or self.sgd_learning_rate is not None)

    @model_validator(mode="after")
    def _check(self):
        sgd = (self.sgd_learning_rate, self.sgd_batch_size)
        if sgd.count(None) == 1:
            key, other = (("sgd_learning_rate", "sgd_batch_size") if sgd[0] is None else
                          ("sgd_batch_size", "sgd_learning_rate"))
            raise PydanticCustomError("sgd_noise", "{other} needs {key} too",
                                      {"key": key, "other": other})
        if self.per_particle is not None and self.temperature is None:
            raise PydanticCustomError("per_particle", "needs a temperature",
                                      {"key": "per_particle"})
        return self


def build_noise(cfg: NoiseConfig, system: AbstractSystem) -> Langevin | None:
    """The table as a :class:`mfsim.Langevin` (None without noise): a
    per-particle temperature divides by the network's width (its twins take
    the same); the SGD noise's learning rate becomes a flow-time step."""
    if not cfg.active:
        return None
    particles = system.width if cfg.per_particle else 1
    sgd = None
    if cfg.sgd_learning_rate is not None:  # flow time per SGD step: eta / tau
        sgd = SGDNoise(cfg.sgd_learning_rate / float(system.time_scale()), cfg.sgd_batch_size)
    return Langevin(cfg.temperature or 0.0, cfg.weight_decay or 0.0, particles, sgd=sgd)


def check_noise(scenario, solver_e, system_e, registry):
    """The solver integrates the noise as set; Langevin dynamics and
    polishing need gradient-flow systems (twins too); a per-particle
    temperature, a particle system; SGD noise, a supervised system."""
    s, n = scenario.solver, scenario.noise
    if s.polish and not issubclass(system_e.system, AbstractGradientFlowSystem):
        return error("polish", "polishing needs a system trained by gradient flow, not {system}",
                     "solver.polish", system=system_e.name)
    if solver_e.noise == "required" and n.temperature is None:
        return error("sde_only", "solver {name} integrates noisy dynamics only: set "
                     "noise.temperature", "solver.name", name=s.name)
    if not n.active:
        return None
    key = ("noise.temperature" if n.temperature is not None else "noise.weight_decay"
           if n.weight_decay is not None else "noise.sgd_learning_rate")
    if solver_e.noise == "none":
        fit = sorted(name for name, e in registry.SOLVERS.items() if e.noise != "none")
        return error("noise_solver", "noise and weight decay are for the flow's solvers ({fit}), "
                     "not {name}", key, fit=", ".join(fit), name=s.name)
    if n.sgd_learning_rate is not None:
        problem = _check_sgd_noise(scenario, solver_e, system_e, registry)
        if problem is not None:
            return problem
    if not issubclass(system_e.system, AbstractGradientFlowSystem):
        return error("noise", "Langevin dynamics need a system trained by gradient flow, not "
                     "{system}", key, system=system_e.name)
    if n.per_particle and not issubclass(system_e.system, AbstractParticleSystem):
        fit = registry.systems_with(AbstractParticleSystem)
        return error("noise", "a per-particle temperature needs a particle system, not "
                     "{system}; systems that are: {allowed}", "noise.per_particle",
                     system=system_e.name, allowed=", ".join(fit))
    if scenario.compare.kernels:
        return error("noise", "constant-kernel twins are flows in function space: they take "
                     "no Langevin noise (compare linearized or quadratic)", "compare.kernels")
    return None


def _check_sgd_noise(scenario, solver_e, system_e, registry):
    n = scenario.noise
    if solver_e.noise != "state":
        fit = sorted(name for name, e in registry.SOLVERS.items() if e.noise == "state")
        return error("sgd_noise", "SGD noise depends on the state: integrate it with solver "
                     "name = {fit} (Euler-Maruyama), not {name}", "noise.sgd_learning_rate",
                     fit=" or ".join(f'"{f}"' for f in fit), name=scenario.solver.name)
    if not issubclass(system_e.system, AbstractSupervisedSystem):
        fit = registry.systems_with(AbstractSupervisedSystem)
        return error("noise", "SGD noise needs a system trained on inputs and targets, not "
                     "{system}; systems that are: {allowed}", "noise.sgd_learning_rate",
                     system=system_e.name, allowed=", ".join(fit))
    rows = registry.TASKS[scenario.task.kind].sizes(scenario.task).n_train
    if n.sgd_batch_size > rows:
        return error("noise", "the batch size {b} exceeds the {n} training rows",
                     "noise.sgd_batch_size", b=n.sgd_batch_size, n=rows)
    if scenario.compare.theory:
        return error("noise", "the order-parameter theory twin takes no SGD noise",
                     "compare.theory")
    return None
