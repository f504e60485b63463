"""The indicator values a prediction records beside its answer: RSI(14), MACD(12, 26, 9) and the
close's position in the Bollinger band (20, 2): 0 on the lower band, 1 on the upper one.

Serving computes these columns for every loaded model whose feature set has them (three cheap
indicators), even when the model reads none of them, so each prediction can say what the market
looked like when it was made."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pipelines.models.base import FloatMatrix

__all__ = ["LOGGED_COLUMNS", "IndicatorColumns", "logged_columns"]

_RSI, _MACD, _UPPER, _LOWER = "rsi_14", "macd_12_26_9", "bb_upper_20_2", "bb_lower_20_2"
LOGGED_COLUMNS = (_RSI, _MACD, _UPPER, _LOWER)


def logged_columns(columns: Sequence[str]) -> list[str]:
    """The logged indicator columns among ``columns`` (a feature set's)."""
    have = set(columns)
    return [c for c in LOGGED_COLUMNS if c in have]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


class IndicatorColumns:
    """Where the logged columns sit in one computed feature set's rows."""

    def __init__(self, columns: Sequence[str]) -> None:
        position = {name: i for i, name in enumerate(columns)}
        self._at: Mapping[str, int] = {c: position[c] for c in LOGGED_COLUMNS if c in position}

    def values(self, row: FloatMatrix, close: float) -> dict[str, float | None]:
        """``rsi``, ``macd`` and ``bollinger_position`` of one feature row (None where unknown)."""
        at = self._at

        def read(name: str) -> float | None:
            return _finite(float(row[at[name]])) if name in at else None

        upper, lower = read(_UPPER), read(_LOWER)
        position = None
        if upper is not None and lower is not None and upper > lower:
            position = _finite((close - lower) / (upper - lower))
        return {"rsi": read(_RSI), "macd": read(_MACD), "bollinger_position": position}
