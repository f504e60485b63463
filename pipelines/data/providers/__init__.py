"""Market-data providers behind one interface, and the lookup that builds them by name."""

from __future__ import annotations

from pathlib import Path

from pipelines.data.providers.base import Provider, with_retries
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = ["SOURCES", "SOURCE_SPELLINGS", "Provider", "get_provider", "normalize_source", "with_retries"]

SOURCES = ("synthetic", "yfinance", "ccxt", "file", "replay")
_ALIASES = {"yahoo": "yfinance", "yf": "yfinance", "csv": "file", "parquet": "file"}
SOURCE_SPELLINGS: tuple[str, ...] = (*SOURCES, *_ALIASES)
"""Every name ``normalize_source`` accepts in lower case: the sources, then their aliases."""


def normalize_source(name: str) -> str:
    """The canonical source name; a clear error lists the valid ones."""
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in SOURCES:
        raise InvalidRequestError(f"unknown source {name!r}; expected one of {', '.join(SOURCES)}")
    return key


def get_provider(
    source: str, settings: Settings, *, path: str | Path | None = None, exchange: str | None = None
) -> Provider:
    """Build the provider for ``source`` (imports its library only when it is used)."""
    name = normalize_source(source)
    if name == "synthetic":
        from pipelines.data.providers.synthetic import SyntheticProvider

        return SyntheticProvider(settings.data.synthetic_seed)
    if name == "replay":  # the synthetic series under the name the accelerated live feed stores it
        from pipelines.data.providers.synthetic import SyntheticProvider

        return SyntheticProvider(settings.data.synthetic_seed, name="replay")
    if name == "yfinance":
        from pipelines.data.providers.yahoo import YahooProvider

        return YahooProvider(
            max_retries=settings.data.provider_max_retries, backoff=settings.data.provider_backoff_seconds
        )
    if name == "ccxt":
        from pipelines.data.providers.ccxt_provider import CcxtProvider

        return CcxtProvider(
            exchange or settings.data.ccxt_exchange,
            max_retries=settings.data.provider_max_retries,
            backoff=settings.data.provider_backoff_seconds,
        )
    if path is None:
        raise InvalidRequestError("source 'file' needs a path to a CSV or Parquet file (--path)")
    from pipelines.data.providers.file import FileProvider

    return FileProvider(path)
