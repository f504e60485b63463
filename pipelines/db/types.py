"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Float, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["ExactDecimal", "FiniteFloat", "UTCDateTime", "isoformat_utc", "utc_now"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC
    (lexically ordered, so range filters work) and given back its UTC zone on load. Naive input is
    refused: it is always a bug to guess which zone a stored time was in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given for a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class FiniteFloat(TypeDecorator[float]):
    """A float column that stores NaN and infinities as NULL (no information), the same everywhere."""

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> float | None:
        if value is None:
            return None
        number = float(value)
        return number if math.isfinite(number) else None


class ExactDecimal(TypeDecorator[Decimal]):
    """A decimal that comes back exactly as stored: ``NUMERIC(36, 18)`` on PostgreSQL; on SQLite, whose
    NUMERIC is a binary float, the decimal's text (``45000.123456789`` stays that, not
    ``45000.123456788998737466``). Migrations create it as ``exact_decimal()``."""

    impl = Numeric(36, 18)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(36, 18, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = Decimal(value)
        return str(number) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        number = Decimal(value)  # PostgreSQL's has 18 places: 1.500000000000000000 -> 1.5
        return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


def isoformat_utc(value: dt.datetime) -> str:
    """``2024-07-10T15:30:00.123456Z``: the API's spelling of a UTC time."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
