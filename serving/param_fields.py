"""The request fields that name a strategy's parameters and their values: a sweep's grid, an
optimization's search space, and the older names an optimization still accepts."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

__all__ = [
    "OLD_NAME_OF_GRID",
    "OLD_NAME_OF_PARAMS",
    "FixedParams",
    "ParamName",
    "RangeText",
    "SearchSpace",
    "SweepValues",
]

ParamName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
RangeText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2000,
        examples=["5:100", "10:300:5", "1,2,3"],
        description="low:high or low:high:step (ends included), or values a,b,c",
    ),
]


# The searched ranges and the fixed values of an optimization: the sweep's names (``grid``,
# ``params``); the older names ``parameters`` and ``fixed`` are still accepted, shown as deprecated.
SearchSpace = Annotated[
    dict[ParamName, RangeText],
    msgspec.Meta(
        min_length=1,
        max_length=20,
        description="Required: each searched parameter and its range, as in a sweep's grid",
        examples=[{"fast": "5:100", "slow": "10:300:5"}],
    ),
]
FixedParams = Annotated[
    dict[str, Any], msgspec.Meta(description="Parameters held fixed, as in a sweep's params")
]
OLD_NAME_OF_GRID = msgspec.Meta(
    min_length=1,
    max_length=20,
    extra_json_schema={"description": "Deprecated: the older name of grid", "extra": {"deprecated": True}},
)
OLD_NAME_OF_PARAMS = msgspec.Meta(
    extra_json_schema={"description": "Deprecated: the older name of params", "extra": {"deprecated": True}}
)


# A swept parameter's values: a list, or text: "start:stop:step" (both ends included) or "v1,v2,...".
SweepValues = (
    Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["5:50:5"])]
    | Annotated[list[int | float], msgspec.Meta(min_length=1, max_length=1_000)]
)
