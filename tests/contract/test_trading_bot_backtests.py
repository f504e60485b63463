"""Trading-bot-style clients' backtests (/api/backtests/run, /, /{id}, /stream): the document's
examples run as jobs of the ``backtest`` kind and read back with the blocks /api/v1/backtest gives for
the same inputs; a failed run carries its error; a caller sees only their own; bad input is a 4xx
that queues nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.app.train import train_model
from pipelines.models.tracking import open_tracker
from pipelines.models.training import plan_training
from pipelines.settings import Settings
from serving.schemas.botapi_backtest_examples import RUN_BODY
from tests.serving_support import app_client, assert_envelope, make_user, served_settings, wait_for_job

MODEL = "ETH_USDT_1d_returns"
RUN = {**RUN_BODY, "params": {**RUN_BODY["params"], "model_path": MODEL}}
RECORD_KEYS = {
    "id",
    "status",
    "strategy",
    "symbol",
    "timeframe",
    "start_date",
    "end_date",
    "initial_capital",
    "created_at",
}
PERFORMANCE = {"total_return", "sharpe_ratio", "max_drawdown", "win_rate", "sortino_ratio", "calmar_ratio"}
TRADING = {  # the trading block's field -> the /api/v1 metric
    "total_trades": "num_trades",
    "winning_trades": "winning_trades",
    "losing_trades": "losing_trades",
    "avg_win": "avg_win",
    "avg_loss": "avg_loss",
    "avg_trade_duration": "avg_trade_duration",
    "profit_factor": "profit_factor",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home whose providers never retry, with a linear model of ETH/USDT's daily returns."""
    settings = served_settings(
        tmp_path_factory.mktemp("botbacktests") / "home", provider_max_retries=0, provider_backoff_seconds=0
    )
    request = plan_training(
        settings,
        model_type="simple",
        model_name=MODEL,
        symbol="ETH/USDT",
        timeframe="1d",
        start="2023-01-01",
        end="2024-12-01",
    )
    train_model(settings, request, open_tracker(settings))
    return settings


@pytest.fixture(scope="module")
def bot(home: Settings) -> Iterator[Any]:
    with app_client(home) as c:
        yield c


@pytest.fixture(scope="module")
def owner(bot: Any) -> dict[str, Any]:
    return make_user(bot)


@pytest.fixture(scope="module")
def finished(bot: Any, owner: dict[str, Any]) -> dict[str, Any]:
    """The document's run example (its model named as ours), queued and waited for: its answer."""
    answer = bot.post("/api/backtests/run", json=RUN, headers=owner["headers"])
    assert answer.status_code == 200, answer.text
    started: dict[str, Any] = answer.json()
    job = wait_for_job(bot, started["backtest_id"], owner["headers"])
    assert job["status"] == "completed", job
    return started


@pytest.fixture(scope="module")
def admin(bot: Any) -> dict[str, Any]:
    return make_user(bot, role="admin")


def _job_count(bot: Any, admin: dict[str, Any]) -> int:
    count: int = bot.get("/api/v1/jobs", headers=admin["headers"]).json()["count"]
    return count


def test_run_example_is_queued_and_reads_back_as_the_v1_backtest(
    bot: Any, owner: dict[str, Any], finished: dict[str, Any]
) -> None:
    assert finished["status"] in ("queued", "running") and finished["task_id"] == finished["backtest_id"]
    assert finished["message"].startswith("Backtest")
    record = bot.get(f"/api/backtests/{finished['backtest_id']}").json()  # no caller: not theirs
    assert record["detail"] == f"no backtest with id {finished['backtest_id']!r}"
    record = bot.get(f"/api/backtests/{finished['backtest_id']}", headers=owner["headers"]).json()
    assert set(record) == RECORD_KEYS | {"performance", "trading", "benchmark", "significance"}
    assert set(record["performance"]) == PERFORMANCE and set(record["trading"]) == set(TRADING)
    assert (record["status"], record["strategy"], record["symbol"]) == ("success", "MLPredictive", "ETH_USDT")
    assert (record["start_date"], record["end_date"]) == ("2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z")
    v1 = {
        "symbol": "ETH_USDT",
        "strategy": "ml_predictive",
        "params": {"model_name": MODEL, "position_size": 0.1, "stop_loss_pct": 0.02},
        "start_date": RUN["start_date"],
        "end_date": RUN["end_date"],
        "initial_capital": 10000.0,
    }
    sync = bot.post("/api/v1/backtest/run", json=v1, headers=owner["headers"])
    assert sync.status_code == 200, sync.text
    metrics = sync.json()["metrics"]
    assert record["performance"] == {k: metrics[k] for k in PERFORMANCE}
    assert record["trading"] == {k: metrics[m] for k, m in TRADING.items()}
    assert metrics["num_trades"] > 0
    # beside the documented blocks: the same benchmark and significance as /api/v1's answer
    assert (
        record["benchmark"] == sync.json()["benchmark"]
        and record["significance"] == sync.json()["significance"]
    )
    assert record["benchmark"]["symbol"] == "ETH/USDT" and record["benchmark"]["verdict"]
    assert record["significance"]["observations"] > 0 and 0.0 <= record["significance"]["psr_vs_zero"] <= 1.0
    listed = bot.get("/api/backtests/", headers=owner["headers"]).json()
    assert record in listed


def test_a_failed_run_carries_its_error_instead_of_the_blocks(bot: Any, owner: dict[str, Any]) -> None:
    one_day = {
        "strategy": "SmaCross",
        "symbol": "ETH_USDT",
        "start_date": "2025-01-01",
        "end_date": "2025-01-01T12:00:00Z",  # one daily bar: nothing to trade, found when it runs
    }
    started = bot.post("/api/backtests/run", json=one_day, headers=owner["headers"]).json()
    job = wait_for_job(bot, started["backtest_id"], owner["headers"])
    assert job["status"] == "failed", job
    record = bot.get(f"/api/backtests/{started['backtest_id']}", headers=owner["headers"]).json()
    assert record["status"] == "failed" and "nothing to trade" in record["error"]
    assert not {"performance", "trading", "benchmark", "significance"} & set(record)
    assert record in bot.get("/api/backtests/", headers=owner["headers"]).json()


def test_a_caller_sees_only_their_own_backtests(
    bot: Any, owner: dict[str, Any], admin: dict[str, Any], finished: dict[str, Any]
) -> None:
    other = make_user(bot)
    url = f"/api/backtests/{finished['backtest_id']}"
    body = assert_envelope(bot.get(url, headers=other["headers"]), 404, "NOT_FOUND")
    assert finished["backtest_id"] in body["detail"]
    assert_envelope(bot.get("/api/backtests/no-such-id", headers=owner["headers"]), 404, "NOT_FOUND")
    assert bot.get("/api/backtests/", headers=other["headers"]).json() == []
    assert bot.get("/api/backtests/").json() == []  # anonymous callers own none
    assert bot.get(url, headers=admin["headers"]).json()["id"] == finished["backtest_id"]
    mine = {r["id"] for r in bot.get("/api/backtests/", headers=owner["headers"]).json()}
    assert finished["backtest_id"] in mine
    assert_envelope(bot.post("/api/backtests/run", json=RUN), 401, "UNAUTHORIZED")


_SPAN = {"start_date": "2025-01-01", "end_date": "2025-01-15"}


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (
            {"strategy": "Momentum", "symbol": "ETH_USDT"},
            400,
            "INVALID_REQUEST",
            ["unknown strategy 'Momentum'"],
        ),
        ({"strategy": "SmaCross", "symbol": "ZZZZ", **_SPAN}, 404, "NOT_FOUND", ["ZZZZ", "yfinance"]),
        (
            {"strategy": "SmaCross", "symbol": "ETH_USDT", "timeframe": "2h"},
            400,
            "INVALID_REQUEST",
            ["timeframe '2h'", "1h"],
        ),
        (
            {
                "strategy": "SmaCross",
                "symbol": "ETH_USDT",
                "start_date": "2025-02-01",
                "end_date": "2025-01-01",
            },
            400,
            "INVALID_REQUEST",
            ["start_date 2025-02-01 must be before end_date 2025-01-01"],
        ),
        (
            {"strategy": "SmaCross", "symbol": "ETH_USDT", "timeframe": "1m", "start_date": "2020-01-01"},
            400,
            "INVALID_REQUEST",
            ["max_bars_per_request"],
        ),
        (
            {**RUN, "params": {"model_path": "ETH_USDT_1m_300steps_multi_ohlc"}},
            404,
            "NOT_FOUND",
            ["ETH_USDT_1m_300steps_multi_ohlc"],
        ),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem_and_queues_nothing(
    bot: Any,
    owner: dict[str, Any],
    admin: dict[str, Any],
    offline_yahoo: list[str],
    body: dict[str, Any],
    status: int,
    code: str,
    words: list[str],
) -> None:
    before = _job_count(bot, admin)
    answer = assert_envelope(
        bot.post("/api/backtests/run", json=body, headers=owner["headers"]), status, code
    )
    assert all(w in answer["detail"] for w in words), answer["detail"]
    query = {**body, "params": json.dumps(body.get("params", {}))}
    streamed = assert_envelope(bot.get("/api/backtests/stream", params=query), status, code)
    assert streamed["detail"] == answer["detail"]
    assert _job_count(bot, admin) == before


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_stream_yields_progress_then_the_result(bot: Any, owner: dict[str, Any]) -> None:
    params = {"fast": 5, "slow": 10, "position_size": 0.5}  # the last one is the backtest's setting
    query = {
        "strategy": "SmaCross",
        "symbol": "ETH_USDT",
        "start_date": "2024-06-01T00:00:00Z",
        "end_date": "2024-09-01T00:00:00Z",
        "initial_capital": "5000.0",
        "params": json.dumps(params),
    }
    answer = bot.get("/api/backtests/stream", params=query, headers=owner["headers"])
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = _events(answer.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "complete" and set(kinds[:-1]) == {"status"}
    progress = [e["progress"] for _, e in events[:-1]]
    assert progress == sorted(progress) and any(e["step"] == "run" for _, e in events[:-1])
    result = events[-1][1]
    assert result["status"] == "success" and result["strategy"] == "SmaCross"
    assert result == bot.get(f"/api/backtests/{result['id']}", headers=owner["headers"]).json()
    v1 = {
        "symbol": "ETH_USDT",
        "strategy": "SmaCross",  # /api/v1 takes either spelling too
        "params": {"fast": 5, "slow": 10},
        "position_size": 0.5,
        "initial_capital": 5000.0,
        "start_date": query["start_date"],
        "end_date": query["end_date"],
    }
    sync = bot.post("/api/v1/backtest/run", json=v1, headers=owner["headers"]).json()
    assert sync["strategy"] == "sma_cross"
    metrics = sync["metrics"]
    assert result["performance"] == {k: metrics[k] for k in PERFORMANCE}
    assert result["trading"] == {k: metrics[m] for k, m in TRADING.items()}
    assert metrics["num_trades"] > 1
    anonymous = bot.get("/api/backtests/stream", params=query)
    assert _events(anonymous.text)[-1][1]["performance"] == result["performance"]
