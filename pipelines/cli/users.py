"""User commands on the app database: ``tradeforge users create | list | disable | enable | delete |
set-role``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from pipelines.cli._common import JsonOpt, SwitchGroup, app, emit_json, errors, fail, note_empty_home, out
from pipelines.errors import ConflictError
from pipelines.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipelines.db.engine import Database
    from pipelines.db.models import User
    from pipelines.settings import Settings

__all__ = ["users_app"]

users_app = typer.Typer(cls=SwitchGroup, no_args_is_help=True, help="API users of the app database.")
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="3-64 characters: letters, digits, '_', '.', '-'")],
    password: Annotated[
        str | None, typer.Option(help="At least 8 characters (prompted, with confirmation, when left out)")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Unique email address")] = None,
    full_name: Annotated[str | None, typer.Option("--full-name", help="Display name")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Give the user the admin role")] = False,
    tier: Annotated[
        str | None, typer.Option(help="free | pro | enterprise (default: TRADEFORGE_DEFAULT_TIER)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user who can log in to the API (POST /api/auth/login) and create API keys."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.accounts import public_user, register_user, validate_registration
    from pipelines.db.engine import open_database

    settings = get_settings()
    role = "admin" if admin else "user"
    chosen_tier = tier or settings.limits.default_tier
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with errors():
        # Checked before the database is opened, so that bad input creates no file at all.
        validate_registration(
            username, password, email=email, full_name=full_name, role=role, tier=chosen_tier
        )
        database = open_database(settings)
        try:
            with database.transaction() as session:
                user = public_user(
                    register_user(
                        session,
                        username,
                        password,
                        email=email,
                        full_name=full_name,
                        role=role,
                        tier=chosen_tier,
                    )
                )
        except ConflictError as exc:
            raise fail(str(exc), 2) from None
        finally:
            database.close()
    if as_json:
        emit_json(user)
        return
    out.print(
        f"created user [bold]{user['username']}[/] ({user['role']}, {user['tier']} tier), id {user['id']}"
    )


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """Every user with role, tier and status (--json adds the ids)."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.accounts import public_user
    from pipelines.db.engine import open_database
    from pipelines.db.users import list_users

    settings = get_settings()
    users: list[dict[str, Any]] = []
    if settings.database_url is not None or settings.home.is_dir():  # else nothing to read, nothing created
        database = open_database(settings)
        try:
            with database.session() as session:
                users = [public_user(user) for user in list_users(session)]
        finally:
            database.close()
    if not users:
        note_empty_home(settings, "users")
    if as_json:
        emit_json({"users": users, "count": len(users)})
        return
    table = Table(title="users")
    for column in ("username", "email", "role", "tier", "active", "created"):
        table.add_column(column)
    for user in users:
        table.add_row(
            user["username"],
            user["email"] or "-",
            user["role"],
            user["tier"],
            "yes" if user["is_active"] else "no",
            user["created_at"][:19].replace("T", " "),
        )
    out.print(table)


NameArg = Annotated[str, typer.Argument(help="Username (any case) or user id")]


def _change(name: str, action: str, change: Callable[[Session, str], User], as_json: bool) -> None:
    """Apply ``change`` to the user in one transaction, then tell the running API workers."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.accounts import public_user

    def apply(settings: Settings, database: Database) -> dict[str, Any]:
        with database.transaction() as session:
            return public_user(change(session, name))

    _apply(action, apply, as_json)


def _apply(action: str, apply: Callable[[Settings, Database], dict[str, Any]], as_json: bool) -> None:
    """Run ``apply`` on the app database, then tell running API workers (through Redis when
    configured; otherwise they see it within TRADEFORGE_USER_STATE_CACHE_SECONDS)."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.account_admin import announce_user_change
    from pipelines.db.engine import open_database

    settings = get_settings()
    with errors():
        database = open_database(settings)
        try:
            user = apply(settings, database)
        except ConflictError as exc:
            raise fail(str(exc), 2) from None
        finally:
            database.close()
    announce_user_change(settings, user["id"])
    if as_json:
        emit_json(user)
        return
    out.print(f"{action} user [bold]{user['username']}[/] ({user['role']}, active: {user['is_active']})")


@users_app.command("disable")
def users_disable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Disable a user: their tokens and API keys stop working at once ("enable" restores keys)."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.account_admin import set_active

    _change(name, "disabled", lambda s, n: set_active(s, n, False), as_json)


@users_app.command("enable")
def users_enable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Enable a disabled user again (they log in anew; their API keys work again)."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.account_admin import set_active

    _change(name, "enabled", lambda s, n: set_active(s, n, True), as_json)


@users_app.command("set-role")
def users_set_role(
    name: NameArg,
    role: Annotated[str, typer.Argument(help="user | admin")],
    as_json: JsonOpt = False,
) -> None:
    """Change a user's role; their tokens issued before stop working at once."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.account_admin import set_role
    from pipelines.db.models import ROLES

    if role not in ROLES:  # before the database is opened: bad input creates nothing
        raise fail(f"role must be one of {', '.join(ROLES)}, got {role!r}", 2)
    _change(name, f"made {role}:", lambda s, n: set_role(s, n, role), as_json)


@users_app.command("delete")
def users_delete(name: NameArg, as_json: JsonOpt = False) -> None:
    """Delete a user with their API keys, webhooks and datasets (records and files); their queued
    and running jobs are cancelled (a running job's worker is stopped by the serving process)."""

    def apply(settings: Settings, database: Database) -> dict[str, Any]:
        # Imported on use, for the CLI's start-up time: SQLAlchemy.
        from pipelines.app.account_admin import delete_account
        from pipelines.app.jobs import default_tasks
        from pipelines.datasets.files import DatasetFiles
        from pipelines.jobs import JobQueue

        # Not started: this process runs no jobs; a cancelled running job is the server's to stop.
        queue = JobQueue(settings, database, default_tasks())
        try:
            return delete_account(database, queue, DatasetFiles(settings.datasets_dir), name)
        finally:
            queue.close()

    _apply("deleted", apply, as_json)
