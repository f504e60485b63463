"""Names with control characters or surrounding whitespace are refused by the API with a 400 naming
the field, and nothing is written."""

from __future__ import annotations

from typing import Any

from tests.serving_support import make_user


def test_control_characters_in_names_are_400s_naming_the_field(client: Any) -> None:
    user = make_user(client)
    h = user["headers"]
    tracker = client.app.state.container.registry.tracker
    before = dict(tracker.list_models())
    train = {"model_type": "simple", "model_name": "nl_model\n", "symbol": "AAPL"}
    trained = client.post("/api/v1/models/train", json=train, headers=h)
    assert trained.status_code == 400 and "model_name" in trained.text, trained.text
    assert dict(tracker.list_models()).keys() == before.keys()

    body = {"symbol": "SPY\n", "strategy": "sma_cross"}
    answer = client.post("/api/v1/backtest/run", json=body, headers=h)
    assert answer.status_code == 400 and "symbol" in answer.text, answer.text

    key = client.post("/api/v1/auth/keys", json={"name": "bot\n"}, headers=h)
    assert key.status_code == 400 and "name" in key.text, key.text
    assert client.get("/api/v1/auth/keys", headers=h).json()["count"] == 0

    data = {"name": "my data\n", "dataset_type": "classification"}
    upload = client.post(
        "/datasets/upload", files={"file": ("d.csv", b"a,label\n1,0\n")}, data=data, headers=h
    )
    assert upload.status_code == 400 and "name" in upload.text, upload.text
