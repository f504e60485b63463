"""The text of one parameter's values, as sweeps and optimization searches both take it: a range
``low:high`` or ``low:high:step`` (both ends included) or a list ``a,b,c``. Parsed, never evaluated.

:func:`parse_value_text` only reads the text; what a range means is its caller's: a sweep runs every
value of it (:func:`pipelines.backtest.sweep_grid.parse_values`, a missing step is 1), a search draws
from it (:func:`pipelines.backtest.param_space.parse_dimension`, a float range without a step is
continuous).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipelines.errors import InvalidRequestError

__all__ = ["RANGE_SYNTAX", "ValueText", "parse_value_text"]

RANGE_SYNTAX = "low:high or low:high:step (both ends included), or values a,b,c"


@dataclass(frozen=True)
class ValueText:
    """A range (``low``..``high``, ``step`` None when the text gave none) or ``choices``, in the
    order given, each once."""

    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[float, ...] | None = None

    @property
    def is_range(self) -> bool:
        return self.choices is None


def _number(name: str, text: str, kind: type) -> float:
    try:
        value = int(text) if kind is int else float(text)
    except ValueError:
        word = "an integer" if kind is int else "a number"
        raise InvalidRequestError(f"parameter {name!r}: {text!r} is not {word}") from None
    if not math.isfinite(value):
        raise InvalidRequestError(f"parameter {name!r}: {text!r} is not finite")
    return value


def parse_value_text(name: str, text: str, kind: type = float) -> ValueText:
    """``text`` (a range or a list of ``kind`` numbers: int or float) as a :class:`ValueText`, or a
    clear error naming parameter ``name``."""
    text = text.strip()
    if ":" in text:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) not in (2, 3):
            raise InvalidRequestError(
                f"parameter {name!r}: a range is low:high or low:high:step, got {text!r}"
            )
        low, high = _number(name, parts[0], kind), _number(name, parts[1], kind)
        step = _number(name, parts[2], kind) if len(parts) == 3 else None
        if high < low:
            raise InvalidRequestError(f"parameter {name!r}: the range {text!r} ends below its start")
        if step is not None and step <= 0:
            raise InvalidRequestError(f"parameter {name!r}: the step must be > 0, got {text!r}")
        return ValueText(low, high, step)
    values = tuple(dict.fromkeys(_number(name, v.strip(), kind) for v in text.split(",") if v.strip()))
    if not values:
        raise InvalidRequestError(f"parameter {name!r} has no values: give {RANGE_SYNTAX}")
    return ValueText(choices=values)
