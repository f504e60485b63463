"""Domain errors. Front ends map them: the API to 4xx envelopes, the CLI to exit status 2."""

from __future__ import annotations

__all__ = [
    "DataNotFoundError",
    "InvalidRequestError",
    "InvalidSymbolError",
    "ProviderError",
    "TradeforgeError",
    "UnknownSymbolError",
]


class TradeforgeError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "INTERNAL_ERROR"


class InvalidRequestError(TradeforgeError, ValueError):
    """The caller's input is malformed or inconsistent (bad timeframe, start after end, ...)."""

    code = "INVALID_REQUEST"


class InvalidSymbolError(InvalidRequestError):
    """The symbol is not well-formed (empty, illegal characters, ...)."""

    code = "INVALID_SYMBOL"


class UnknownSymbolError(TradeforgeError):
    """The provider answered that it does not know the symbol."""

    code = "INVALID_SYMBOL"


class DataNotFoundError(TradeforgeError):
    """Nothing is stored for the requested dataset."""

    code = "NOT_FOUND"


class ProviderError(TradeforgeError):
    """A data provider failed after its retries (network down, exchange unavailable, ...)."""

    code = "PROVIDER_ERROR"
