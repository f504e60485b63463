"""Bounded work per request through the API: limits checked before anything is fetched or stored,
bad input answered 4xx naming the field, downsampled answers, and a server that keeps answering
probes while a maximal backtest runs."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.app.accounts import register_user
from pipelines.settings import Settings
from serving.app import create_app
from serving.jsondepth import json_depth
from tests.serving_support import (
    PASSWORD,
    app_client,
    assert_envelope,
    make_user,
    served_settings,
    uvicorn_thread,
)

RUN = "/api/v1/backtest/run"
WALK = "/api/v1/backtest/walk-forward"
SMA = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}}
# A pair outside the universe, asked for on synthetic bars explicitly (no data is read before the checks).
SOL = {"symbol": "SOL/USDT", "source": "synthetic"}


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str], Settings]]:
    """An app on an empty home (no models, no bars) and a user's headers."""
    settings = served_settings(tmp_path_factory.mktemp("bounds") / "home")
    with app_client(settings) as client:
        yield client, make_user(client)["headers"], settings


def _files(settings: Settings) -> set[Path]:
    market = settings.market_dir
    return set(market.rglob("*")) if market.exists() else set()


DEEP = "DEEP"  # stands for a value nested 1,000 levels deep, spliced into the raw JSON body


def _raw(body: dict[str, Any]) -> bytes:
    """The body as JSON text; a ``DEEP`` value becomes {"a": {"a": ...}} 1,000 levels deep (which
    no JSON encoder writes from a nested dict: they recurse)."""
    text = json.dumps(body).replace('"DEEP"', '{"a":' * 1000 + "{}" + "}" * 1000)
    return text.replace('"SOMEWHAT_DEEP"', '{"a":' * 12 + "1" + "}" * 12).encode()


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        (RUN, {"symbol": "AAPL", **SMA, "start_date": "0001-01-01"}, "INVALID_REQUEST", "start_date"),
        (RUN, {"symbol": "AAPL", **SMA, "end_date": "9999-12-31"}, "INVALID_REQUEST", "end_date"),
        (RUN, {"symbol": "AAPL", **SMA, "start_date": "2024-02-01", "end_date": "2024-01-01"},
         "INVALID_REQUEST", "start_date"),
        (RUN, {**SOL, **SMA, "timeframe": "1m", "start_date": "1900-01-01"},
         "INVALID_REQUEST", "max_bars_per_request"),
        (RUN, {**SOL, **SMA, "timeframe": "1m", "start_date": "2020-01-01", "async": True},
         "INVALID_REQUEST", "max_bars_per_request"),
        (RUN, {"symbol": "AAPL", "strategy": "sma_cross", "params": DEEP}, "VALIDATION_ERROR",
         "params"),
        ("/api/v1/backtest/compare", {**SOL, "timeframe": "1m", "start_date": "2019-01-01",
         "strategies": [SMA]}, "INVALID_REQUEST", "max_bars_per_request"),
        (RUN, {"symbol": "AAPL", "strategy": "sma_cross", "params": "SOMEWHAT_DEEP"}, "VALIDATION_ERROR",
         "params nests deeper than 8 levels"),
        (RUN, {"symbol": "AAPL", "strategy": "sma_cross", "params": {"x": [0] * 1001}}, "VALIDATION_ERROR",
         "params holds more than 1000 values"),
        ("/api/v1/backtest/compare", {"symbol": "AAPL", "strategies": [{"strategy": "sma_cross",
         "params": {"fast": "SOMEWHAT_DEEP"}}]}, "VALIDATION_ERROR", "params nests deeper than 8 levels"),
        ("/api/v1/backtest/compare", {**SOL, "timeframe": "1m", "start_date": "2024-01-01",
         "end_date": "2024-12-01", "strategies": [SMA] * 12}, "INVALID_REQUEST", "5 x max_bars_per_request"),
        (WALK, {**SOL, "model_type": "simple", "timeframe": "1h", "start_date": "2024-01-01",
         "end_date": "2025-01-01", "train_window": 300, "test_window": 2}, "INVALID_REQUEST",
         "max_walk_forward_folds"),
        (WALK, {**SOL, "model_type": "simple", "timeframe": "1h", "start_date": "2024-01-01",
         "end_date": "2025-01-01", "train_window": 300, "test_window": 2, "async": True}, "INVALID_REQUEST",
         "max_walk_forward_folds"),
        (WALK, {"symbol": "AAPL", "model_type": "simple", "parameters": DEEP}, "VALIDATION_ERROR",
         "parameters"),
        ("/api/v1/models/train", {"model_type": "simple", **SOL, "timeframe": "1m",
         "start_date": "2019-01-01"}, "INVALID_REQUEST", "max_bars_per_request"),
        ("/api/v1/models/train", {"model_type": "simple", "symbol": "AAPL", "start_date": "0001-01-01",
         "async": True}, "INVALID_REQUEST", "start_date"),
        ("/api/v1/models/train", {"model_type": "simple", "symbol": "AAPL", "parameters": DEEP},
         "VALIDATION_ERROR", "parameters"),
    ],
)  # fmt: skip
def test_bad_or_oversized_requests_are_4xx_and_write_nothing(
    bare: Any, path: str, body: dict[str, Any], code: str, field: str
) -> None:
    client, headers, settings = bare
    before = _files(settings)
    jobs = client.get("/api/v1/jobs", headers=headers).json()
    response = client.post(path, content=_raw(body), headers={**headers, "Content-Type": "application/json"})
    message = assert_envelope(response, 400, code)["error"]["message"]
    assert field in message
    assert _files(settings) == before  # nothing fetched or stored
    assert client.get("/api/v1/jobs", headers=headers).json() == jobs  # nothing queued


@pytest.mark.parametrize(
    ("body", "depth", "key"),
    [
        (b'{"symbol": "A", "params": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}", 41, "params"),
        (b'{"x": "[[[{{{", "y": {"z": [1, [2]]}}', 4, "y"),  # brackets inside strings do not count
        (rb'{"k\"[": "\\", "q": [[[[]]]]}', 5, "q"),  # escaped quotes and backslashes
        (b"[[[]]]", 3, None),
        (b"", 0, None),
    ],
)
def test_json_depth_is_measured_without_parsing(body: bytes, depth: int, key: str | None) -> None:
    assert json_depth(body) == (depth, key)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/datasets?page=4611686018427387904", "page"),
        ("/datasets?limit=4611686018427387904", "limit"),
        ("/api/v1/models?page=4611686018427387904", "page"),
        ("/api/v1/jobs?limit=4611686018427387904", "limit"),
    ],
)
def test_huge_page_numbers_are_a_400_naming_the_parameter(bare: Any, path: str, field: str) -> None:
    client, headers, _ = bare
    body = assert_envelope(client.get(path, headers=headers), 400, "VALIDATION_ERROR")
    assert field in body["error"]["message"]


def test_a_1900_start_within_the_limit_is_answered(bare: Any) -> None:
    """The earliest allowed date on a new daily symbol: its warm-up does not reach before 1900."""
    client, headers, _ = bare
    body = {
        "symbol": "XRP/USDT",
        "source": "synthetic",
        **SMA,
        "timeframe": "1d",
        "start_date": "1900-01-01",
        "end_date": "1995-01-01",
    }
    answer = client.post(RUN, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["period"]["start"] == "1900-01-01" and answer.json()["num_bars"] > 1000


def test_a_long_backtest_answers_a_downsampled_curve(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", max_response_points=300)
    with app_client(settings) as client:
        headers = make_user(client)["headers"]
        body = {"symbol": "BTC/USDT", **SMA, "timeframe": "1h", "start_date": "2024-01-01",
                "end_date": "2024-03-01"}  # fmt: skip
        answer = client.post(RUN, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        out = answer.json()
        assert out["num_bars"] == out["equity_curve_total_points"] == 60 * 24
        assert len(out["equity_curve"]) == out["equity_curve_points"] <= 300
        assert out["equity_curve_downsampled"] is True and "min-max" in out["equity_curve_method"]
        assert out["equity_curve"][-1][1] == out["final_equity"]
        assert out["trades_total"] == out["metrics"]["num_trades"]


@contextmanager
def _serve(settings: Settings) -> Iterator[tuple[Any, str]]:
    """The app on a real uvicorn server in a thread; yields its services and base URL."""
    app = create_app(settings)
    with uvicorn_thread(app) as port:
        yield app.state.container, f"http://127.0.0.1:{port}"


def test_health_keeps_answering_while_a_maximal_backtest_runs(tmp_path: Path) -> None:
    """A backtest at the bar limit (bars ingested on demand) runs off the event loop: /health answers
    fast all along. The limit is lowered so the test stays quick; the code path is the same."""
    limit = 300_000
    unlimited = {"free": None, "pro": None, "enterprise": None}  # the probes are anonymous
    settings = served_settings(tmp_path / "home", max_bars_per_request=limit, rate_limits=unlimited)
    days = (limit - 400) // 1440  # 1m crypto bars, with room for the warm-up
    start = dt.date(2025, 6, 1) - dt.timedelta(days=days)
    span = {"start_date": str(start), "end_date": "2025-06-01"}
    body = {"symbol": "BTC/USDT", **SMA, "timeframe": "1m", **span}
    with _serve(settings) as (services, base), httpx.Client(base_url=base, timeout=120) as http:
        with services.database.transaction() as session:
            register_user(session, "bounded", PASSWORD, tier="enterprise")
        login = http.post("/auth/login", json={"username": "bounded", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert http.get("/health").status_code == 200  # warm
        result: dict[str, Any] = {}

        def backtest() -> None:
            result["response"] = http.post(RUN, json=body, headers=headers)

        worker = threading.Thread(target=backtest)
        worker.start()
        latencies = []
        while worker.is_alive():
            began = time.perf_counter()
            assert http.get("/health").status_code == 200
            latencies.append(time.perf_counter() - began)
            time.sleep(0.02)
        worker.join()
    response = result["response"]
    assert response.status_code == 200, response.text
    assert response.json()["num_bars"] > limit * 0.9
    assert len(latencies) >= 5
    assert max(latencies) < 0.2, sorted(latencies)[-5:]
