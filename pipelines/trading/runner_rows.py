"""A runner's closed trades as Python rows, which a batch replay hands over as arrays: each array is
made into rows when the list is next read, so a replay whose rows nobody reads does not make them
(a year of 1-minute bars closes tens of thousands of trades, each row a list of ten floats).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

import numpy.typing as npt

__all__ = ["DeferredRows", "kernel_rows", "time_rows"]

_R = TypeVar("_R")
Array = npt.NDArray[Any]


class DeferredRows(Generic[_R]):
    """A list attribute (a data descriptor) that also takes arrays of rows (``defer``), converted by
    ``convert`` and appended, in the order given, when the attribute is next read. Assigning a list
    replaces the rows and drops any arrays not yet read."""

    def __init__(self, convert: Callable[[Array], list[_R]]) -> None:
        self._convert = convert
        self._rows = self._pending = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._rows, self._pending = f"_{name}_rows", f"_{name}_pending"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> DeferredRows[_R]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> list[_R]: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> DeferredRows[_R] | list[_R]:
        if obj is None:
            return self
        rows: list[_R] = obj.__dict__[self._rows]
        pending: list[Array] = obj.__dict__[self._pending]
        while pending:
            rows += self._convert(pending.pop(0))
        return rows

    def __set__(self, obj: object, rows: list[_R]) -> None:
        obj.__dict__[self._rows] = rows
        obj.__dict__[self._pending] = []

    def defer(self, obj: object, array: Array) -> None:
        """Rows of ``obj``'s list from ``array``, made when the list is next read."""
        if len(array):
            obj.__dict__[self._pending].append(array)


def kernel_rows(array: Array) -> list[list[float]]:
    """The kernel's trade rows (float columns) as lists."""
    rows: list[list[float]] = array.tolist()
    return rows


def time_rows(array: Array) -> list[tuple[int, int]]:
    """(entry, exit) times, one row each."""
    return list(zip(array[:, 0].tolist(), array[:, 1].tolist(), strict=True))
