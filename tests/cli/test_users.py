"""`tradeforge users create` and `tradeforge users list` against the app database in the env home."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.db import open_database
from pipelines.security import verify_password
from pipelines.settings import Settings

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_create_and_list(env_home: Path) -> None:
    code, out, err = invoke(
        "users",
        "create",
        "root",
        "--password",
        "s3cret-pass-phrase",
        "--admin",
        "--tier",
        "enterprise",
        "--json",
    )
    assert code == 0, err
    root = json.loads(out)
    assert (root["username"], root["role"], root["tier"], root["is_active"]) == (
        "root",
        "admin",
        "enterprise",
        True,
    )
    assert "password" not in out

    code, out, err = invoke(
        "users", "create", "ann", "--email", "ann@example.com", stdin="pass-word-1\npass-word-1\n"
    )
    assert code == 0, err
    assert "created user ann (user, free tier)" in out
    assert "Password" in err and "pass-word-1" not in out + err  # prompted on stderr, hidden

    code, out, _ = invoke("users", "list", "--json")
    listing = json.loads(out)
    assert code == 0 and listing["count"] == 2
    assert [(u["username"], u["email"]) for u in listing["users"]] == [
        ("root", None),
        ("ann", "ann@example.com"),
    ]
    code, out, _ = invoke("users", "list")
    assert code == 0 and "ann@example.com" in out and "enterprise" in out

    database = open_database(Settings(home=env_home))
    with database.session() as s:
        from pipelines.app.accounts import authenticate

        assert authenticate(s, "ann", "pass-word-1").email == "ann@example.com"
        assert verify_password(
            authenticate(s, "root", "s3cret-pass-phrase").password_hash, "s3cret-pass-phrase"
        )
    database.close()


def test_bad_input_exits_2_and_writes_nothing(env_home: Path) -> None:
    for args, message in (
        (("ab", "--password", "s3cret-pass-phrase"), "username 'ab' must be 3-64"),
        (("ann", "--password", "short"), "password must be 8-1024"),
        (("ann", "--password", "s3cret-pass-phrase", "--tier", "gold"), "tier must be one of"),
        (("ann", "--password", "s3cret-pass-phrase", "--email", "nope"), "not an email address"),
        (("ann", "--password", "password123"), "password is too easy to guess"),
    ):
        code, out, err = invoke("users", "create", *args)
        assert code == 2, (args, err)
        assert message in err and out == ""
    assert not (env_home / "app.db").exists()


def test_duplicate_username_exits_2(env_home: Path) -> None:
    assert invoke("users", "create", "ann", "--password", "s3cret-pass-phrase")[0] == 0
    code, _, err = invoke("users", "create", "ann", "--password", "other-pass-2", "--json")
    assert code == 2 and "username 'ann' is already taken" in err
    code, _, err = invoke("users", "create", "ANN", "--password", "other-pass-2", "--json")
    assert code == 2 and "username 'ANN' is already taken" in err
    code, out, _ = invoke("users", "list", "--json")
    assert json.loads(out)["count"] == 1


def test_disable_enable_set_role_delete(env_home: Path) -> None:
    assert invoke("users", "create", "root", "--password", "s3cret-pass-phrase", "--admin")[0] == 0
    assert invoke("users", "create", "ann", "--password", "s3cret-pass-phrase")[0] == 0

    def state(name: str) -> dict[str, object] | None:
        users = json.loads(invoke("users", "list", "--json")[1])["users"]
        return next((u for u in users if u["username"] == name), None)

    code, out, err = invoke("users", "disable", "ANN")
    assert code == 0 and "disabled user ann" in out, err
    assert state("ann") is not None and state("ann")["is_active"] is False  # type: ignore[index]
    assert json.loads(invoke("users", "enable", "ann", "--json")[1])["is_active"] is True
    assert json.loads(invoke("users", "set-role", "ann", "admin", "--json")[1])["role"] == "admin"
    assert invoke("users", "delete", "ann")[0] == 0 and state("ann") is None
    for args, message in (
        (("disable", "ann"), "no user named 'ann'"),
        (("delete", "nobody"), "no user named 'nobody'"),
        (("set-role", "root", "root"), "role must be one of user, admin, got 'root'"),
        (("set-role", "root", "user"), "it is the last active admin"),
    ):
        code, out, err = invoke("users", *args)
        assert code == 2 and message in err and out == "", (args, err)
