"""Registered models have owners: only the owner or an admin trains a new version (sync or async),
moves the champion, reloads or deletes it; a model of no owner is an admin's to change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.app.train import plan_training, train_model
from pipelines.db import model_owner
from pipelines.models.ownership import OWNER_TAG
from pipelines.models.tracking import open_tracker
from tests.serving_support import app_client, assert_envelope, make_user, served_settings

TRAIN = "/api/v1/models/train"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = served_settings(tmp_path_factory.mktemp("owners") / "home")
    # A model registered without an API user (as the CLI and Dagster do): owned by nobody.
    request = plan_training(settings, model_type="simple", model_name="legacy_aapl", symbol="AAPL")
    train_model(settings, request, open_tracker(settings))
    return settings


@pytest.fixture(scope="module")
def client(home: Any) -> Iterator[Any]:
    with app_client(home) as c:
        yield c


def _versions(client: Any, name: str) -> tuple[int, str | None]:
    versions = dict(client.app.state.container.registry.tracker.list_models()).get(name) or []
    champion = next((v.version for v in versions if "champion" in v.aliases), None)
    return len(versions), champion


def _owner(client: Any, name: str) -> str | None:
    with client.app.state.container.database.session() as session:
        return model_owner(session, name)


def _train(client: Any, user: dict[str, Any], name: str, **extra: Any) -> Any:
    body = {"model_type": "simple", "model_name": name, "symbol": "AAPL", **extra}
    return client.post(TRAIN, json=body, headers=user["headers"])


def test_only_the_owner_or_an_admin_changes_a_model(client: Any) -> None:
    ann, bob, admin = make_user(client), make_user(client), make_user(client, role="admin")
    assert _train(client, ann, "anns_model").status_code == 200
    assert _owner(client, "anns_model") == ann["id"]
    tags = client.app.state.container.registry.tracker.model_tags("anns_model")
    assert tags[OWNER_TAG] == ann["id"]
    before = _versions(client, "anns_model")
    assert before == (1, "1")

    denied = assert_envelope(_train(client, bob, "anns_model"), 403, "FORBIDDEN")
    assert "anns_model" in denied["error"]["message"]
    assert_envelope(_train(client, bob, "anns_model", **{"async": True}), 403, "FORBIDDEN")
    assert client.get("/api/v1/jobs", headers=bob["headers"]).json()["count"] == 0
    assert_envelope(client.post("/api/v1/models/anns_model/reload", headers=bob["headers"]), 403, "FORBIDDEN")
    assert_envelope(client.delete("/api/v1/models/anns_model", headers=bob["headers"]), 403, "FORBIDDEN")
    assert _versions(client, "anns_model") == before and _owner(client, "anns_model") == ann["id"]

    assert client.post("/api/v1/models/anns_model/reload", headers=ann["headers"]).status_code == 200
    assert _train(client, ann, "anns_model").status_code == 200
    assert _train(client, admin, "anns_model").status_code == 200
    assert _versions(client, "anns_model")[0] == 3 and _owner(client, "anns_model") == ann["id"]
    assert client.post("/api/v1/models/anns_model/reload", headers=admin["headers"]).status_code == 200

    assert client.delete("/api/v1/models/anns_model", headers=ann["headers"]).status_code == 200
    assert _owner(client, "anns_model") is None  # the name is free again: bob may take it
    assert _train(client, bob, "anns_model").status_code == 200
    assert _owner(client, "anns_model") == bob["id"]


def test_a_model_of_no_owner_is_an_admins_to_change(client: Any) -> None:
    user, admin = make_user(client), make_user(client, role="admin")
    before = _versions(client, "legacy_aapl")
    assert_envelope(_train(client, user, "legacy_aapl"), 403, "FORBIDDEN")
    reload, model = "/api/v1/models/legacy_aapl/reload", "/api/v1/models/legacy_aapl"
    assert_envelope(client.post(reload, headers=user["headers"]), 403, "FORBIDDEN")
    assert_envelope(client.delete(model, headers=user["headers"]), 403, "FORBIDDEN")
    assert _versions(client, "legacy_aapl") == before and _owner(client, "legacy_aapl") is None
    assert client.post(reload, headers=admin["headers"]).status_code == 200
    assert _train(client, admin, "legacy_aapl").status_code == 200
    assert _owner(client, "legacy_aapl") is None  # an admin's new version does not take it over
    assert_envelope(client.post("/api/v1/models/nope/reload", headers=user["headers"]), 404, "NOT_FOUND")
    # A name no registered model can have (an ensemble answer's "ensemble:a+b") is unknown, not a fault.
    odd = "/api/v1/models/ensemble%3Alegacy_aapl%2Bother"
    assert_envelope(client.delete(odd, headers=admin["headers"]), 404, "NOT_FOUND")


def test_an_async_training_claims_a_new_name_and_a_refused_one_claims_nothing(client: Any) -> None:
    ann, bob = make_user(client), make_user(client)
    bad = {"parameters": {"no_such_param": 1}, "async": True}
    assert_envelope(_train(client, ann, "async_model", **bad), 400, "INVALID_REQUEST")
    assert _owner(client, "async_model") is None
    accepted = _train(client, ann, "async_model", **{"async": True})
    assert accepted.status_code == 202, accepted.text
    assert _owner(client, "async_model") == ann["id"]
    assert_envelope(_train(client, bob, "async_model"), 403, "FORBIDDEN")


def test_the_mlflow_tag_names_the_owner_when_the_database_has_no_row(client: Any, home: Any) -> None:
    ann, bob = make_user(client), make_user(client)
    request = plan_training(home, model_type="simple", model_name="tagged_only", symbol="AAPL")
    tracker = client.app.state.container.registry.tracker
    train_model(home, request, tracker)
    tracker.set_model_tag("tagged_only", OWNER_TAG, ann["id"])  # e.g. an app database restored older
    assert _owner(client, "tagged_only") is None
    reload = "/api/v1/models/tagged_only/reload"
    assert_envelope(client.post(reload, headers=bob["headers"]), 403, "FORBIDDEN")
    assert client.post(reload, headers=ann["headers"]).status_code == 200
    assert _train(client, ann, "tagged_only").status_code == 200


def test_force_moves_the_champion_for_the_owner_only(client: Any) -> None:
    ann, bob = make_user(client), make_user(client)
    assert _train(client, ann, "forced_model").status_code == 200
    assert_envelope(_train(client, ann, "forced_model", force="yes"), 400, "VALIDATION_ERROR")
    assert_envelope(_train(client, bob, "forced_model", force=True), 403, "FORBIDDEN")
    same = _train(client, ann, "forced_model").json()  # the same data and seed: a tie keeps the champion
    assert same["champion"] is False and same["comparison"]["forced"] is False
    assert same["comparison"]["candidate"] == same["comparison"]["champion"]
    assert same["comparison"]["trials"] == 2 and 0.0 <= same["comparison"]["deflated_sharpe"] <= 1.0
    forced = _train(client, ann, "forced_model", force=True).json()
    assert forced["champion"] is True and forced["comparison"]["forced"] is True
    assert forced["decision"].startswith("forced: promoted to champion over v1")
    assert _versions(client, "forced_model") == (3, "3")
