"""SQL pieces the portable core lacks: whole hours since the Unix epoch, per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["epoch_hour"]


class epoch_hour(FunctionElement[int]):  # lower case like sqlalchemy.func
    """``floor(epoch seconds / 3600)`` of a UTC timestamp column."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_hour"


def _argument(element: epoch_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (argument,) = list(element.clauses)
    return compiler.process(argument, **kw)


@compiles(epoch_hour, "sqlite")
def _epoch_hour_sqlite(element: epoch_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as naive UTC text, which strftime reads as UTC.
    return f"(CAST(strftime('%s', {_argument(element, compiler, **kw)}) AS INTEGER) / 3600)"


@compiles(epoch_hour)
def _epoch_hour_default(element: epoch_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL (timestamptz: the epoch is absolute, whatever the session time zone).
    return f"CAST(floor(EXTRACT(EPOCH FROM {_argument(element, compiler, **kw)}) / 3600) AS BIGINT)"
