"""FileProvider with CSV and Parquet files, flexible columns and timestamps, and bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines.data.providers.base import Provider
from pipelines.data.providers.file import FileProvider
from pipelines.data.schema import BAR_COLUMNS
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import TIMEFRAMES
from pipelines.errors import InvalidRequestError

PAYLOADS = Path(__file__).parent / "payloads"
AAPL = parse_symbol("AAPL")
BTC = parse_symbol("BTC/USDT")
DAY, HOUR = TIMEFRAMES["1d"], TIMEFRAMES["1h"]
EARLY, LATE = pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def assert_canonical(bars: pd.DataFrame, symbol: str, timeframe: str) -> None:
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert str(bars["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert all(bars[c].dtype == "float64" for c in ("open", "high", "low", "close", "volume"))
    assert bars["symbol"].astype(str).tolist() == [symbol] * len(bars)
    assert bars["timeframe"].astype(str).tolist() == [timeframe] * len(bars)
    assert bars["source"].astype(str).tolist() == ["file"] * len(bars)


def test_yahoo_style_csv_ignores_adj_close_and_filters_the_range() -> None:
    provider = FileProvider(PAYLOADS / "file_yahoo_export.csv")
    assert isinstance(provider, Provider) and provider.name == "file"
    bars = provider.fetch(AAPL, DAY, ts("2024-01-03"), ts("2024-01-08"))

    assert_canonical(bars, "AAPL", "1d")
    assert list(bars["timestamp"]) == [ts("2024-01-03"), ts("2024-01-04"), ts("2024-01-05")]  # naive = UTC
    assert bars["close"].tolist() == [184.25, 181.91, 181.18]  # Close, not Adj Close
    assert bars["volume"].tolist() == [58414500.0, 71983600.0, 62303300.0]


def test_epoch_milliseconds() -> None:
    bars = FileProvider(PAYLOADS / "file_epoch_ms.csv").fetch(BTC, HOUR, EARLY, LATE)
    assert_canonical(bars, "BTC/USDT", "1h")
    assert list(bars["timestamp"]) == list(pd.date_range("2024-06-01", periods=4, freq="1h", tz="UTC"))
    assert bars["volume"].iloc[-1] == 450.25


def test_epoch_seconds(tmp_path: Path) -> None:
    path = tmp_path / "seconds.csv"
    path.write_text(
        "Datetime,Open,High,Low,Close,Volume\n1717200000,1,2,0.5,1.5,10\n1717203600,1.5,2,1,1.2,20\n"
    )
    bars = FileProvider(path).fetch(BTC, HOUR, EARLY, LATE)
    assert list(bars["timestamp"]) == [ts("2024-06-01 00:00"), ts("2024-06-01 01:00")]


def test_case_insensitive_columns_iso_offsets_and_missing_volume() -> None:
    bars = FileProvider(PAYLOADS / "file_mixed_case.csv").fetch(AAPL, HOUR, EARLY, LATE)
    assert_canonical(bars, "AAPL", "1h")
    # +02:00 and Z offsets are converted; the naive stamp is taken as UTC; rows come out sorted
    assert list(bars["timestamp"]) == [ts("2024-06-01 00:00"), ts("2024-06-01 01:00"), ts("2024-06-01 02:00")]
    assert bars["open"].tolist() == [10.0, 10.5, 11.0]
    assert bars["volume"].tolist() == [0.0, 0.0, 0.0]


def test_parquet_with_tz_aware_timestamp_column(tmp_path: Path) -> None:
    frame = pd.read_csv(PAYLOADS / "file_yahoo_export.csv")
    frame["Date"] = pd.to_datetime(frame["Date"]).dt.tz_localize("America/New_York") + pd.Timedelta(hours=16)
    path = tmp_path / "aapl.parquet"
    frame.to_parquet(path)
    bars = FileProvider(path).fetch(AAPL, DAY, EARLY, LATE)
    assert_canonical(bars, "AAPL", "1d")
    assert bars["timestamp"].iloc[0] == ts("2024-01-02 21:00")  # 16:00 EST
    assert bars["close"].tolist() == frame["Close"].tolist()


def test_parquet_with_a_named_datetime_index(tmp_path: Path) -> None:
    frame = pd.read_csv(PAYLOADS / "file_epoch_ms.csv")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("time"), unit="ms"), name="timestamp")  # naive
    path = tmp_path / "btc.pq"
    frame.to_parquet(path)
    bars = FileProvider(path).fetch(BTC, HOUR, ts("2024-06-01 01:00"), ts("2024-06-01 03:00"))
    assert list(bars["timestamp"]) == [ts("2024-06-01 01:00"), ts("2024-06-01 02:00")]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InvalidRequestError, match=r"nope\.csv: does not exist"):
        FileProvider(path).fetch(AAPL, DAY, EARLY, LATE)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "bars.xlsx"
    shutil.copy(PAYLOADS / "file_yahoo_export.csv", path)
    with pytest.raises(InvalidRequestError, match=r"bars\.xlsx: has an unsupported extension"):
        FileProvider(path).fetch(AAPL, DAY, EARLY, LATE)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("Date,Open,High,Low,Volume\n2024-01-02,1,2,0.5,10\n", "no column\\(s\\) close; found columns"),
        ("When,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n", "no timestamp column"),
        ("Date,Open,High,Low,Close\nyesterday,1,2,0.5,1\n", "unparseable timestamps"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,n/a?\n", "non-numeric value 'n/a\\?'"),
        ("Date,Open,High,Low,Close\n,1,2,0.5,1\n", "1 empty timestamp"),
        ("date,Open,DATE,High,Low,Close\n2024-01-02,1,2024-01-02,2,0.5,1\n", "two columns named 'date'"),
        ("", "cannot be read"),
    ],
)
def test_bad_csv_files(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InvalidRequestError, match=rf"bad\.csv: .*{problem}"):
        FileProvider(path).fetch(AAPL, DAY, EARLY, LATE)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(InvalidRequestError, match=r"bad\.parquet: cannot be read"):
        FileProvider(path).fetch(AAPL, DAY, EARLY, LATE)


def test_header_only_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n")
    bars = FileProvider(path).fetch(AAPL, DAY, EARLY, LATE)
    assert bars.empty
    assert_canonical(bars, "AAPL", "1d")
