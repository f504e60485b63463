"""Names people give or type (model names, symbols, dataset and API-key names): printable text only.

A control character (a newline, a tab, an escape sequence), an invisible formatting character or
whitespace at either end is refused where a name is taken, so a stored name always prints as
itself in tables, logs and file paths.
"""

from __future__ import annotations

import unicodedata

from pipelines.errors import InvalidRequestError

__all__ = ["check_name", "name_problem"]

# Cc: C0/C1 controls and DEL; Cf: invisible formatting (bidi overrides, zero-width); Zl/Zp: line
# and paragraph separators; Cs/Co: surrogates and private use.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})


def name_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable as a name (None when it is)."""
    bad = next((c for c in value if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        return f"must not contain control or formatting characters (found {bad!r})"
    if value != value.strip():
        return "must not start or end with whitespace"
    return None


def check_name(value: str, field: str, *, max_length: int = 200) -> str:
    """``value`` itself when it is a usable name; InvalidRequestError naming ``field`` otherwise."""
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{field} must be a non-empty string")
    if len(value) > max_length:
        raise InvalidRequestError(f"{field} must be at most {max_length} characters")
    problem = name_problem(value)
    if problem is not None:
        raise InvalidRequestError(f"{field} {value!r} {problem}")
    return value
