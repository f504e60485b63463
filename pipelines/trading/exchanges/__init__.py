"""Connections to external venues: ccxt exchanges (:func:`open_ccxt`) and 3Commas
(:class:`ThreeCommasClient`), opened with a user's stored credentials."""

from __future__ import annotations

from pipelines.trading.exchanges.ccxt_client import CcxtClient, open_ccxt
from pipelines.trading.exchanges.models import (
    AccountBalance,
    Credentials,
    ExchangeAuthError,
    ExchangeError,
    ExchangeFundsError,
    ExchangeOrder,
    ExchangeOrderNotFound,
    ExchangeTrade,
    MarketRules,
)
from pipelines.trading.exchanges.three_commas import ThreeCommasAccount, ThreeCommasClient
from pipelines.trading.exchanges.venues import THREE_COMMAS, check_venue, has_sandbox, venue_name

__all__ = [
    "THREE_COMMAS",
    "AccountBalance",
    "CcxtClient",
    "Credentials",
    "ExchangeAuthError",
    "ExchangeError",
    "ExchangeFundsError",
    "ExchangeOrder",
    "ExchangeOrderNotFound",
    "ExchangeTrade",
    "MarketRules",
    "ThreeCommasAccount",
    "ThreeCommasClient",
    "check_venue",
    "has_sandbox",
    "open_ccxt",
    "venue_name",
]
