"""What a training run reads: one snapshot of stored data (bars, features, data version).

The CLI and API path (``train`` without a table) fetches only what the store lacks and reads the
stored bars; a run given a materialized table trains on it as it is and records its version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import pipelines.data.ingest
from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.app.train import plan_training, train_model
from pipelines.data.providers import Provider, get_provider
from pipelines.data.version import DATA_VERSION_TAG, DataVersion, combine_hashes, content_hash
from pipelines.features import compute_features, get_feature_set
from pipelines.features.store import build_features, read_feature_table
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings

WINDOW = {"source": "synthetic", "symbol": "AAPL", "timeframe": "1d"}


class _Counting:
    """The real provider, counting its fetches."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.fetches = 0

    def fetch(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        self.fetches += 1
        return self.inner.fetch(*args, **kwargs)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> list[_Counting]:
    made: list[_Counting] = []

    def provider(*args: Any, **kwargs: Any) -> _Counting:
        made.append(_Counting(get_provider(*args, **kwargs)))
        return made[-1]

    monkeypatch.setattr(pipelines.data.ingest, "get_provider", provider)
    return made


def _ensure(settings: Settings, end: str, start: str = "2024-01-02") -> Any:
    """2 January 2024 is the first trading day (a window from a holiday fetches that empty day)."""
    start, stop = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    return ensure_bars_table(settings, DataRequest("synthetic", "AAPL", "1d", start, stop))


def test_ensure_fetches_only_what_is_missing_and_versions_the_bars_read(
    settings: Settings, counting: list[_Counting]
) -> None:
    first = _ensure(settings, "2024-06-01")
    assert sum(c.fetches for c in counting) == 1 and first.version.rows == len(first.frame) > 100
    assert not settings.features_dir.exists()  # a request writes no feature table
    again = _ensure(settings, "2024-06-01")
    assert sum(c.fetches for c in counting) == 1  # the store holds the window: nothing fetched
    assert again.version == first.version
    grown = _ensure(settings, "2024-09-01")
    assert sum(c.fetches for c in counting) == 2
    assert (
        grown.version.rows > first.version.rows and grown.version.content_hash != first.version.content_hash
    )
    assert grown.version.last_bar > first.version.last_bar


def test_stored_features_equal_features_computed_from_the_window(settings: Settings) -> None:
    _ensure(settings, "2024-09-01")
    build_features(settings, **WINDOW)
    table = read_feature_table(settings, **WINDOW)
    fset = get_feature_set("default")
    bars, stored = table.features(fset)  # the whole table: its stored columns
    _, computed = table.features(fset, start=bars["timestamp"].iloc[40])  # a later start: computed
    pd.testing.assert_frame_equal(stored, compute_features(bars, fset), check_dtype=False)
    tail = compute_features(bars.iloc[40:].reset_index(drop=True), fset)
    pd.testing.assert_frame_equal(computed, tail)
    _, minimal = table.features(get_feature_set("minimal"))
    assert list(minimal.columns) == ["timestamp", *get_feature_set("minimal").columns]


def test_a_run_given_a_table_trains_on_it_and_records_its_version(
    settings: Settings, tracker: MlflowTracker, counting: list[_Counting]
) -> None:
    _ensure(settings, "2024-09-01", start="2023-01-01")
    build_features(settings, **WINDOW)
    fetched = sum(c.fetches for c in counting)
    table = read_feature_table(settings, **WINDOW)
    request = plan_training(
        settings, model_type="simple", model_name="ridge", symbol="AAPL", start="2023-01-01", end="2025-01-01"
    )
    result = train_model(settings, request, tracker, table=table)
    assert sum(c.fetches for c in counting) == fetched  # nothing fetched, though the window runs on
    assert result.data_version == table.version
    tags = tracker.client.get_run(result.run_id).data.tags
    assert tags[DATA_VERSION_TAG] == table.version.content_hash
    assert result.data_range["val_end"] <= table.version.last_bar_iso


def test_the_cli_path_records_the_bars_it_read(settings: Settings, tracker: MlflowTracker) -> None:
    request = plan_training(
        settings, model_type="simple", model_name="ridge", symbol="AAPL", start="2023-01-01", end="2024-09-01"
    )
    result = train_model(settings, request, tracker)
    table = _ensure(settings, "2024-09-01", start="2023-01-01")
    assert result.data_version == table.version and table.feature_set == ""
    assert tracker.client.get_run(result.run_id).data.tags[DATA_VERSION_TAG] == table.version.content_hash


def test_data_versions_hash_content_not_location(settings: Settings, tmp_path: Path) -> None:
    _ensure(settings, "2024-06-01")
    built = build_features(settings, **WINDOW)
    copy = tmp_path / "copy.parquet"
    copy.write_bytes(Path(built.path).read_bytes())
    assert (
        content_hash([copy])
        == built.version.content_hash
        == read_feature_table(settings, **WINDOW).version.content_hash
    )
    assert build_features(settings, **WINDOW).version == built.version  # a rebuild of the same bars
    copy.write_bytes(copy.read_bytes() + b"x")
    assert content_hash([copy]) != built.version.content_hash
    assert combine_hashes({"1d": "a"}) == "a" and combine_hashes({"1d": "a", "1h": "b"}) not in ("a", "b")
    assert DataVersion(pd.Timestamp("2024-01-01", tz="UTC"), 3, "h").tags()[DATA_VERSION_TAG] == "h"
