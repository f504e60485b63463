"""/api/config through the real app: defaults, partial updates, refusals that change nothing,
overlapping updates, each user their own configuration, both kinds of credentials."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving.schemas import status_examples as ex
from tests.serving_support import app_client, assert_envelope, make_user, served_settings

DEFAULTS = ex.CONFIG["data"]  # the documented example is the defaults


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with app_client(served_settings(Path(tmp_path_factory.mktemp("config")) / "home")) as c:
        yield c


def _config(app: Any, headers: dict[str, str]) -> dict[str, Any]:
    answer = app.get("/api/config", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success" and body["timestamp"].endswith("Z")
    return dict(body["data"])


def test_defaults_then_partial_update_lists_changed_fields(app: Any) -> None:
    alice, bob = make_user(app), make_user(app)
    assert _config(app, alice["headers"]) == DEFAULTS
    patch = {
        "trading": {"max_position_size": "2000.00", "daily_loss_limit": "200.00", "enabled": True},
        "dca": {"max_attempts": 7, "base_volume": "150.00"},
    }
    answer = app.put("/api/config", json=patch, headers=alice["headers"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {
        "message": "Configuration updated successfully",
        "updated_fields": [  # trading.enabled was already true
            "trading.max_position_size",
            "trading.daily_loss_limit",
            "dca.max_attempts",
            "dca.base_volume",
        ],
    }
    after = _config(app, alice["headers"])
    assert after["trading"]["max_position_size"] == "2000.00" and after["dca"]["max_attempts"] == 7
    assert after["risk"] == DEFAULTS["risk"]
    assert _config(app, bob["headers"]) == DEFAULTS  # each user their own
    again = app.put("/api/config", json={"dca": {"max_attempts": 7}}, headers=alice["headers"])
    assert again.json()["data"]["updated_fields"] == []


def test_a_bad_field_among_good_ones_changes_nothing(app: Any) -> None:
    user = make_user(app)
    app.put("/api/config", json={"risk": {"stop_loss": "0.03"}}, headers=user["headers"])
    before = _config(app, user["headers"])
    bad = {
        "trading": {"max_position_size": "5000.00", "max_drawdown": "1.5"},
        "dca": {"max_attempts": 51, "colour": "red"},
    }
    err = assert_envelope(app.put("/api/config", json=bad, headers=user["headers"]), 400, "VALIDATION_ERROR")
    assert [e["field"] for e in err["error"]["details"]["errors"]] == ["dca.colour"]
    bad.pop("dca")
    err = assert_envelope(app.put("/api/config", json=bad, headers=user["headers"]), 400, "VALIDATION_ERROR")
    assert [e["field"] for e in err["error"]["details"]["errors"]] == ["trading.max_drawdown"]
    for body, field in [
        ({"margin": {"x": 1}}, "margin"),
        ({"ml": {"update_frequency": "3h"}}, "ml.update_frequency"),
        ({"dca": {"max_attempts": "7"}}, "dca.max_attempts"),
        ({"trading": {"daily_loss_limit": "-1"}}, "trading.daily_loss_limit"),
        ({"trading": {"kill_switch": "yes"}}, "trading.kill_switch"),
        ({"ml": {"confidence_threshold": 1.2}}, "ml.confidence_threshold"),
        ({"risk": "tight"}, "risk"),
    ]:
        err = assert_envelope(
            app.put("/api/config", json=body, headers=user["headers"]), 400, "VALIDATION_ERROR"
        )
        assert field in err["error"]["message"]
    assert _config(app, user["headers"]) == before
    assert before["risk"]["stop_loss"] == "0.03"


def test_bounded_body_and_credentials(app: Any) -> None:
    user = make_user(app)
    huge = {"trading": {"max_position_size": "1" * 20_000}}
    assert app.put("/api/config", json=huge, headers=user["headers"]).status_code == 413
    deep: Any = "x"
    for _ in range(40):
        deep = {"a": deep}
    assert app.put("/api/config", json={"trading": deep}, headers=user["headers"]).status_code == 400
    assert_envelope(app.get("/api/config"), 401, "UNAUTHORIZED")
    key = app.post("/api/v1/auth/keys", json={"name": "bot"}, headers=user["headers"]).json()["key"]
    by_key = app.put("/api/config", json={"dca": {"step": "0.03"}}, headers={"X-API-Key": key})
    assert by_key.json()["data"]["updated_fields"] == ["dca.step"]
    assert _config(app, user["headers"])["dca"]["step"] == "0.03"


def test_overlapping_updates_lose_no_field(app: Any) -> None:
    user = make_user(app)
    patches = [
        {"trading": {"max_position_size": "3000.00"}, "ml": {"confidence_threshold": 0.6}},
        {"dca": {"max_attempts": 9}, "risk": {"take_profit": "0.20"}},
        {"trading": {"daily_loss_limit": "50.00"}, "dca": {"base_volume": "75.00"}},
        {"ml": {"update_frequency": "4h"}, "risk": {"stop_loss": "0.02"}},
    ]
    barrier = threading.Barrier(len(patches))
    codes: list[int] = []

    def put(patch: dict[str, Any]) -> None:
        barrier.wait()
        codes.append(app.put("/api/config", json=patch, headers=user["headers"]).status_code)

    threads = [threading.Thread(target=put, args=(p,)) for p in patches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * len(patches)
    config = _config(app, user["headers"])
    for patch in patches:
        for section, fields in patch.items():
            for field, value in fields.items():
                assert config[section][field] == value, (section, field)
