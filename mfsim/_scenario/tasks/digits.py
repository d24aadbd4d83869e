"""``[task] kind = "digits"``: :func:`mfsim.digits_task` (scikit-learn's digits)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..._tasks.digits import digits_task
from ..entry import DataSizes, TaskEntry, error
from ..table import PosInt, TaskTable, shown

Digit = Annotated[int, Field(ge=0, le=9)]
# images per digit in the dataset (scikit-learn's load_digits)
COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)


class DigitsTaskConfig(TaskTable):
    """Handwritten digits (real 8x8 images, d = 64): one digit (+1) against another (-1)."""

    kind: Literal["digits"] = "digits"
    classes: Annotated[list[Digit], Field(min_length=2, max_length=2)] = Field(
        default_factory=lambda: [3, 8], description="the digit labelled +1 and the one -1")
    n_train: PosInt = Field(280, description="number of training images",
        json_schema_extra=shown("training points", r"$n$"))
    n_test: PosInt = Field(77, description="number of test images")

    @model_validator(mode="after")
    def _check(self):
        a, b = self.classes
        if a == b:
            raise error("classes", "must be two different digits", "classes")
        if self.n_train + self.n_test > COUNTS[a] + COUNTS[b]:
            raise error("size", "n_train + n_test must be at most {n}, the images of digits "
                        "{a} and {b}", "n_train", n=COUNTS[a] + COUNTS[b], a=a, b=b)
        return self


ENTRY = TaskEntry(
    DigitsTaskConfig,
    build=lambda cfg, key, dtype, ctx: digits_task(
        key, classes=tuple(cfg.classes), n_train=cfg.n_train, n_test=cfg.n_test, dtype=dtype),
    sizes=lambda cfg: DataSizes(cfg.n_train, cfg.n_test, 64))
