"""The Parquet store: layout, round trips, idempotence, atomicity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.store import ParquetStore, SeriesKey
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError

NOW = pd.Timestamp("2025-06-30T12:00", tz="UTC")
KEY = SeriesKey("synthetic", "1h", "BTC/USDT")


def bars(a: str, b: str, symbol: str = "BTC/USDT", tf: str = "1h") -> pd.DataFrame:
    p = SyntheticProvider(3, now=lambda: NOW)
    return p.fetch(
        parse_symbol(symbol), parse_timeframe(tf), pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")
    )


@pytest.fixture
def store(tmp_path: Path) -> ParquetStore:
    return ParquetStore(tmp_path / "market", tmp_path / "locks")


def test_layout_partitions_by_source_timeframe_symbol_year(store: ParquetStore, tmp_path: Path) -> None:
    result = store.write(bars("2023-12-30", "2024-01-03"))
    files = sorted(
        p.relative_to(tmp_path / "market").as_posix() for p in (tmp_path / "market").rglob("*.parquet")
    )
    assert files == [
        "source=synthetic/timeframe=1h/symbol=BTC-USDT/year=2023/data.parquet",
        "source=synthetic/timeframe=1h/symbol=BTC-USDT/year=2024/data.parquet",
    ]
    assert result.rows_written == result.rows_total == 4 * 24
    assert result.path == str(tmp_path / "market/source=synthetic/timeframe=1h/symbol=BTC-USDT")


def test_round_trip_keeps_schema_and_values(store: ParquetStore) -> None:
    original = bars("2024-01-01", "2024-02-01")
    store.write(original)
    back = store.read(KEY)
    assert str(back["timestamp"].dtype) == "datetime64[ns, UTC]"
    for col in ("timestamp", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(back[col].to_numpy(), original[col].to_numpy())
    assert set(back["source"].astype(str)) == {"synthetic"}
    window = store.read(KEY, pd.Timestamp("2024-01-10", tz="UTC"), pd.Timestamp("2024-01-11", tz="UTC"))
    assert len(window) == 24 and window["timestamp"].iloc[0] == pd.Timestamp("2024-01-10", tz="UTC")


def test_rewrites_are_idempotent_and_never_duplicate(store: ParquetStore) -> None:
    first = bars("2024-01-01", "2024-01-05")
    store.write(first)
    again = store.write(first)
    assert again.rows_written == 0 and again.rows_total == len(first)
    overlap = bars("2024-01-03", "2024-01-08")
    result = store.write(overlap)
    assert result.rows_written == 3 * 24
    stored = store.read(KEY)
    assert stored["timestamp"].is_unique and stored["timestamp"].is_monotonic_increasing
    assert len(stored) == 7 * 24


def test_bounds_come_from_file_metadata(store: ParquetStore) -> None:
    assert store.bounds(KEY) is None
    store.write(bars("2023-12-31", "2024-01-02"))
    b = store.bounds(KEY)
    assert b is not None
    assert b.first == pd.Timestamp("2023-12-31", tz="UTC")
    assert b.last == pd.Timestamp("2024-01-01 23:00", tz="UTC")
    assert b.rows == 48
    assert [d.key for d in store.datasets()] == [KEY]


def test_failed_write_leaves_stored_data_untouched(
    store: ParquetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write(bars("2024-01-01", "2024-01-03"))
    path = Path(store.series_dir(KEY)) / "year=2024" / "data.parquet"
    before = path.read_bytes()

    def broken(table: object, where: object, **kwargs: object) -> None:
        Path(str(where)).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        store.write(bars("2024-01-03", "2024-01-05"))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["data.parquet"], "no temp file left behind"


def test_mixed_datasets_rejected(store: ParquetStore) -> None:
    mixed = pd.concat([bars("2024-01-01", "2024-01-02"), bars("2024-01-01", "2024-01-02", symbol="ETH/USDT")])
    with pytest.raises(InvalidRequestError, match="one symbol"):
        store.write(mixed)
    with pytest.raises(InvalidRequestError, match="no bars"):
        store.write(mixed.iloc[:0])
    assert store.datasets() == []
