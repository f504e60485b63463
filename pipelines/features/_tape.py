"""The kernel tape: what lets a feature computation resume at a new bar instead of starting over.

Every numba kernel takes ``(start, state)`` after its own arguments. With ``start`` 0 it runs over
the whole series, as training does, and leaves its loop-carried values (EMA levels, running sums
and their re-sync countdown, ring buffers, block phase) in ``state``; it returns whether it got past
its warm-up. With ``start`` > 0 it loads ``state`` and runs the very same loop from ``start`` only,
so every value it writes is bit-for-bit what the full run would have written.

A :class:`Tape` drives that for one feature set over one growing series. Recording (a full run)
keeps, per kernel call in call order, the state and the last ``lookback`` values of every output.
Replaying runs the same indicator code over a window: the last ``lookback`` bars already seen plus
the ``new`` ones. Each kernel first gets its outputs' saved values for the old part of the window,
then resumes at the first new bar. The indicator code between kernels (element-wise numpy, shifts
and differences by at most a few periods) needs no state: with a long enough window every value it
computes for a new bar only reads values that are exact (bar columns, saved kernel outputs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Tape", "TapeMismatchError", "run_kernel"]

FloatArray = npt.NDArray[np.float64]

_ACTIVE: ContextVar[Tape | None] = ContextVar("tradeforge_feature_tape", default=None)


class TapeMismatchError(RuntimeError):
    """A replay did not call the kernels the recording called (the caller recomputes in full)."""


@dataclass(slots=True)
class _Site:
    kernel: Callable[..., bool]
    state: FloatArray
    tails: list[FloatArray]


class Tape:
    """Kernel states of one feature computation over one series (see the module docstring)."""

    def __init__(self, lookback: int) -> None:
        if lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {lookback}")
        self.lookback = lookback
        self.sites: list[_Site] = []
        self.replayable = False
        self._cursor = 0
        self._new = 0  # bars after the lookback in the window being replayed; 0 while recording
        self._size = 0  # the length every kernel array must have in this run
        self._warm = True

    @contextmanager
    def recording(self, size: int) -> Iterator[None]:
        """Record the kernels of a full run over ``size`` bars."""
        self.sites = []
        self.replayable = False
        self._new, self._size, self._warm = 0, size, size >= self.lookback
        token = _ACTIVE.set(self)
        try:
            yield
        finally:
            _ACTIVE.reset(token)
        self.replayable = self._warm

    @contextmanager
    def replaying(self, new: int) -> Iterator[None]:
        """Replay over a window of ``lookback`` seen bars plus ``new`` bars.

        Raises TapeMismatchError when the tape cannot be replayed or the calls differ from the
        recording; the states are then partly advanced, so the tape stays unusable until recorded.
        """
        if not self.replayable:
            raise TapeMismatchError("the tape holds no complete recording to resume from")
        if new < 1:
            raise ValueError(f"a replay needs at least one new bar, got {new}")
        self.replayable = False  # until the replay completes
        self._cursor, self._new, self._size = 0, new, self.lookback + new
        token = _ACTIVE.set(self)
        try:
            yield
        finally:
            _ACTIVE.reset(token)
        if self._cursor != len(self.sites):
            raise TapeMismatchError(
                f"replay made {self._cursor} kernel calls, the recording {len(self.sites)}"
            )
        self.replayable = True

    def _call(
        self,
        kernel: Callable[..., bool],
        outputs: Sequence[FloatArray],
        state_size: int,
        args: tuple[Any, ...],
    ) -> None:
        for arr in outputs:
            if arr.size != self._size:
                raise TapeMismatchError(f"a kernel output has {arr.size} values, expected {self._size}")
        keep = self.lookback
        if not self._new:
            state = np.zeros(state_size)
            self._warm &= bool(kernel(*args, 0, state))
            self.sites.append(_Site(kernel, state, [arr[arr.size - keep :].copy() for arr in outputs]))
            return
        if self._cursor >= len(self.sites):
            raise TapeMismatchError("replay made more kernel calls than the recording")
        site = self.sites[self._cursor]
        self._cursor += 1
        if site.kernel is not kernel or site.state.size != state_size or len(site.tails) != len(outputs):
            raise TapeMismatchError(f"kernel call {self._cursor} differs from the recording")
        for arr, tail in zip(outputs, site.tails, strict=True):
            arr[:keep] = tail
        if not kernel(*args, keep, site.state):
            raise TapeMismatchError(f"kernel call {self._cursor} was not warm")
        for arr, tail in zip(outputs, site.tails, strict=True):
            tail[:] = arr[arr.size - keep :]


def run_kernel(
    kernel: Callable[..., bool], outputs: Sequence[FloatArray], state_size: int, *args: Any
) -> None:
    """``kernel(*args, start, state)``, which writes ``outputs``: in full, or through the active tape."""
    tape = _ACTIVE.get()
    if tape is None:
        kernel(*args, 0, np.empty(state_size))
    else:
        tape._call(kernel, outputs, state_size, args)
