"""Accounts over the real app: a token dies with its user's state (deleted, disabled, demoted), by
the API and by the CLI; weak passwords are refused; usernames differ by more than case; failed
logins back off per account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli import app as cli_app
from pipelines.db import Job
from pipelines.security import issue_access_token
from pipelines.settings import get_settings
from tests.net_support import NO_REDIS, REDIS_URL, redis_up
from tests.serving_support import PASSWORD, SECRET, app_client, assert_envelope, make_user, served_settings

_ADMIN_ROUTE = "/api/v1/users/{}"  # PATCH: admin only


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("accounts") / "home"


@pytest.fixture(scope="module")
def client(home: Path) -> Iterator[Any]:
    # The login backoff's first lock is 2 s here, so that a test can wait it out.
    with app_client(served_settings(home, login_backoff_seconds=2.0)) as c:
        yield c


def _key(client: Any, user: dict[str, Any]) -> dict[str, str]:
    created = client.post("/api/v1/auth/keys", json={"name": "k"}, headers=user["headers"])
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["key"]}


def _me(client: Any, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/auth/me", headers=headers).status_code)


def _leave_work(client: Any, user_id: str, headers: dict[str, str]) -> tuple[str, Path]:
    """An uploaded dataset (its folder on disk) and a job that waits in the queue (it asks for more
    RAM than any machine has), both the user's."""
    services = client.app.state.container
    upload = client.post(
        "/datasets/upload",
        files={"file": ("s.csv", b"rsi,label\n30,up\n70,down\n55,up\n45,down\n")},
        data={"name": "signals", "dataset_type": "classification"},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    folder = services.datasets.files.folder(upload.json()["id"])
    assert folder.is_dir()
    with services.database.transaction() as session:
        job = Job(kind="backtest", params={}, user_id=user_id, est_ram_gb=1e6)
        session.add(job)
        session.flush()
        job_id = job.id
    return job_id, folder


def _job_status(client: Any, job_id: str) -> str:
    with client.app.state.container.database.session() as session:
        return str(session.get(Job, job_id).status)


def test_a_signed_admin_token_for_a_user_that_does_not_exist_is_refused(client: Any) -> None:
    victim = make_user(client)
    forged = issue_access_token(
        SECRET, sub="no-such-user", role="admin", tier="enterprise", ttl=dt.timedelta(minutes=5)
    )
    answer = client.patch(
        _ADMIN_ROUTE.format(victim["username"]),
        json={"is_active": False},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert "no longer exists" in assert_envelope(answer, 401, "UNAUTHORIZED")["error"]["message"]
    assert _me(client, victim["headers"]) == 200  # nothing was changed
    deleting = client.delete("/api/v1/models/no-such-model", headers={"Authorization": f"Bearer {forged}"})
    assert_envelope(deleting, 401, "UNAUTHORIZED")  # not a 404: the caller is refused first


def test_disable_and_enable_by_an_admin_take_effect_at_once(client: Any) -> None:
    admin, user = make_user(client, role="admin"), make_user(client)
    key = _key(client, user)
    assert _me(client, user["headers"]) == 200 and _me(client, key) == 200  # both cached now
    disabled = client.patch(
        _ADMIN_ROUTE.format(user["username"].upper()), json={"is_active": False}, headers=admin["headers"]
    )
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert_envelope(client.get("/api/v1/auth/me", headers=user["headers"]), 401, "UNAUTHORIZED")
    assert_envelope(client.get("/api/v1/auth/me", headers=key), 401, "UNAUTHORIZED")
    refreshed = client.post("/auth/refresh", json={"refresh_token": user["refresh_token"]})
    assert_envelope(refreshed, 401, "UNAUTHORIZED")

    enabled = client.patch(
        _ADMIN_ROUTE.format(user["username"]), json={"is_active": True}, headers=admin["headers"]
    )
    assert enabled.status_code == 200 and enabled.json()["is_active"] is True
    assert _me(client, key) == 200  # the API key works again
    assert _me(client, user["headers"]) == 401  # tokens from before the change stay dead
    login = client.post("/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert _me(client, {"Authorization": f"Bearer {login.json()['access_token']}"}) == 200


def test_a_demoted_admin_loses_the_admin_role_at_once(client: Any) -> None:
    admin, other = make_user(client, role="admin"), make_user(client, role="admin")
    key = _key(client, other)
    target = make_user(client)
    probe = {"json": {"is_active": True}}
    assert client.patch(_ADMIN_ROUTE.format(target["id"]), headers=key, **probe).status_code == 200
    demoted = client.patch(
        _ADMIN_ROUTE.format(other["username"]), json={"role": "user"}, headers=admin["headers"]
    )
    assert demoted.status_code == 200 and demoted.json()["role"] == "user"
    assert_envelope(client.get("/api/v1/auth/me", headers=other["headers"]), 401, "UNAUTHORIZED")
    assert_envelope(client.patch(_ADMIN_ROUTE.format(target["id"]), headers=key, **probe), 403, "FORBIDDEN")
    assert client.get("/api/v1/auth/me", headers=key).json()["role"] == "user"


def test_a_deleted_user_loses_tokens_and_keys(client: Any) -> None:
    admin, user = make_user(client, role="admin"), make_user(client)
    key = _key(client, user)
    assert _me(client, user["headers"]) == 200 and _me(client, key) == 200
    deleted = client.delete(_ADMIN_ROUTE.format(user["username"]), headers=admin["headers"])
    assert deleted.status_code == 200 and deleted.json()["id"] == user["id"]
    assert_envelope(client.get("/api/v1/auth/me", headers=user["headers"]), 401, "UNAUTHORIZED")
    assert_envelope(client.get("/api/v1/auth/me", headers=key), 401, "UNAUTHORIZED")
    again = client.delete(_ADMIN_ROUTE.format(user["username"]), headers=admin["headers"])
    assert_envelope(again, 404, "NOT_FOUND")


def test_deleting_a_user_cancels_their_jobs_and_removes_their_dataset_files(client: Any) -> None:
    admin, user, other = make_user(client, role="admin"), make_user(client), make_user(client)
    job_id, folder = _leave_work(client, user["id"], user["headers"])
    other_job, other_folder = _leave_work(client, other["id"], other["headers"])
    assert _job_status(client, job_id) == "queued"
    deleted = client.delete(_ADMIN_ROUTE.format(user["username"]), headers=admin["headers"])
    assert deleted.status_code == 200, deleted.text
    assert _job_status(client, job_id) == "cancelled"
    assert not folder.exists()
    assert _job_status(client, other_job) == "queued" and other_folder.is_dir()  # others' stay
    client.post(f"/api/v1/jobs/{other_job}/cancel", headers=other["headers"])


def test_user_routes_are_for_admins_and_check_their_input(client: Any) -> None:
    admin, user = make_user(client, role="admin"), make_user(client)
    name = _ADMIN_ROUTE.format(admin["username"])
    assert_envelope(client.patch(name, json={"is_active": False}, headers=user["headers"]), 403, "FORBIDDEN")
    assert_envelope(client.delete(name, headers=user["headers"]), 403, "FORBIDDEN")
    assert _me(client, admin["headers"]) == 200
    unknown = client.patch(
        _ADMIN_ROUTE.format("nobody-at-all"), json={"role": "user"}, headers=admin["headers"]
    )
    assert_envelope(unknown, 404, "NOT_FOUND")
    assert_envelope(client.patch(name, json={}, headers=admin["headers"]), 400, "INVALID_REQUEST")
    bad_role = client.patch(name, json={"role": "root"}, headers=admin["headers"])
    assert bad_role.status_code == 400 and "role" in bad_role.text


def test_cli_changes_reach_live_tokens_and_keys(
    client: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI runs in another process: without Redis the API re-reads the user within
    user_state_cache_seconds; here the cache is cleared by hand to stand for that moment."""
    monkeypatch.setenv("TRADEFORGE_HOME", str(home))
    monkeypatch.setenv("TRADEFORGE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    services = client.app.state.container
    runner = CliRunner()

    def cli(*args: str) -> int:
        result = runner.invoke(cli_app, ["users", *args])
        services.access.user_states.forget()  # what the cache's expiry does a moment later
        return result.exit_code

    try:
        user = make_user(client)
        key = _key(client, user)
        assert cli("disable", user["username"]) == 0
        assert _me(client, user["headers"]) == 401 and _me(client, key) == 401
        assert cli("enable", user["username"]) == 0
        assert _me(client, key) == 200 and _me(client, user["headers"]) == 401

        admin = make_user(client, role="admin")
        admin_key = _key(client, admin)
        assert cli("set-role", admin["username"], "user") == 0
        assert _me(client, admin["headers"]) == 401
        assert client.get("/api/v1/auth/me", headers=admin_key).json()["role"] == "user"

        job_id, folder = _leave_work(client, user["id"], key)
        assert cli("delete", user["username"]) == 0
        assert _me(client, key) == 401
        assert _job_status(client, job_id) == "cancelled" and not folder.exists()
        assert cli("delete", user["username"]) == 2  # unknown user
        assert cli("set-role", admin["username"], "root") == 2  # bad role
    finally:
        get_settings.cache_clear()


def test_weak_passwords_are_refused_with_the_reason(client: Any) -> None:
    for weak in ("password", "aaaaaaaa", "12345678", "weakling1"):
        answer = client.post("/auth/register", json={"username": "weakling", "password": weak})
        message = assert_envelope(answer, 400, "INVALID_REQUEST")["error"]["message"]
        assert "password is too easy to guess" in message, weak
    assert (
        client.post("/auth/register", json={"username": "weakling", "password": PASSWORD}).status_code == 201
    )


def test_usernames_differ_by_more_than_case(client: Any) -> None:
    body = {"username": "Casey", "password": PASSWORD}
    assert client.post("/auth/register", json=body).status_code == 201
    clash = client.post("/auth/register", json={**body, "username": "CASEY"})
    assert_envelope(clash, 409, "CONFLICT")
    login = client.post("/auth/login", json={**body, "username": "casey"})
    assert login.status_code == 200 and login.json()["user"]["username"] == "Casey"


def test_failed_logins_back_off_per_account(client: Any) -> None:
    import time

    user = make_user(client)
    good = {"username": user["username"], "password": PASSWORD}
    bad = {**good, "password": "not-the-password"}
    for _ in range(4):  # a success before the limit starts the count over
        assert client.post("/auth/login", json=bad).status_code == 401
    assert client.post("/auth/login", json=good).status_code == 200
    for _ in range(5):
        assert client.post("/auth/login", json=bad).status_code == 401
    locked = client.post("/auth/login", json=good)  # the right password, refused all the same
    body = assert_envelope(locked, 429, "RATE_LIMITED")
    assert 1 <= int(locked.headers["retry-after"]) <= 2 and body["error"]["details"]["retry_after"] >= 1
    assert_envelope(client.post("/api/auth/login", json=good), 429, "RATE_LIMITED")
    time.sleep(2.1)
    assert client.post("/auth/login", json=good).status_code == 200  # waited out; success clears it
    assert client.post("/auth/login", json=bad).status_code == 401


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_cli_changes_reach_every_worker_at_once_through_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Redis the CLI announces the change: workers drop their cached state at once (here the
    cache would otherwise hold it for a minute)."""
    import time

    home = tmp_path / "home"
    settings = served_settings(home, redis_url=REDIS_URL, user_state_cache_seconds=60.0)
    monkeypatch.setenv("TRADEFORGE_HOME", str(home))
    monkeypatch.setenv("TRADEFORGE_REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    try:
        with app_client(settings) as first, app_client(settings) as second:
            user = make_user(first)
            key = _key(first, user)
            assert _me(second, key) == 200 and _me(second, user["headers"]) == 200  # cached there
            result = CliRunner().invoke(cli_app, ["users", "disable", user["username"]])
            assert result.exit_code == 0, result.output
            deadline = time.monotonic() + 5  # the relay is asynchronous: milliseconds, not a minute
            for worker in (first, second):
                while _me(worker, key) == 200 or _me(worker, user["headers"]) == 200:
                    assert time.monotonic() < deadline, "a worker still accepts the disabled user"
                    time.sleep(0.02)
    finally:
        get_settings.cache_clear()
