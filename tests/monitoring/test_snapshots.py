"""Saved monitoring snapshots: an atomic JSON file in the metrics folder and a row per save."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from pipelines.db import Database, MetricsSnapshot, RequestLog, add_many
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings
from serving import monitoring

NOW = dt.datetime(2025, 6, 30, 12, 30, 5, 250000, tzinfo=dt.UTC)


def test_save_snapshot_and_history(database: Database, settings: Settings) -> None:
    with database.transaction() as s:
        add_many(
            s,
            [
                RequestLog(
                    user_id="ann", method="GET", route="/x", status_code=200, duration_ms=10.0, created_at=NOW
                ),
                RequestLog(
                    user_id="bob", method="GET", route="/y", status_code=200, duration_ms=10.0, created_at=NOW
                ),
            ],
        )
    with database.transaction() as s:
        saved = monitoring.save_snapshot(settings, s, "ann", started_at=NOW - dt.timedelta(hours=1), now=NOW)
        later = monitoring.save_snapshot(settings, s, None, now=NOW + dt.timedelta(seconds=1))
    path = settings.metrics_dir / saved["name"]
    assert "path" not in saved and str(settings.home) not in str(saved)  # the name, never a server path
    assert saved["created_at"] == "2025-06-30T12:30:05.250000Z"
    assert saved["name"].startswith("metrics_20250630T123005_250000Z_") and saved["name"].endswith(".json")
    assert saved["size_bytes"] == path.stat().st_size > 0
    payload = json.loads(path.read_text())
    assert payload["scope"] == "user" and payload["system"]["total_api_calls"] == 1
    assert payload["system"]["uptime"] == "1h 0m 0s"
    assert sorted(p.name for p in settings.metrics_dir.iterdir()) == sorted([saved["name"], later["name"]])

    with database.session() as s:
        row = s.scalars(select(MetricsSnapshot).where(MetricsSnapshot.name == saved["name"])).one()
        assert row.user_id == "ann" and row.payload == payload
        ann_history = monitoring.history(s, "ann")
        all_history = monitoring.history(s, None)
        with pytest.raises(InvalidRequestError, match="limit"):
            monitoring.history(s, None, limit=0)
    assert [h["name"] for h in ann_history] == [saved["name"]]
    assert [h["name"] for h in all_history] == [later["name"], saved["name"]]
    assert all_history[1] == {
        "name": saved["name"],
        "user_id": "ann",
        "created_at": saved["created_at"],
        "size_bytes": saved["size_bytes"],
    }
    path.unlink()
    with database.session() as s:
        assert monitoring.history(s, "ann")[0]["size_bytes"] is None  # listed, but the file is gone
