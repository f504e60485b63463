"""The ingest use case: every front end's bars come through it, fetched only when the store lacks
them, and the analyses record the version of the bars they read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

import pipelines.app.ingest
from pipelines.app.backtest import BacktestQuery, api_backtest, run_backtest
from pipelines.app.backtest_plan import warmup_start
from pipelines.app.ingest import (
    BarsRequest,
    DataRequest,
    PartitionRequest,
    ensure_bars_table,
    ingest_bars,
    ingest_partition,
    plan_bars,
)
from pipelines.app.walk_forward import walk_forward_task
from pipelines.data.ingest import stored_version
from pipelines.data.store import SeriesKey
from pipelines.features.store import stored_bars_table
from pipelines.settings import Settings

START, END = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-07-01", tz="UTC")
AAPL = SeriesKey("synthetic", "1d", "AAPL")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every call of the provider ingest made through the use case."""
    calls: list[Any] = []
    real = pipelines.app.ingest.ingest

    def counted(settings: Settings, request: Any, **kwargs: Any) -> Any:
        calls.append(request)
        return real(settings, request, **kwargs)

    monkeypatch.setattr(pipelines.app.ingest, "ingest", counted)
    return calls


def test_a_cli_ingest_versions_the_bars_it_stored(settings: Settings) -> None:
    plan = plan_bars(settings, BarsRequest("synthetic", ("AAPL",), "1d", START, END))
    result = ingest_bars(settings, plan)
    assert result.failed == [] and result.rows_written > 100
    assert result.versions["AAPL"] == stored_version(settings, AAPL, years=range(2024, 2025))
    assert result.as_dict() == result.report.as_dict()


def test_a_request_ingests_only_when_the_store_lacks_its_window(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch)
    request = DataRequest("synthetic", "AAPL", "1d", START, END)
    first = ensure_bars_table(settings, request)
    assert len(calls) == 1  # nothing stored: fetched through the ingest
    again = ensure_bars_table(settings, request)
    inside = ensure_bars_table(
        settings, DataRequest("synthetic", "AAPL", "1d", START, END - pd.Timedelta(days=30))
    )
    assert len(calls) == 1  # the store holds both windows: nothing fetched
    assert again.version == first.version == stored_bars_table(settings, AAPL, START, END).version
    assert len(inside.bars()) < len(first.bars())
    ensure_bars_table(settings, DataRequest("synthetic", "AAPL", "1d", START, END + pd.Timedelta(days=20)))
    assert len(calls) == 2  # a longer window lacks bars: fetched again


def test_the_partition_ingest_is_the_same_ingest(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    now = pd.Timestamp("2024-12-31T12:00", tz="UTC")
    run = ingest_partition(settings, PartitionRequest("AAPL", 2024), now=now)
    assert len(calls) == 1 and run.errors() == [] and run.rows_written > 200
    assert run.versions()["1d"] == stored_version(settings, AAPL, years=range(2024, 2025))
    assert run.reports["1d"].symbols[0].symbol == "AAPL" and "1d" in run.quality


def test_a_backtest_records_the_version_of_the_bars_it_read(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    query = BacktestQuery(symbol="AAPL", strategy="sma_cross", start_date="2024-03-01", end_date="2024-07-01")
    with caplog.at_level("INFO", logger="pipelines.app.backtest"):
        answer = run_backtest(settings, query)
    assert "data_version" not in answer.body  # the documented answer keeps its shape
    assert answer.body == api_backtest(
        settings, symbol="AAPL", strategy="sma_cross", start_date="2024-03-01", end_date="2024-07-01"
    )
    first = warmup_start(pd.Timestamp("2024-03-01", tz="UTC"), "1d", crypto=False)
    assert answer.data_version == stored_bars_table(settings, AAPL, first, END).version
    assert answer.data_version.content_hash in caplog.text


@dataclass
class _Progress:
    settings: Settings
    job_id: str = "job-1"
    seen: list[tuple[float | None, str | None]] = field(default_factory=list)

    def update(
        self,
        progress: float | None = None,
        description: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self.seen.append((progress, description))


def test_a_walk_forward_job_records_the_data_version(settings: Settings) -> None:
    params = {
        "symbol": "AAPL",
        "model_type": "simple",
        "start_date": "2022-01-03",
        "end_date": "2024-07-01",
        "train_window": 300,
        "test_window": 100,
    }
    progress = _Progress(settings)
    result = walk_forward_task(params, progress)
    assert result["status"] == "success" and "data_version" not in result
    first = warmup_start(pd.Timestamp("2022-01-03", tz="UTC"), "1d", crypto=False)  # the features' warm-up
    read = stored_bars_table(settings, AAPL, first, END).version
    last = progress.seen[-1][1] or ""
    assert read.content_hash in last and read.last_bar_iso in last
    folds = len(result["folds"])
    said = [text for _, text in progress.seen]
    assert f"Walk-forward analysis of AAPL: fold 1/{folds} fitted" in said
    assert f"Walk-forward analysis of AAPL: fold {folds}/{folds} fitted" in said
    assert [f["train_rows"] for f in result["folds"]] == [300] * folds and result["warnings"] == []
