"""The common layouts of users' bar files, each written for real and read by the provider and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.data.providers.file import FileProvider
from pipelines.data.stored_bars import load_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import TIMEFRAMES
from pipelines.errors import InvalidRequestError
from pipelines.settings import get_settings

DAYS = pd.date_range("2024-01-02", periods=3, freq="D", tz="UTC")
MINUTES = pd.DatetimeIndex(["2024-01-02 09:30", "2024-01-02 09:31", "2024-01-02 09:32"], tz="UTC")
OPEN, HIGH, LOW = [10.0, 11.0, 12.0], [10.5, 11.5, 12.5], [9.5, 10.5, 11.5]
CLOSE, VOLUME = [10.25, 11.25, 12.25], [100.0, 200.0, 300.0]
EARLY, LATE = pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC")


def _ohlcv(index: pd.Index | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {"Open": OPEN, "High": HIGH, "Low": LOW, "Close": CLOSE, "Volume": VOLUME}, index=index
    )


def pandas_index(name: str | None) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        _ohlcv(pd.DatetimeIndex(DAYS.tz_localize(None), name=name)).to_csv(path)  # df.to_csv()

    return write


def yahoo(path: Path) -> None:
    frame = _ohlcv()
    frame.insert(0, "Date", DAYS.strftime("%Y-%m-%d"))
    frame.insert(5, "Adj Close", [9.0, 9.5, 10.0])
    frame.to_csv(path, index=False)


def yfinance_multi_header(path: Path) -> None:
    frame = _ohlcv(pd.DatetimeIndex(DAYS.tz_localize(None), name="Date"))
    frame.columns = pd.MultiIndex.from_product([frame.columns, ["SPY"]], names=["Price", "Ticker"])
    frame.to_csv(path)


def binance_klines(unit: int) -> Callable[[Path], None]:
    """Binance's headerless 12-column kline CSV, open times in epoch units of ``unit`` per second."""

    def write(path: Path) -> None:
        opens = [int(t.timestamp()) * unit for t in MINUTES]
        rows = [
            f"{t},{o},{h},{lo},{c},{v},{t + 60 * unit - 1},{c * v},7,{v / 2},{c * v / 2},0"
            for t, o, h, lo, c, v in zip(opens, OPEN, HIGH, LOW, CLOSE, VOLUME, strict=True)
        ]
        path.write_text("\n".join(rows) + "\n")

    return write


def kline_with_header_seconds(path: Path) -> None:
    frame = _ohlcv()
    frame.insert(0, "open_time", [int(t.timestamp()) for t in MINUTES])
    frame.to_csv(path, index=False)


def date_and_time_compact(path: Path) -> None:
    lines = ["Date,Time,Open,High,Low,Close,Volume"]
    lines += [
        f"{t:%Y%m%d},{t:%H%M},{o},{h},{lo},{c},{v}"
        for t, o, h, lo, c, v in zip(MINUTES, OPEN, HIGH, LOW, CLOSE, VOLUME, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")


def date_and_time_iso(path: Path) -> None:
    frame = _ohlcv()
    frame.insert(0, "Time", MINUTES.strftime("%H:%M:%S"))
    frame.insert(0, "Date", MINUTES.strftime("%Y-%m-%d"))
    frame.to_csv(path, index=False)


def semicolons_and_decimal_commas(path: Path) -> None:
    frame = _ohlcv()
    frame.insert(0, "Date", DAYS.strftime("%Y-%m-%d"))
    frame.to_csv(path, index=False, sep=";", decimal=",")
    assert "10,25" in path.read_text()  # the file really has decimal commas


def semicolons_and_dotted_dates(path: Path) -> None:
    """A European export: day.month.year dates, ``;`` between fields, decimal commas."""

    def comma(value: float) -> str:
        return str(value).replace(".", ",")

    lines = ["Date;Open;High;Low;Close;Volume"]
    lines += [
        f"{t:%d.%m.%Y %H:%M};{comma(o)};{comma(h)};{comma(lo)};{comma(c)};{comma(v)}"
        for t, o, h, lo, c, v in zip(MINUTES, OPEN, HIGH, LOW, CLOSE, VOLUME, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")


LAYOUTS = {
    "pandas-unnamed-index": (pandas_index(None), "1d", DAYS),
    "pandas-index-named-Date": (pandas_index("Date"), "1d", DAYS),
    "pandas-index-named-index": (pandas_index("index"), "1d", DAYS),
    "yahoo": (yahoo, "1d", DAYS),
    "yfinance-multi-header": (yfinance_multi_header, "1d", DAYS),
    "binance-ms": (binance_klines(1000), "1m", MINUTES),
    "binance-us": (binance_klines(1_000_000), "1m", MINUTES),
    "kline-seconds": (kline_with_header_seconds, "1m", MINUTES),
    "date-time-compact": (date_and_time_compact, "1m", MINUTES),
    "date-time-iso": (date_and_time_iso, "1m", MINUTES),
    "semicolons": (semicolons_and_decimal_commas, "1d", DAYS),
    "semicolons-dotted-dates": (semicolons_and_dotted_dates, "1m", MINUTES),
}


def _check(bars: pd.DataFrame, stamps: pd.DatetimeIndex) -> None:
    assert str(bars["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert list(bars["timestamp"]) == list(stamps)
    assert bars["open"].tolist() == OPEN and bars["high"].tolist() == HIGH and bars["low"].tolist() == LOW
    assert bars["close"].tolist() == CLOSE  # the traded close, never Adj Close
    assert bars["volume"].tolist() == VOLUME


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_provider_reads_the_layout(layout: str, tmp_path: Path) -> None:
    write, timeframe, stamps = LAYOUTS[layout]
    path = tmp_path / "bars.csv"
    write(path)
    bars = FileProvider(path).fetch(parse_symbol("SPY"), TIMEFRAMES[timeframe], EARLY, LATE)
    _check(bars, stamps)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_cli_ingests_the_layout(layout: str, tmp_path: Path, env_home: Path) -> None:
    write, timeframe, stamps = LAYOUTS[layout]
    path = tmp_path / f"{layout}.csv"
    write(path)
    args = ["ingest", "--source", "file", "--path", str(path), "--symbols", "SPY", "--timeframe", timeframe]
    result = CliRunner().invoke(app, [*args, "--start", "2024-01-01", "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["symbols"]["SPY"]["rows_total"] == 3
    _check(load_bars(get_settings(), source="file", symbol="SPY", timeframe=timeframe), stamps)


def test_unreadable_layout_names_what_it_found_and_sought(tmp_path: Path, env_home: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("When,Price,Amount\n2024-01-02,10,5\n2024-01-03,11,6\n")
    with pytest.raises(InvalidRequestError) as caught:
        FileProvider(path).read()
    message = str(caught.value)
    assert "found columns ['When', 'Price', 'Amount']" in message
    assert "looked for a timestamp (timestamp, datetime, date, time, open_time" in message
    assert "open, high, low, close" in message
    args = ["ingest", "--source", "file", "--path", str(path), "--symbols", "SPY"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "found columns ['When', 'Price', 'Amount']" in result.stderr.replace("\n", "")
    assert not (env_home / "market").exists()  # nothing was written
