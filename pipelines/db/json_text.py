"""The text of the app database's JSON columns."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

__all__ = ["json_text"]


def _plain(value: Any) -> Any:
    """numpy scalars as their Python values (the standard library took them, being float/int subclasses)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    raise NotImplementedError


@cache
def _encoder() -> Any:
    import msgspec  # imported on the first write, not with the CLI

    return msgspec.json.Encoder(enc_hook=_plain)


def json_text(value: Any) -> str:
    """A JSON column's text. msgspec writes a prediction log row's float features about 20x faster
    than the standard library (the log writer's batches hold the API worker's interpreter while they
    encode). NaN and infinities become null, as the float columns store them, and as PostgreSQL's
    JSON requires; what msgspec cannot encode goes to the standard library, which raises as before."""
    try:
        return str(_encoder().encode(value).decode())
    except (TypeError, NotImplementedError, OverflowError):
        return json.dumps(value)
