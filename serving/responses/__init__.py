"""The API's answers as types: one msgspec Struct per JSON response shape, grouped like the
controllers (``admin``: health, auth and model management; ``trading``: predictions, market data and
backtests; ``monitoring``; ``jobs``; ``datasets``; ``webhooks``).

Handlers return these Structs, so Litestar documents each route's success schema from the handler's
return annotation and encodes exactly the documented fields. A handler builds its answer from the
domain result with :func:`shaped`.

Unknown-field policy: the shapes accept (and drop) keys they do not declare, so a domain function that
adds a key to its result can never turn an answer into a 500; what reaches the client is always the
documented shape. A field that is optional *by presence* (absent in some answers, never null) defaults
to ``msgspec.UNSET``, which the encoder omits, so "absent" stays absent and "null" stays null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from litestar.serialization import encode_json

from pipelines.db.types import isoformat_utc

__all__ = ["Num", "Shape", "now_stamp", "shaped", "success"]

Num = float | None  # JSON-safe floats: NaN, infinities and undefined ratios are null

S = TypeVar("S", bound="Shape")


class Shape(msgspec.Struct, kw_only=True):
    """Base of the response shapes (unknown fields are dropped, never refused: see the module doc)."""


def shaped(shape: type[S], value: Mapping[str, Any]) -> S:
    """``value`` (a domain result as a mapping) as the response ``shape``.

    Keys the shape does not declare are dropped. Values that msgspec does not convert by itself (a
    datetime or a path for a string field, a numpy integer) are converted the way the JSON encoder
    writes them, so the answer is what the dict would have encoded to. A value of the wrong kind (a
    missing required field, text where a number belongs) raises ``msgspec.ValidationError``.
    """
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError:
        return msgspec.json.decode(encode_json(value), type=shape)


def now_stamp() -> str:
    """The current UTC time in the API's spelling (``...Z``): answers' and events' ``timestamp``."""
    return isoformat_utc(datetime.now(UTC))


def success(data: Any) -> dict[str, Any]:
    """The ``{"status": "success", "data", "timestamp"}`` envelope of the status, ML, configuration,
    trading and analytics routes, stamped now."""
    return {"status": "success", "data": data, "timestamp": now_stamp()}
