"""The venues a user may store keys for: every exchange ccxt knows, and 3Commas.

An environment is ``live`` or ``testnet``; ``testnet`` exists where the venue has a sandbox (ccxt's
``urls["test"]``; 3Commas: its paper-trading mode), and is then the default.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pipelines.db.exchange_keys import ENVIRONMENTS
from pipelines.errors import InvalidRequestError

__all__ = [
    "THREE_COMMAS",
    "ccxt_module",
    "check_venue",
    "has_sandbox",
    "is_known_venue",
    "venue_name",
]

THREE_COMMAS = "3commas"


def ccxt_module() -> Any:
    import ccxt  # imported on first use: the API starts without it

    return ccxt


@lru_cache(maxsize=1)
def _ccxt_ids() -> frozenset[str]:
    return frozenset(ccxt_module().exchanges)


def is_known_venue(provider_id: str) -> bool:
    return provider_id == THREE_COMMAS or provider_id in _ccxt_ids()


@lru_cache(maxsize=256)
def _describe(provider_id: str) -> tuple[str, bool]:
    """(display name, has a sandbox) of a ccxt exchange."""
    exchange = getattr(ccxt_module(), provider_id)()
    return str(exchange.name), bool(exchange.urls.get("test"))


def venue_name(provider_id: str) -> str:
    """``Binance`` for ``binance``, ``3Commas`` for ``3commas``."""
    if provider_id == THREE_COMMAS:
        return "3Commas"
    return _describe(provider_id)[0] if provider_id in _ccxt_ids() else provider_id


def has_sandbox(provider_id: str) -> bool:
    return provider_id == THREE_COMMAS or _describe(provider_id)[1]


def check_venue(provider_id: str, environment: str | None) -> tuple[str, str]:
    """(venue id, environment) when the venue exists and has that environment (None: testnet where
    there is one, else live); InvalidRequestError naming what is wrong otherwise."""
    venue = provider_id.strip().lower()
    if not is_known_venue(venue):
        raise InvalidRequestError(
            f"unknown provider_id {provider_id[:40]!r}: give a ccxt exchange id (binance...) or 3commas"
        )
    sandbox = has_sandbox(venue)
    if environment is None:
        return venue, "testnet" if sandbox else "live"
    if environment not in ENVIRONMENTS:
        raise InvalidRequestError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    if environment == "testnet" and not sandbox:
        raise InvalidRequestError(f"{venue_name(venue)} has no testnet: use environment 'live'")
    return venue, environment
