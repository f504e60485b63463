"""The provider interface: ``fetch(symbol, timeframe, start, end)`` -> canonical bars."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

import pandas as pd
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from pipelines.data.symbols import Symbol
from pipelines.data.timeframes import Timeframe
from pipelines.errors import ProviderError

__all__ = ["Provider", "with_retries"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@runtime_checkable
class Provider(Protocol):
    """A source of bars. ``fetch`` returns bars with ``start <= timestamp < end`` in the canonical
    schema (see ``pipelines.data.schema``), ``source`` set to ``name``. It raises
    ``UnknownSymbolError`` for a symbol the source does not know, ``ProviderError`` when the source
    fails after its retries, and never returns data of another source."""

    name: str

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame: ...


def with_retries(
    call: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool],
    attempts: int,
    backoff: float,
    what: str,
) -> T:
    """Run ``call``, retrying transient failures with exponential backoff (tenacity).

    Errors that are not transient propagate at once; transient ones that outlast the attempts
    become a ``ProviderError`` that says what was being fetched. Each retry is logged (a warning)
    as it is scheduled, so a caller waiting on a failing source sees why.
    """
    total = max(1, attempts)

    def announce(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "retrying %s in %.3gs (attempt %d/%d): %s: %s",
            what,
            wait,
            state.attempt_number + 1,
            total,
            type(error).__name__,
            error,
        )

    retrying = Retrying(
        stop=stop_after_attempt(total),
        wait=wait_exponential(multiplier=backoff, max=30 * max(backoff, 0.01)),
        retry=retry_if_exception(transient),
        before_sleep=announce,
        reraise=True,
    )
    try:
        return retrying(call)
    except Exception as exc:
        if transient(exc):
            raise ProviderError(f"{what} failed after {attempts} attempts: {exc}") from exc
        raise
