"""Feature matrices and model outputs as JSON-safe values that decode bit for bit: the shape and the
base64 of the little-endian float64 bytes (NaN and infinities included, which JSON numbers lack)."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import numpy as np

from pipelines.errors import InvalidRequestError
from pipelines.models.base import FloatMatrix

__all__ = ["MAX_WIRE_VALUES", "decode_matrix", "encode_matrix"]

MAX_WIRE_VALUES = 10_000_000  # floats of one encoded matrix (80 MB)


def encode_matrix(x: FloatMatrix) -> dict[str, Any]:
    """``{"shape": [...], "data": base64}`` of ``x`` (1 or 2 dimensions)."""
    arr = np.ascontiguousarray(x, dtype="<f8")
    return {"shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_matrix(shape: Any, data: Any) -> FloatMatrix:
    """The float64 array ``encode_matrix`` described; bad input raises ``InvalidRequestError``."""
    if (
        not isinstance(shape, list | tuple)
        or not 1 <= len(shape) <= 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise InvalidRequestError(f"shape must be 1 or 2 non-negative whole numbers, got {shape!r}")
    count = math.prod(shape)
    if count > MAX_WIRE_VALUES:
        raise InvalidRequestError(f"a matrix holds at most {MAX_WIRE_VALUES} values, got {count}")
    if not isinstance(data, str):
        raise InvalidRequestError("data must be a base64 string of little-endian float64 values")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("data is not valid base64") from None
    if len(raw) != 8 * count:
        raise InvalidRequestError(f"data holds {len(raw)} bytes; shape {list(shape)} needs {8 * count}")
    out: FloatMatrix = np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(shape)
    return out
