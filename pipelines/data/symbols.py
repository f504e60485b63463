"""Symbol parsing: stocks as ``AAPL``; crypto in ccxt form ``BTC/USDT`` (also ``BTC_USDT``, ``BTCUSDT``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pipelines.errors import InvalidSymbolError
from pipelines.names import name_problem

__all__ = ["AssetClass", "Symbol", "as_spelled", "parse_symbol", "path_safe"]

# Quote currencies recognised when a crypto pair is written without a separator (BTCUSDT).
_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD", "EUR", "BTC", "ETH", "BNB")
_STOCK_RE = re.compile(r"^\^?[A-Z0-9][A-Z0-9.\-]{0,14}(=[A-Z]{1,2})?$")
_CRYPTO_PART_RE = re.compile(r"^[A-Z0-9]{2,12}$")
_PATH_UNSAFE = str.maketrans({"/": "-", "=": "_", "^": "_"})


class AssetClass(StrEnum):
    STOCK = "stock"
    CRYPTO = "crypto"


@dataclass(frozen=True, slots=True)
class Symbol:
    """A normalised symbol: ``name`` is canonical (``BTC/USDT``, ``AAPL``)."""

    name: str
    asset_class: AssetClass

    @property
    def is_crypto(self) -> bool:
        return self.asset_class is AssetClass.CRYPTO

    @property
    def path_name(self) -> str:
        """A file-system and partition-key safe form: ``BTC/USDT`` -> ``BTC-USDT``."""
        return self.name.translate(_PATH_UNSAFE)

    def __str__(self) -> str:
        return self.name


def _crypto(base: str, quote: str, raw: str) -> Symbol:
    if not (_CRYPTO_PART_RE.match(base) and _CRYPTO_PART_RE.match(quote)):
        raise InvalidSymbolError(f"malformed crypto symbol {raw!r}; expected BASE/QUOTE such as BTC/USDT")
    return Symbol(f"{base}/{quote}", AssetClass.CRYPTO)


def as_spelled(raw: str) -> str:
    """The caller's own spelling of a symbol they sent (``BTCUSDT``, ``BTC_USDT`` or ``BTC/USDT``),
    trimmed and upper-cased: what an answer about that one symbol echoes (lists answer ``name``)."""
    return raw.strip().upper()


def parse_symbol(raw: str, *, crypto: bool | None = None) -> Symbol:
    """Normalise ``raw``. ``crypto`` forces the asset class (a ccxt source means crypto).

    Without a separator a name is crypto only if it ends in a known quote currency after a base of
    at least two characters (``BTCUSDT``), or when ``crypto`` is True.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidSymbolError("symbol must be a non-empty string")
    problem = name_problem(raw)
    if problem is not None:
        raise InvalidSymbolError(f"symbol {raw!r} {problem}")
    text = raw.strip().upper()
    for sep in ("/", "_"):
        if sep in text:
            if crypto is False:
                raise InvalidSymbolError(f"{raw!r} is a crypto pair, but this source serves stocks")
            base, _, quote = text.partition(sep)
            return _crypto(base, quote, raw)
    if crypto is not False:
        for quote in _QUOTES:
            if text.endswith(quote) and len(text) - len(quote) >= 2 and _CRYPTO_PART_RE.match(text):
                return _crypto(text[: -len(quote)], quote, raw)
        if crypto:
            raise InvalidSymbolError(f"malformed crypto symbol {raw!r}; expected BASE/QUOTE such as BTC/USDT")
    if not _STOCK_RE.match(text):
        raise InvalidSymbolError(
            f"malformed symbol {raw!r}; expected a ticker such as AAPL, ^GSPC, EURUSD=X "
            "or a pair such as BTC/USDT"
        )
    return Symbol(text, AssetClass.STOCK)


def path_safe(name: str) -> str:
    """The file-system and partition-key safe form of a canonical symbol name."""
    return name.translate(_PATH_UNSAFE)
