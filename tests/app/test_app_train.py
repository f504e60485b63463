"""The training use case: the CLI and the API read their bars through the ingest use case (fetching
only what the store lacks) and the MLflow run records the version of the bars read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import pipelines.app.ingest
from pipelines.app.train import TrainQuery, plan_query, plan_training, train_model
from pipelines.data.store import SeriesKey
from pipelines.data.version import DATA_VERSION_TAG
from pipelines.features.store import stored_bars_table
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings


def test_training_ingests_only_what_is_missing_and_records_the_version(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    real = pipelines.app.ingest.ingest

    def counted(settings: Settings, request: Any, **kwargs: Any) -> Any:
        calls.append(request)
        return real(settings, request, **kwargs)

    monkeypatch.setattr(pipelines.app.ingest, "ingest", counted)
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    # 2 January 2023 and 2 September 2024 are NYSE holidays, the days between them and the stored
    # bars a weekend: the window's ends hold no session the store could lack.
    request = plan_training(
        settings, model_type="simple", model_name="ridge", symbol="AAPL", start="2023-01-02", end="2024-09-03"
    )
    first = train_model(settings, request, tracker)
    assert len(calls) == 1  # nothing stored: fetched through the ingest use case
    second = train_model(settings, request, tracker)
    assert len(calls) == 1  # the store holds the window: nothing fetched
    table = stored_bars_table(settings, SeriesKey("synthetic", "1d", "AAPL"), request.start, request.end)
    assert first.data_version == second.data_version == table.version
    assert table.version.last_bar == pd.Timestamp("2024-08-30", tz="UTC")
    assert tracker.client.get_run(second.run_id).data.tags[DATA_VERSION_TAG] == table.version.content_hash


def test_a_training_query_names_its_dataset(settings: Settings) -> None:
    request = plan_query(settings, TrainQuery(model_type="simple", dataset="synthetic:AAPL@1d"))
    assert (request.model_name, request.symbol, request.source, request.timeframe) == (
        "simple_aapl_1d",
        "AAPL",
        "synthetic",
        "1d",
    )
