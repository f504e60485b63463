"""Trading-bot-style clients' forecasts (POST /api/models/train, /api/predictions/*): each example
request answers the documented plain bodies; training needs a caller and obeys model ownership, waits
in the job queue (or is a 503) when resources are short; another user's prediction is a 404 like an
unknown one; bad input is a 4xx whose ``detail`` names the problem and trains or queues nothing."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from pipelines.jobs import PsutilProbe
from tests.contract.test_trading_bot_examples import MODEL_KEYS
from tests.serving_support import app_client, assert_envelope, make_user, served_settings, wait_for_job

STEPS = 4
MINUTE_MODEL = f"ETH_USDT_1m_{STEPS}steps_multi_ohlc"
TRAIN = {"symbol": "ETH_USDT", "timeframe": "1m", "n_steps_ahead": STEPS, "days_history": 2}
FORECAST_KEYS = {
    "timestamp",
    "current_price",
    "predictions",
    "smoothness_score",
    "model_trained",
    "model_name",
    "model_age_days",
}
STEP_KEYS = {
    "step",
    "minutes_ahead",
    "predicted_open",
    "predicted_high",
    "predicted_low",
    "predicted_close",
    "predicted_return",
    "confidence",
    "timestamp",
}
TINY = {"n_estimators": 10, "num_leaves": 7, "target_components": 2}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = served_settings(
        tmp_path_factory.mktemp("forecasts") / "home",
        forecast_steps=STEPS,
        forecast_days_history=20,
        forecast_params=TINY,
        provider_max_retries=0,
        provider_backoff_seconds=0,
    )
    with app_client(settings) as c:
        yield c


@pytest.fixture(scope="module")
def owner(bot: Any) -> dict[str, Any]:
    return make_user(bot)


@pytest.fixture(scope="module")
def trained(bot: Any, owner: dict[str, Any]) -> dict[str, Any]:
    """The document's training example (at 4 steps, on 2 days of 1m bars), trained at once."""
    answer = bot.post("/api/models/train", json=TRAIN, headers=owner["headers"])
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def short_of_ram(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine reports 50 MB of RAM available: the job queue starts nothing."""
    monkeypatch.setattr(PsutilProbe, "available_ram_gb", lambda self: 0.05)


def _names(bot: Any) -> list[str]:
    return [m["name"] for m in bot.get("/api/models/").json()]


def test_train_example_answers_the_catalogue_row(bot: Any, trained: dict[str, Any]) -> None:
    assert set(trained) == MODEL_KEYS
    assert (trained["name"], trained["type"], trained["symbol"]) == (MINUTE_MODEL, "multi_ohlc", "ETH_USDT")
    assert (trained["timeframe"], trained["n_steps_ahead"]) == ("1m", STEPS)
    assert trained["model_size_kb"] > 1 and set(trained["performance"]) >= {"val_r2", "train_rmse"}
    assert bot.get(f"/api/models/{MINUTE_MODEL}").json() == trained


def test_training_needs_a_caller_who_owns_the_model(bot: Any, trained: dict[str, Any]) -> None:
    assert_envelope(bot.post("/api/models/train", json=TRAIN), 401, "UNAUTHORIZED")
    stranger = make_user(bot)
    body = assert_envelope(
        bot.post("/api/models/train", json=TRAIN, headers=stranger["headers"]), 403, "FORBIDDEN"
    )
    assert MINUTE_MODEL in body["detail"]


def test_forecast_example(bot: Any, trained: dict[str, Any]) -> None:
    answer = bot.get("/api/predictions/?symbol=ETH_USDT&timeframe=1m&auto_train=true")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == FORECAST_KEYS
    assert (body["model_name"], body["model_trained"]) == (MINUTE_MODEL, False)
    assert 0 <= body["model_age_days"] < 0.1 and 0 < body["smoothness_score"] <= 1
    steps = body["predictions"]
    assert [s["step"] for s in steps] == list(range(1, STEPS + 1)) and all(set(s) == STEP_KEYS for s in steps)
    latest = pd.Timestamp(body["timestamp"])
    for s in steps:
        assert s["minutes_ahead"] == s["step"]
        assert pd.Timestamp(s["timestamp"]) == latest + pd.Timedelta(minutes=s["step"])
        assert s["predicted_return"] == pytest.approx(s["predicted_close"] / body["current_price"] - 1)
        assert 0 <= s["confidence"] <= 1
        assert all(math.isfinite(s[k]) and s[k] > 0 for k in ("predicted_open", "predicted_high"))


def test_auto_train_trains_a_missing_model_for_a_caller_only(bot: Any, owner: dict[str, Any]) -> None:
    url = "/api/predictions/?symbol=BTC_USDT&timeframe=1h"
    body = assert_envelope(bot.get(url), 401, "UNAUTHORIZED")
    assert f"BTC_USDT_1h_{STEPS}steps_multi_ohlc" in body["detail"] and "sign" in body["detail"]
    first = bot.get(url, headers=owner["headers"])
    assert first.status_code == 200, first.text
    assert first.json()["model_trained"] is True and first.json()["model_age_days"] == 0
    again = bot.get(url).json()  # fresh now: anyone is served without training
    assert again["model_trained"] is False and again["model_name"] == f"BTC_USDT_1h_{STEPS}steps_multi_ohlc"
    assert len(again["predictions"]) == STEPS
    missing = assert_envelope(
        bot.get("/api/predictions/?symbol=SOL_USDT&timeframe=1h&auto_train=false"), 404, "NOT_FOUND"
    )
    assert "SOL_USDT 1h" in missing["detail"] and "auto_train" in missing["detail"]


def test_short_resources_queue_training_or_answer_503(
    bot: Any, owner: dict[str, Any], trained: dict[str, Any], short_of_ram: None
) -> None:
    before = _names(bot)
    url = "/api/predictions/?symbol=ETH_USDT&timeframe=1m&force_retrain=true"
    busy = assert_envelope(bot.get(url, headers=owner["headers"]), 503, "SERVICE_UNAVAILABLE")
    assert "Insufficient RAM" in busy["detail"] and MINUTE_MODEL in busy["detail"]
    queued = bot.post("/api/models/train", json=TRAIN, headers=owner["headers"])
    assert queued.status_code == 202, queued.text
    body = queued.json()
    assert set(body) == {"status", "task_id", "queue_position", "reason", "message"}
    assert body["status"] == "queued" and body["queue_position"] == 1
    assert "Insufficient RAM" in body["reason"] and body["message"].endswith("Position in queue: 1")
    job = bot.get(f"/api/v1/jobs/{body['task_id']}", headers=owner["headers"]).json()
    assert job["task_type"] == "training" and job["params"]["model_name"] == MINUTE_MODEL
    cancelled = bot.post(f"/api/v1/jobs/{body['task_id']}/cancel", headers=owner["headers"])
    assert cancelled.json()["status"] == "cancelled"
    assert _names(bot) == before


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"n_steps_ahead": 0}, ["n_steps_ahead", "1 to 500", "got 0"]),
        ({"n_steps_ahead": 100_000}, ["n_steps_ahead", "1 to 500", "got 100000"]),
        ({"timeframe": "2h"}, ["timeframe '2h'", "1h"]),
        ({"days_history": 3000}, ["days_history 3000", "max_bars_per_request"]),
    ],
)
def test_bad_training_input_is_a_400_that_trains_and_queues_nothing(
    bot: Any, owner: dict[str, Any], fields: dict[str, Any], words: list[str]
) -> None:
    before = _names(bot), bot.get("/api/v1/jobs/", headers=owner["headers"]).json()["count"]
    answer = bot.post("/api/models/train", json={**TRAIN, **fields}, headers=owner["headers"])
    body = assert_envelope(answer, 400, "INVALID_REQUEST")
    assert all(w in body["detail"] for w in words), body["detail"]
    assert (_names(bot), bot.get("/api/v1/jobs/", headers=owner["headers"]).json()["count"]) == before


def test_bad_forecast_input_is_a_4xx(bot: Any, owner: dict[str, Any]) -> None:
    body = assert_envelope(bot.get("/api/predictions/?symbol=ETH$USDT&timeframe=1m"), 400, "INVALID_SYMBOL")
    assert "ETH$USDT" in body["detail"]
    body = assert_envelope(bot.get("/api/predictions/?symbol=ETH_USDT&timeframe=7m"), 400, "INVALID_REQUEST")
    assert "timeframe '7m'" in body["detail"]
    assert_envelope(bot.get("/api/predictions/stream?symbol=ETH_USDT&timeframe=7m"), 400, "INVALID_REQUEST")
    generate = bot.post("/api/predictions/generate?symbol=ETH_USDT&timeframe=7m", headers=owner["headers"])
    assert_envelope(generate, 400, "INVALID_REQUEST")
    assert bot.get("/api/predictions/list", headers=owner["headers"]).json() == []


def test_generate_list_and_get_are_the_callers_own(bot: Any, trained: dict[str, Any]) -> None:
    alice, bob = make_user(bot), make_user(bot)
    assert_envelope(bot.post("/api/predictions/generate?symbol=ETH_USDT&timeframe=1m"), 401, "UNAUTHORIZED")
    answer = bot.post(
        "/api/predictions/generate?symbol=ETH_USDT&timeframe=1m&auto_train=true", headers=alice["headers"]
    )
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    pid = accepted["prediction_id"]
    assert accepted["status"] in ("running", "queued") and f"/api/predictions/{pid}" in accepted["message"]
    assert wait_for_job(bot, pid, alice["headers"])["status"] == "completed"
    result = bot.get(f"/api/predictions/{pid}", headers=alice["headers"]).json()
    assert set(result) >= FORECAST_KEYS and result["status"] == "completed"
    assert (result["prediction_id"], result["model_name"], len(result["predictions"])) == (
        pid,
        MINUTE_MODEL,
        STEPS,
    )
    listed = bot.get("/api/predictions/list", headers=alice["headers"]).json()
    assert [(r["id"], r["symbol"], r["timeframe"], r["status"]) for r in listed] == [
        (pid, "ETH_USDT", "1m", "completed")
    ]
    assert listed[0]["created_at"].endswith("Z")
    theirs = assert_envelope(bot.get(f"/api/predictions/{pid}", headers=bob["headers"]), 404, "NOT_FOUND")
    unknown = assert_envelope(
        bot.get("/api/predictions/no-such-id", headers=bob["headers"]), 404, "NOT_FOUND"
    )
    assert theirs["detail"] == f"no prediction with id {pid!r}" and "no-such-id" in unknown["detail"]
    assert bot.get("/api/predictions/list", headers=bob["headers"]).json() == []


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_stream_reports_each_step_then_completes(bot: Any, trained: dict[str, Any]) -> None:
    answer = bot.get("/api/predictions/stream?symbol=ETH_USDT&timeframe=1m")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = _events(answer.text)
    kinds = [kind for kind, _ in events]
    assert kinds == ["status"] * 4 + ["complete"], kinds
    assert [data["step"] for _, data in events[:4]] == ["check", "fetch", "train", "predict"]
    assert all(data["status"] == "in-progress" and data["title"] for _, data in events[:4])
    final = events[-1][1]
    assert final["model_name"] == MINUTE_MODEL and len(final["predictions"]) == STEPS
    failing = _events(bot.get("/api/predictions/stream?symbol=BTC_USDT&timeframe=1d").text)
    assert [kind for kind, _ in failing] == ["status"] * 3 + ["error"]  # check, fetch, train: no caller
    assert (
        failing[-1][1]["code"] == "UNAUTHORIZED" and f"BTC_USDT_1d_{STEPS}steps" in failing[-1][1]["message"]
    )
