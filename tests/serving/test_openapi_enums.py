"""The spec states what the server accepts: every string choice the server validates is an enum (or a
pattern) in the spec, every listed value is accepted by the server's own parser, values outside them
are 400s, and booleans are JSON booleans only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from pipelines.backtest.strategies import class_style, get_strategy, list_strategies
from pipelines.data.market import INTERVALS, PERIODS
from pipelines.data.providers import normalize_source
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import TIMEFRAMES, parse_timeframe
from pipelines.db.job_models import JOB_STATUSES
from pipelines.features.sets import FEATURE_SETS
from pipelines.models.base import ModelKind
from pipelines.models.summaries import STATUSES, query_models
from pipelines.webhooks.events import EVENTS
from tests.serving_support import app_client, assert_envelope, make_user, served_settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    with app_client(served_settings(tmp_path_factory.mktemp("enums") / "home")) as c:
        yield c


@pytest.fixture(scope="module")
def spec(client: TestClient[Any]) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/openapi.json").json()
    return body


def _field(spec: dict[str, Any], schema: str, name: str) -> dict[str, Any]:
    field: dict[str, Any] = spec["components"]["schemas"][schema]["properties"][name]
    return field


def _enum(spec: dict[str, Any], schema: str, name: str) -> set[Any]:
    return set(_field(spec, schema, name)["enum"]) - {None}


def _query_enum(spec: dict[str, Any], path: str, name: str) -> set[Any]:
    params = spec["paths"][path]["get"]["parameters"]
    return set(next(p for p in params if p["name"] == name)["schema"]["enum"]) - {None}


def test_body_choices_are_enums_the_server_accepts(spec: dict[str, Any]) -> None:
    assert _enum(spec, "Train", "model_type") == {k.value for k in ModelKind}
    assert _enum(spec, "WalkForward", "model_type") == {k.value for k in ModelKind}
    assert _enum(spec, "Train", "feature_set") == set(FEATURE_SETS)
    names = {s["name"] for s in list_strategies()}
    strategies = names | {class_style(n) for n in names}
    assert {"ml_predictive", "MLPredictive", "sma_cross", "SmaCross"} <= strategies
    assert _enum(spec, "BacktestRun", "strategy") == strategies == _enum(spec, "StrategySpec", "strategy")
    assert _enum(spec, "WalkForward", "mode") == {"rolling", "expanding"}
    for schema in (
        "Train",
        "Predict",
        "SignalPredict",
        "BatchPredict",
        "BacktestRun",
        "Compare",
        "WalkForward",
    ):
        timeframes = _enum(spec, schema, "timeframe")
        assert set(TIMEFRAMES) <= timeframes, schema
        assert all(parse_timeframe(t) for t in timeframes)
    for schema in ("Train", "BacktestRun", "WalkForward"):
        assert all(normalize_source(s) for s in _enum(spec, schema, "source")), schema
    assert all(get_strategy(s) for s in strategies if s not in ("ml_predictive", "MLPredictive"))
    events = spec["components"]["schemas"]["WebhookCreate"]["properties"]["events"]["items"]["enum"]
    assert set(events) == set(EVENTS)
    for schema, name in (("Train", "async"), ("Train", "gpu_enabled"), ("BacktestRun", "allow_short")):
        assert _enum(spec, schema, name) == {True, False}, (schema, name)


def test_names_and_symbols_have_patterns_the_server_agrees_with(spec: dict[str, Any]) -> None:
    model_name = re.compile(_field(spec, "Train", "model_name")["pattern"])
    symbol = re.compile(_field(spec, "BacktestRun", "symbol")["pattern"])
    for good in ("lgbm_aapl", "v1.2-final"):
        assert model_name.fullmatch(good)
    for bad in ("nl model", "a/b", ""):
        assert not model_name.fullmatch(bad)
    for good in ("AAPL", "^GSPC", "EURUSD=X", "BTC/USDT", "btc_usdt", "BRK.B"):
        assert symbol.fullmatch(good) and parse_symbol(good)
    for bad in ("SPY\n", " SPY", "", "A B"):
        assert not symbol.fullmatch(bad)
    key_name = re.compile(_field(spec, "ApiKeyCreate", "name")["pattern"])
    assert key_name.fullmatch("trading bot") and not key_name.fullmatch("bot\n")
    assert not key_name.fullmatch(" bot")


def test_query_filters_are_enums(spec: dict[str, Any]) -> None:
    assert _query_enum(spec, "/api/v1/jobs", "status") == set(JOB_STATUSES)
    assert "training" in _query_enum(spec, "/api/v1/jobs", "kind")
    assert _query_enum(spec, "/api/v1/models", "status") == set(STATUSES)
    for category in _query_enum(spec, "/api/v1/models", "category"):
        query_models([], category=category)  # accepted by the server's own check
    assert _query_enum(spec, "/datasets", "sort_by") == {"name", "created_at", "size"}
    assert _query_enum(spec, "/datasets", "order") == {"asc", "desc"}
    assert _query_enum(spec, "/api/v1/market/history/{symbol}", "period") == set(PERIODS)
    assert _query_enum(spec, "/api/v1/market/history/{symbol}", "interval") == set(INTERVALS)


def test_values_outside_the_spec_are_400s(client: TestClient[Any]) -> None:
    user = make_user(client)
    h = user["headers"]
    for query in ("status=bogus", "kind=bogus", "status=Queued"):
        assert_envelope(client.get(f"/api/v1/jobs?{query}", headers=h), 400, "VALIDATION_ERROR")
    assert client.get("/api/v1/jobs?status=queued", headers=h).status_code == 200
    assert_envelope(client.get("/api/v1/models?status=bogus", headers=h), 400, "VALIDATION_ERROR")
    train = {"model_type": "simple", "symbol": "AAPL"}
    for bad in ({"async": 0}, {"async": 1}, {"async": "true"}, {"gpu_enabled": 0}, {"timeframe": "3d"}):
        answer = client.post("/api/v1/models/train", json={**train, **bad}, headers=h)
        assert_envelope(answer, 400, "VALIDATION_ERROR")
        assert next(iter(bad)) in answer.text
    backtest = {"symbol": "AAPL", "strategy": "sma_cross", "allow_short": 1}
    assert_envelope(client.post("/api/v1/backtest/run", json=backtest, headers=h), 400, "VALIDATION_ERROR")
    assert client.get("/api/v1/jobs", headers=h).json()["count"] == 0  # nothing was queued


def test_the_job_list_refuses_an_unknown_status_in_the_core(tmp_path: Path) -> None:
    from pipelines.app.jobs import default_tasks
    from pipelines.db import open_database
    from pipelines.errors import InvalidRequestError
    from pipelines.jobs import JobQueue
    from tests.jobs.conftest import Who

    settings = served_settings(tmp_path / "home")
    database = open_database(settings)
    queue = JobQueue(settings, database, default_tasks())
    try:
        with pytest.raises(InvalidRequestError, match="unknown status 'bogus'"):
            queue.list_jobs(Who("ann"), status="bogus")
        assert queue.list_jobs(Who("ann"), status="queued") == []
    finally:
        queue.close()
        database.close()
