"""Webhooks through the API: register, receive real signed deliveries on a local server, the log."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pipelines.webhooks import SIGNATURE_HEADER, verify_signature
from tests.serving_support import app_client, assert_envelope, make_user, served_settings
from tests.webhooks.support import running_receiver


def test_loopback_urls_are_refused_by_default(client: Any) -> None:
    user = make_user(client)
    body = {"url": "http://127.0.0.1:9/hook", "events": ["training.finished"]}
    err = assert_envelope(
        client.post("/api/v1/webhooks", json=body, headers=user["headers"]), 400, "INVALID_REQUEST"
    )
    assert "127.0.0.1" in err["error"]["message"]
    bad_event = {"url": "https://example.com/hook", "events": ["nope.happened"]}
    err = assert_envelope(  # not one of the events the spec lists
        client.post("/api/v1/webhooks", json=bad_event, headers=user["headers"]), 400, "VALIDATION_ERROR"
    )
    assert "nope.happened" in err["error"]["message"]


def test_training_events_arrive_signed(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", webhook_allow_private_urls=True)
    with running_receiver() as receiver, app_client(settings) as c:
        alice, bob = make_user(c), make_user(c)
        created = c.post(
            "/api/v1/webhooks",
            json={"url": receiver.url(), "events": ["training.started", "training.finished"]},
            headers=alice["headers"],
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook["secret"]
        listed = c.get("/api/v1/webhooks", headers=alice["headers"]).json()
        assert listed["count"] == 1 and "secret" not in listed["webhooks"][0]
        assert c.get("/api/v1/webhooks", headers=bob["headers"]).json()["count"] == 0

        trained = c.post(
            "/api/v1/models/train",
            json={"model_type": "simple", "model_name": "hooked", "symbol": "AAPL"},
            headers=alice["headers"],
        )
        assert trained.status_code == 200, trained.text
        got = receiver.wait_for(2, timeout=20)
        events = [r.headers["X-Tradeforge-Event"] for r in got]
        assert events == ["training.started", "training.finished"]
        for r in got:
            verify_signature(secret, r.headers[SIGNATURE_HEADER], r.body)
        finished = json.loads(got[1].body)
        assert finished["event"] == "training.finished" and finished["data"]["model_name"] == "hooked"

        deadline = time.monotonic() + 15  # the receiver answers before the dispatcher records it
        while True:
            log = c.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=alice["headers"]).json()
            if {d["status"] for d in log["deliveries"]} == {"delivered"} or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert log["count"] == 2 and {d["status"] for d in log["deliveries"]} == {"delivered"}
        assert_envelope(
            c.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=bob["headers"]), 403, "FORBIDDEN"
        )
        assert_envelope(c.delete(f"/api/v1/webhooks/{hook['id']}", headers=bob["headers"]), 403, "FORBIDDEN")
        assert c.delete(f"/api/v1/webhooks/{hook['id']}", headers=alice["headers"]).status_code == 200
        assert c.get("/api/v1/webhooks", headers=alice["headers"]).json()["count"] == 0
