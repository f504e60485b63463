"""JSON bodies nested deeper than any request needs are refused before they are parsed.

Decoders recurse once per level, so a body nested a thousand levels deep would exhaust the stack
while being parsed. Its depth is measured first, without recursion (vectorized over the bytes:
string contents are masked out, brackets counted), and a body deeper than ``MAX_JSON_DEPTH`` is a
400 naming the top-level field that holds the deep value. Shallower free-form fields are held to
their own, tighter limit by the request DTOs.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from litestar import Request
from numpy.typing import NDArray

from serving.errors import ApiError

__all__ = ["MAX_JSON_DEPTH", "json_depth", "max_depth", "refuse_deep_json"]

MAX_JSON_DEPTH = 32
_MARKS = np.zeros(256, dtype=bool)  # the bytes depth depends on: quotes and brackets
_MARKS[list(b'"{}[]')] = True
_KEY_BEFORE = re.compile(rb'"((?:[^"\\]|\\.){1,100})"\s*:\s*$')
_NOT_MARKS = bytes(b for b in range(256) if not _MARKS[b])


def _unescaped(body: bytes) -> bytes:
    """``body`` with its escaped backslashes and quotes blanked (escapes only occur inside strings)."""
    if b"\\" not in body:
        return body
    return body.replace(b"\\\\", b"__").replace(b'\\"', b"__")


def _deepest(marks: NDArray[np.uint8]) -> NDArray[np.int64]:
    """The nesting depth after each of ``marks`` (the body's quotes and brackets, in order)."""
    quote = marks == ord('"')
    outside = (np.cumsum(quote) - quote) % 2 == 0  # not between an opening and its closing quote
    opens = ((marks == ord("{")) | (marks == ord("["))) & outside
    closes = ((marks == ord("}")) | (marks == ord("]"))) & outside
    depth: NDArray[np.int64] = np.cumsum(opens.astype(np.int64) - closes)
    return depth


def max_depth(body: bytes) -> int:
    """The deepest nesting of ``body`` (a JSON text): ``json_depth``'s first figure, cheaper (the
    quotes and brackets are picked out by ``bytes.translate``, then counted; no key is looked for)."""
    marks = np.frombuffer(_unescaped(body).translate(None, _NOT_MARKS), dtype=np.uint8)
    return int(_deepest(marks).max()) if marks.size else 0


def json_depth(body: bytes) -> tuple[int, str | None]:
    """The deepest nesting of ``body`` (a JSON text) and the top-level key holding it (None if none).

    Only the quotes and brackets are counted (a body of numbers holds few of them), so the cost is
    one pass over the bytes plus work on those marks."""
    text = _unescaped(body)
    raw = np.frombuffer(text, dtype=np.uint8)
    marks = np.flatnonzero(_MARKS[raw])
    if marks.size == 0:
        return 0, None
    depth = _deepest(raw[marks])
    deepest = int(np.argmax(depth))
    # The last byte at depth 1 or less before the deepest point: the end of the last such run.
    shallow = np.flatnonzero(depth[:deepest] <= 1)
    if shallow.size:
        end = int(marks[int(shallow[-1]) + 1]) - 1
    elif marks[0] > 0:
        end = int(marks[0]) - 1  # the bytes before the first mark are at depth 0
    else:
        return int(depth[deepest]), None
    match = _KEY_BEFORE.search(text[max(0, end - 200) : end + 1])
    return int(depth[deepest]), match.group(1).decode("utf-8", "replace") if match else None


async def refuse_deep_json(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a JSON body nested deeper than ``MAX_JSON_DEPTH`` is a 400."""
    scope = request.scope  # read raw: building the request's header map costs more than this check
    if scope["method"] not in ("POST", "PUT", "PATCH"):
        return
    if not any(name == b"content-type" and b"json" in value.lower() for name, value in scope["headers"]):
        return
    body = await request.body()
    if body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH:  # too few brackets to nest that deep
        return
    if max_depth(body) <= MAX_JSON_DEPTH:  # the common case: no key to name, the cheaper count
        return
    depth, key = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        where = f"{key} nests" if key else "the JSON body nests"
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"{where} {depth} levels deep; request bodies nest at most {MAX_JSON_DEPTH} levels",
            {"errors": [{"key": key, "message": f"nested deeper than {MAX_JSON_DEPTH} levels"}]},
        )
