"""The base of every scenario table, and the number types tables use."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from .._systems.activations import ACTIVATIONS

Activation = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
# the training losses of scalar-output networks (mfsim._systems.losses); logistic needs +-1 labels
Loss = Literal["squared", "logistic"]
LOSS_DESCRIPTION = ("training loss: squared (1/2n) sum (f - y)^2, or logistic (1/n) sum "
                    "log(1 + exp(-y f)) on labels y = +-1 (the task's targets must be +-1)")
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


class TaskTable(Table):
    """Keys every task has."""

    seed: Annotated[int, Field(ge=0, lt=2**32)] | None = Field(
        None, description="seed of the data alone (default: the scenario's seed; the data of "
        "task.seed = s are those of seed = s): fix it to vary only the initialization")


def fields(cfg: Table, *exclude: str) -> dict:
    """A table's keys and values, without its selector (``kind``/``name``),
    ``seed`` and ``exclude``: the keyword arguments of what it builds."""
    return cfg.model_dump(exclude={"kind", "name", "seed", *exclude})


# the name the public API exports it under
ScenarioTable = Table


def shown(long_name: str, symbol: str = "") -> dict:
    """How a key is shown when it is a sweep axis (``json_schema_extra`` of
    its field): a short name and a mathtext symbol ("learning rate",
    ``$\\eta$``), written on the axis coordinate of the results."""
    return {"long_name": long_name, "symbol": symbol}
