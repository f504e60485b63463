"""Ingest: incremental, idempotent, per-symbol failure isolation, validation before any write."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.data.ingest import ingest, open_store, plan_ingest
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import Symbol
from pipelines.data.timeframes import Timeframe
from pipelines.errors import InvalidRequestError, InvalidSymbolError, ProviderError
from pipelines.settings import Settings

NOW = pd.Timestamp("2025-06-30T12:00", tz="UTC")


class CountingProvider(SyntheticProvider):
    """The real synthetic provider, recording what it was asked for; ``broken`` symbols fail."""

    def __init__(self, broken: tuple[str, ...] = ()) -> None:
        super().__init__(42, now=lambda: NOW)
        self.calls: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
        self.broken = broken

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        self.calls.append((symbol.name, start, end))
        if symbol.name in self.broken:
            raise ProviderError(f"exchange unavailable for {symbol.name}")
        return super().fetch(symbol, timeframe, start, end)


def run(
    settings: Settings, provider: CountingProvider, symbols: list[str], start: str, end: str, tf: str = "1d"
):
    request = plan_ingest(settings, source="synthetic", symbols=symbols, timeframe=tf, start=start, end=end)
    return ingest(settings, request, provider=provider, now=NOW)


def test_first_ingest_writes_and_reports(settings: Settings) -> None:
    report = run(settings, CountingProvider(), ["AAPL", "BTC_USDT"], "2024-01-01", "2024-02-01")
    data = report.as_dict()
    assert data["rows_written"] == 21 + 31  # NYSE: 21 sessions in January 2024
    assert data["symbols"]["AAPL"]["rows_written"] == 21 and data["symbols"]["AAPL"]["rows_total"] == 21
    assert data["symbols"]["BTC/USDT"]["rows_total"] == 31
    assert data["symbols"]["BTC/USDT"]["path"].endswith(
        "market/source=synthetic/timeframe=1d/symbol=BTC-USDT"
    )
    assert data["failed"] == [] and data["seconds"] >= 0


def test_second_run_fetches_nothing_and_extension_fetches_only_new_bars(settings: Settings) -> None:
    provider = CountingProvider()
    run(settings, provider, ["BTC/USDT"], "2024-01-01", "2024-02-01")
    provider.calls.clear()
    again = run(settings, provider, ["BTC/USDT"], "2024-01-01", "2024-02-01")
    assert again.rows_written == 0 and provider.calls == []
    later = run(settings, provider, ["BTC/USDT"], "2024-01-01", "2024-02-10")
    assert later.rows_written == 9
    ((_, start, end),) = provider.calls
    assert start == pd.Timestamp("2024-02-01", tz="UTC") and end == pd.Timestamp("2024-02-10", tz="UTC")
    provider.calls.clear()
    earlier = run(settings, provider, ["BTC/USDT"], "2023-12-25", "2024-02-10")
    assert earlier.rows_written == 7
    assert provider.calls == [
        ("BTC/USDT", pd.Timestamp("2023-12-25", tz="UTC"), pd.Timestamp("2024-01-01", tz="UTC"))
    ]
    stored = open_store(settings).read(SeriesKey("synthetic", "1d", "BTC/USDT"))
    assert stored["timestamp"].is_unique and len(stored) == 7 + 31 + 9


def test_incremental_equals_one_shot(settings: Settings, tmp_path: Path) -> None:
    provider = CountingProvider()
    for end in ("2024-01-10", "2024-01-20 07:00", "2024-02-01"):
        run(settings, provider, ["ETH/USDT"], "2024-01-01", end, tf="1h")
    other = settings.model_copy(update={"home": tmp_path / "other"})
    run(other, CountingProvider(), ["ETH/USDT"], "2024-01-01", "2024-02-01", tf="1h")
    key = SeriesKey("synthetic", "1h", "ETH/USDT")
    pd.testing.assert_frame_equal(open_store(settings).read(key), open_store(other).read(key))


def test_a_failing_symbol_writes_nothing_and_others_go_on(settings: Settings) -> None:
    report = run(settings, CountingProvider(broken=("MSFT",)), ["AAPL", "MSFT"], "2024-01-01", "2024-02-01")
    assert [s.symbol for s in report.failed] == ["MSFT"]
    assert "exchange unavailable for MSFT" in (report.failed[0].error or "")
    assert open_store(settings).bounds(SeriesKey("synthetic", "1d", "MSFT")) is None
    assert open_store(settings).bounds(SeriesKey("synthetic", "1d", "AAPL")) is not None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"source": "bloomberg"}, InvalidRequestError, "unknown source 'bloomberg'"),
        ({"timeframe": "7m"}, InvalidRequestError, "unknown timeframe '7m'"),
        ({"symbols": ["AA PL"]}, InvalidSymbolError, "malformed symbol"),
        ({"symbols": []}, InvalidRequestError, "at least one symbol"),
        ({"start": "2024-03-01", "end": "2024-01-01"}, InvalidRequestError, "must be before end"),
        ({"start": "yesterday-ish"}, InvalidRequestError, "is not a date"),
        ({"source": "file", "path": "/nonexistent.csv"}, InvalidRequestError, "no such file"),
        ({"source": "file"}, InvalidRequestError, "needs --path"),
        ({"source": "yfinance", "symbols": ["BTC/USDT"]}, InvalidSymbolError, "crypto pair"),
        ({"path": "x.csv"}, InvalidRequestError, "only for source 'file'"),
    ],
)
def test_bad_input_is_rejected_before_anything_is_written(
    settings: Settings, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {
        "source": "synthetic",
        "symbols": ["AAPL"],
        "timeframe": "1d",
        "start": "2024-01-01",
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        plan_ingest(settings, **args)  # type: ignore[arg-type]
    assert not settings.market_dir.exists()
