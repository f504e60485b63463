"""Real deliveries to a local HTTP server: signed bodies, retries with backoff, failures, restarts."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from pipelines.db import Database, WebhookDelivery
from pipelines.errors import InvalidRequestError
from pipelines.security.secretbox import SecretBox
from pipelines.webhooks import (
    RetryPolicy,
    WebhookDispatcher,
    WebhookSubscriptions,
    verify_signature,
)
from pipelines.webhooks.urls import Resolver, resolve_host
from tests.webhooks.support import Receiver

SECRET = "receiver-shared-secret"


@dataclass
class World:
    """The database, its users, a receiver, and the dispatchers made for one test."""

    database: Database
    box: SecretBox
    users: dict[str, str]
    receiver: Receiver
    dispatchers: list[WebhookDispatcher] = field(default_factory=list)

    def register(
        self,
        events: Sequence[str],
        *,
        url: str | None = None,
        user: str = "ann",
        resolver: Resolver = resolve_host,
        allow_private: bool = True,
    ) -> None:
        service = WebhookSubscriptions(self.box, allow_private_urls=allow_private, resolver=resolver)
        with self.database.transaction() as s:
            service.create(s, self.users[user], url or self.receiver.url(), events, SECRET)

    def dispatcher(self, **options: Any) -> WebhookDispatcher:
        """Loopback allowed, tiny backoff, quick polling; closed at the end of the test."""
        defaults = {"allow_private_urls": True, "poll_seconds": 0.05, "workers": 2}
        options = defaults | {"retry": RetryPolicy(max_attempts=4, backoff_seconds=0.02)} | options
        made = WebhookDispatcher(self.database, self.box, **options)
        self.dispatchers.append(made)
        return made

    def publish_one(self, event: str, payload: dict[str, Any] | None = None, **options: Any) -> str:
        """Publish ``event`` for ann through a new dispatcher and wait until it is settled; its id."""
        dispatcher = self.dispatcher(**options)
        [delivery_id] = dispatcher.publish(event, payload or {}, self.users["ann"])
        dispatcher.wait_for([delivery_id])
        return delivery_id

    def delivery(self, delivery_id: str) -> WebhookDelivery:
        with self.database.session() as s:
            row = s.get(WebhookDelivery, delivery_id)
            assert row is not None
            return row

    def verify_all(self) -> None:
        for request in self.receiver.requests:
            verify_signature(SECRET, request.headers["X-Tradeforge-Signature"], request.body)


@pytest.fixture
def world(database: Database, box: SecretBox, users: dict[str, str], receiver: Receiver) -> Iterator[World]:
    made = World(database, box, users, receiver)
    yield made
    for dispatcher in made.dispatchers:
        dispatcher.close()


def test_delivery_is_signed_and_carries_the_event(world: World) -> None:
    world.register(["training.completed"])
    payload = {"job_id": "j1", "model_id": "lightgbm_aapl", "accuracy": 0.912, "nan": float("nan")}
    delivery_id = world.publish_one("training.completed", payload)
    [request] = world.receiver.requests
    world.verify_all()
    assert request.path == "/hook" and request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Tradeforge-Event"] == "training.completed"
    assert request.headers["X-Tradeforge-Delivery"] == delivery_id
    body = json.loads(request.body)
    assert body["id"] == delivery_id and body["event"] == "training.completed"
    assert body["data"] == {"job_id": "j1", "model_id": "lightgbm_aapl", "accuracy": 0.912, "nan": None}
    assert body["timestamp"].endswith("Z")
    row = world.delivery(delivery_id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 1, 200, None)
    assert row.delivered_at is not None and row.next_attempt_at is None


def test_publish_reaches_only_the_users_subscribed_webhooks(world: World) -> None:
    world.register(["training.started", "training.failed"], url=world.receiver.url("/a"))
    world.register(["training.failed"], url=world.receiver.url("/b"))
    world.register(["training.failed"], url=world.receiver.url("/bob"), user="bob")
    dispatcher = world.dispatcher()
    ann = world.users["ann"]
    assert dispatcher.publish("backtest.completed", {}, ann) == []
    ids = dispatcher.publish("training.failed", {"error": "boom"}, ann)
    assert set(dispatcher.wait_for(ids).values()) == {"delivered"}
    assert sorted(r.path for r in world.receiver.wait_for(2)) == ["/a", "/b"]
    with pytest.raises(InvalidRequestError, match="unknown webhook event"):
        dispatcher.publish("training.exploded", {}, ann)
    with pytest.raises(InvalidRequestError, match="not JSON"):
        dispatcher.publish("training.failed", {"when": object()}, ann)
    with world.database.session() as s:  # the refused events recorded nothing
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 2


def test_server_errors_are_retried_with_backoff_until_success(world: World) -> None:
    world.register(["prediction.completed"])
    world.receiver.statuses.extend([500, 503, 429])
    retry = RetryPolicy(max_attempts=5, backoff_seconds=0.05)
    delivery_id = world.publish_one("prediction.completed", {"symbol": "AAPL"}, retry=retry)
    row = world.delivery(delivery_id)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 4, 200)
    requests = world.receiver.requests
    assert len(requests) == 4 and len({r.body for r in requests}) == 1  # one body, freshly signed each time
    world.verify_all()
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    assert all(gap >= 0.9 * wait for gap, wait in zip(gaps, [0.05, 0.1, 0.2], strict=True)), gaps


def test_backoff_doubles() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert RetryPolicy(max_backoff_seconds=5).delay(10) == 5
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize("status", [400, 404, 410])
def test_client_errors_stop_retrying(world: World, status: int) -> None:
    world.register(["dataset.processed"])
    world.receiver.default_status = status
    delivery_id = world.publish_one("dataset.processed", {"dataset": "AAPL"})
    time.sleep(0.1)  # no retry arrives later
    assert len(world.receiver.requests) == 1
    row = world.delivery(delivery_id)
    assert (row.status, row.attempts, row.last_status_code, row.next_attempt_at) == (
        "failed",
        1,
        status,
        None,
    )
    assert (
        row.last_error is not None
        and row.last_error.startswith(f"HTTP {status}")
        and "nope" in row.last_error
    )


def test_attempts_stop_at_the_maximum(world: World) -> None:
    world.register(["training.progress"])
    world.receiver.default_status = 502
    retry = RetryPolicy(max_attempts=3, backoff_seconds=0.01)
    row = world.delivery(world.publish_one("training.progress", {"progress": 10}, retry=retry))
    assert (row.status, row.attempts, len(world.receiver.requests)) == ("failed", 3, 3)


def test_unreachable_receiver_is_recorded_and_retried(world: World) -> None:
    world.register(["training.started"], url="http://127.0.0.1:9/hook")  # discard port: nothing listens
    retry = RetryPolicy(max_attempts=2, backoff_seconds=0.01)
    row = world.delivery(world.publish_one("training.started", retry=retry))
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 2, None)
    assert row.last_error is not None and "ConnectError" in row.last_error


def test_pending_deliveries_survive_a_restart(world: World) -> None:
    world.register(["backtest.completed"])
    stopped = world.dispatcher(start=False)  # a process that records events, then stops before sending
    ids = [stopped.publish("backtest.completed", {"n": n}, world.users["ann"])[0] for n in range(3)]
    stopped.close()
    assert world.receiver.requests == [] and {world.delivery(i).status for i in ids} == {"pending"}
    assert set(world.dispatcher().wait_for(ids).values()) == {"delivered"}
    assert sorted(json.loads(r.body)["data"]["n"] for r in world.receiver.wait_for(3)) == [0, 1, 2]
    world.verify_all()


def test_two_dispatchers_never_send_one_delivery_twice(world: World) -> None:
    world.register(["prediction.completed"])
    publisher = world.dispatcher(start=False)
    ids = [publisher.publish("prediction.completed", {"n": n}, world.users["ann"])[0] for n in range(12)]
    first, second = world.dispatcher(workers=3), world.dispatcher(workers=3)
    assert set(first.wait_for(ids).values()) == {"delivered"}
    second.wait_for(ids)
    time.sleep(0.1)
    assert sorted(r.headers["X-Tradeforge-Delivery"] for r in world.receiver.requests) == sorted(ids)


def test_host_rebound_to_a_private_address_is_refused_at_delivery(world: World) -> None:
    answers = {"hooks.example.com": ["93.184.216.34"]}
    resolve = lambda host, port: answers[host]  # noqa: E731
    world.register(
        ["training.finished"],
        url=f"http://hooks.example.com:{world.receiver.port}/hook",
        resolver=resolve,
        allow_private=False,  # public when registered
    )
    answers["hooks.example.com"] = ["127.0.0.1"]  # DNS now points into the platform's own network
    row = world.delivery(world.publish_one("training.finished", allow_private_urls=False, resolver=resolve))
    assert (row.status, row.attempts, world.receiver.requests) == ("failed", 1, [])
    assert row.last_error is not None and "127.0.0.1" in row.last_error


def test_delivery_connects_to_the_checked_address_with_the_urls_host(world: World) -> None:
    """The request goes to the address the policy approved (no second lookup), named by its host."""
    resolve = lambda host, port: ["127.0.0.1"] if host == "hooks.internal.test" else []  # noqa: E731
    world.register(
        ["training.finished"], url=world.receiver.url(host="hooks.internal.test"), resolver=resolve
    )
    assert world.delivery(world.publish_one("training.finished", resolver=resolve)).status == "delivered"
    assert world.receiver.requests[0].headers["Host"] == f"hooks.internal.test:{world.receiver.port}"


def test_close_stops_the_workers(world: World) -> None:
    dispatcher = world.dispatcher(workers=3)
    threads = list(dispatcher._threads)
    assert all(t.is_alive() for t in threads)
    started = time.monotonic()
    dispatcher.close()
    assert not any(t.is_alive() for t in threads) and time.monotonic() - started < 1.0
