"""The scenario schema: every key, its type, default and allowed values.

A scenario file only overrides these defaults. Every table rejects unknown
keys; numbers must be finite; integers must be TOML integers; floats accept
integers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from .._activations import ACTIVATIONS
from .._solvers import FIXED_STEP_ONLY, SOLVERS

Activation = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
SolverName = Literal[tuple(SOLVERS)]  # type: ignore[valid-type]
PosInt = Annotated[int, Field(gt=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]


class Table(BaseModel):
    """A TOML table: strict types, finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {key}; allowed keys: {allowed}",
                        {"key": str(key), "allowed": ", ".join(cls.model_fields)},
                    )
        return data


# ----------------------------------------------------------------------- tasks
class TeacherTaskConfig(Table):
    """Targets from a two-layer teacher network ``(1/k) sum_i a_i phi(u_i . x)``."""

    kind: Literal["teacher"] = "teacher"
    d: PosInt = Field(16, description="input dimension")
    n_train: PosInt = Field(256, description="number of training points")
    n_test: PosInt = Field(1024, description="number of test points")
    teacher_width: PosInt = Field(4, description="teacher neurons k")
    activation: Activation = Field("relu", description="teacher activation")
    inputs: Literal["gaussian", "sphere"] = Field("gaussian", description="input distribution")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets")


class SinusoidTaskConfig(Table):
    """A 1-D sum of sinusoids on [0, 1) or the circle."""

    kind: Literal["sinusoids"] = "sinusoids"
    frequencies: Annotated[list[PosFloat], Field(min_length=1)] = Field(
        default_factory=lambda: [1.0, 4.0], description="frequencies f_k"
    )
    amplitudes: list[float] | None = Field(None, description="amplitudes A_k (default 1)")
    phases: list[float] | None = Field(None, description="phases p_k (default 0)")
    n_train: PosInt = 64
    n_test: PosInt = 256
    domain: Literal["interval", "circle"] = "interval"
    grid: bool = Field(False, description="training positions on a regular grid")
    noise: NonNegFloat = 0.0

    @model_validator(mode="after")
    def _lengths_match(self):
        for key in ("amplitudes", "phases"):
            value = getattr(self, key)
            if value is not None and len(value) != len(self.frequencies):
                raise PydanticCustomError(
                    "length_mismatch",
                    "must have one entry per frequency ({n})",
                    {"key": key, "n": len(self.frequencies)},
                )
        return self


TaskConfig = Annotated[Union[TeacherTaskConfig, SinusoidTaskConfig], Field(discriminator="kind")]


# --------------------------------------------------------------------- systems
class TwoLayerConfig(Table):
    """Two-layer network ``alpha c_m sum_j v_j phi(w_j . x + b_j)``."""

    kind: Literal["two_layer"] = "two_layer"
    width: PosInt = Field(512, description="number of neurons m")
    parameterization: Literal["mean_field", "ntk"] = "mean_field"
    activation: Activation = "relu"
    scale: PosFloat = Field(1.0, description="output scale alpha")
    bias: bool = False
    train: Annotated[list[Literal["hidden", "output"]], Field(min_length=1)] = Field(
        default_factory=lambda: ["hidden", "output"], description="layers that train"
    )
    init: Literal["gaussian", "symmetric"] = "gaussian"
    center: bool = Field(False, description="subtract the output at initialization")
    sigma_v: NonNegFloat = 1.0
    sigma_w: NonNegFloat = 1.0
    sigma_b: NonNegFloat = 1.0

    @model_validator(mode="after")
    def _check(self):
        if self.init == "symmetric" and self.width % 2:
            raise PydanticCustomError(
                "odd_width", "symmetric init needs an even width; got {width}",
                {"width": self.width, "key": "width"},
            )
        if len(set(self.train)) != len(self.train):
            raise PydanticCustomError("duplicate", "lists a layer twice", {"key": "train"})
        return self


SystemConfig = Annotated[Union[TwoLayerConfig], Field(discriminator="kind")]


# ------------------------------------------------------------- solve and save
class SolverConfig(Table):
    """How the flow is integrated."""

    name: SolverName = "tsit5"
    t1: PosFloat = Field(10.0, description="final time")
    dt: PosFloat | None = Field(None, description="step (euler: learning rate / tau)")
    rtol: PosFloat = 1e-6
    atol: PosFloat = 1e-9
    adaptive: bool | None = Field(None, description="default: all solvers but euler")
    max_steps: PosInt = 100_000

    @model_validator(mode="after")
    def _check(self):
        fixed = self.name in FIXED_STEP_ONLY or self.adaptive is False
        if self.name in FIXED_STEP_ONLY and self.adaptive:
            raise PydanticCustomError(
                "fixed_step", "solver {name} is fixed-step only; remove adaptive = true",
                {"name": self.name, "key": "adaptive"},
            )
        if fixed and self.dt is None:
            raise PydanticCustomError(
                "missing_dt", "a fixed-step solve needs dt (a positive step)", {"key": "dt"}
            )
        if self.dt is not None and self.dt > self.t1:
            raise PydanticCustomError("dt_too_large", "must not exceed t1", {"key": "dt"})
        return self


class SaveConfig(Table):
    """Where monitors are evaluated."""

    n: Annotated[int, Field(ge=2, le=100_000)] = Field(101, description="number of save times")
    spacing: Literal["linear", "log"] = "linear"
    t_first: PosFloat | None = Field(None, description="first positive time of a log grid")


class MonitorConfig(Table):
    """A monitor by name."""

    name: Literal["train_loss", "test_loss"]


class CompareConfig(Table):
    """Kernel twins solved beside the network, from its initial state."""

    linearized: bool = Field(False, description="the linearized network (Taylor at init)")
    kernels: list[Literal["empirical", "analytic"]] = Field(
        default_factory=list,
        description="constant-kernel flows: NTK frozen at init, and/or infinite width",
    )

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.kernels)) != len(self.kernels):
            raise PydanticCustomError("duplicate", "lists a kernel twice", {"key": "kernels"})
        return self


class OutputConfig(Table):
    """Where and what to write."""

    dir: str | None = Field(None, description="output directory (default runs/<name>)")
    figures: list[Literal["png", "svg", "pdf"]] = Field(default_factory=lambda: ["png"])


def _default_monitors():
    return [MonitorConfig(name="train_loss"), MonitorConfig(name="test_loss")]


class Scenario(Table):
    """A whole scenario file."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    dtype: Literal["float32", "float64"] = "float32"
    task: TaskConfig = Field(default_factory=TeacherTaskConfig)
    system: SystemConfig = Field(default_factory=TwoLayerConfig)
    solver: SolverConfig = Field(default_factory=SolverConfig)
    save: SaveConfig = Field(default_factory=SaveConfig)
    monitors: list[MonitorConfig] = Field(default_factory=_default_monitors)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_kinds(cls, data: Any) -> Any:
        # `kind` may be left out of [task] and [system]: it defaults per table.
        if isinstance(data, dict):
            data = dict(data)
            for key, kind in (("task", "teacher"), ("system", "two_layer")):
                if isinstance(data.get(key), dict) and "kind" not in data[key]:
                    data[key] = {"kind": kind, **data[key]}
        return data

    @model_validator(mode="after")
    def _check(self):
        if self.save.t_first is not None and self.save.t_first >= self.solver.t1:
            raise PydanticCustomError(
                "t_first", "must be below solver.t1", {"key": "save.t_first"}
            )
        names = [m.name for m in self.monitors]
        if len(set(names)) != len(names):
            raise PydanticCustomError("duplicate", "a monitor is listed twice", {"key": "monitors"})
        return self
