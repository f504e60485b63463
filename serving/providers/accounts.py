"""What the account routes (/auth, /api/auth/login, /api/v1/auth, /api/v1/users) need: each
operation in its own unit of work, and the access caches told of every change."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.account_admin import delete_account, set_active, set_role
from pipelines.app.accounts import issue_tokens, login, public_user, refresh_tokens, register_user
from pipelines.app.datasets import DatasetCatalog
from pipelines.db import Database, create_api_key, get_user, list_api_keys, revoke_api_key
from pipelines.db.login_throttle import ThrottlePolicy
from pipelines.db.models import ApiKey
from pipelines.jobs import JobQueue
from pipelines.security.tokens import TokenPolicy
from pipelines.settings import Settings
from serving.access import AccessControl
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["ACCOUNTS", "AccountsDep", "AccountsProvider", "key_row"]


def key_row(record: ApiKey) -> dict[str, Any]:
    """What the API shows of an API key (never the key or its hash)."""
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "user_id": record.user_id,
        "created_at": record.created_at.isoformat(),
        "last_used_at": record.last_used_at.isoformat() if record.last_used_at else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "active": record.revoked_at is None,
    }


class AccountsProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        tokens: TokenPolicy,
        jobs: JobQueue,
        datasets: DatasetCatalog,
        access: AccessControl,
    ) -> None:
        self.settings = settings
        self._database = database
        self._tokens = tokens
        self._jobs = jobs
        self._datasets = datasets
        self._access = access

    def register(
        self, username: str, password: str, *, email: str | None, full_name: str | None
    ) -> dict[str, Any]:
        """A new account at the default tier; its public fields."""
        with self._database.transaction() as session:
            user = register_user(
                session,
                username,
                password,
                email=email,
                full_name=full_name,
                tier=self.settings.limits.default_tier,
            )
            return public_user(user)

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Usernames match in any case; after repeated failures the account is refused for a while (429)."""
        policy = ThrottlePolicy.from_settings(self.settings)
        user = login(self._database, username, password, policy)
        return {**issue_tokens(user, self._tokens), "user": public_user(user)}

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        with self._database.transaction() as session:
            return refresh_tokens(session, refresh_token, self._tokens)

    def me(self, principal: Principal) -> dict[str, Any]:
        with self._database.session() as session:
            return {**public_user(get_user(session, principal.user_id)), "authenticated_via": principal.via}

    def create_key(self, principal: Principal, name: str) -> dict[str, Any]:
        """A new API key of the caller: its row and the key itself (shown this once)."""
        with self._database.transaction() as session:
            new = create_api_key(session, principal.user_id, name)
            return {**key_row(new.record), "key": new.key}

    def list_keys(self, principal: Principal) -> list[dict[str, Any]]:
        """The caller's keys (an admin: everyone's)."""
        with self._database.session() as session:
            return [key_row(k) for k in list_api_keys(session, principal.scope_user_id)]

    def revoke_key(self, principal: Principal, key_id: str) -> dict[str, Any]:
        """Revoke the key (its owner or an admin); every worker forgets it at once."""
        with self._database.transaction() as session:
            record = revoke_api_key(session, key_id, user_id=principal.user_id, is_admin=principal.is_admin)
            answer = key_row(record)
        self._access.forget_user(answer["user_id"])
        return answer

    def update_user(self, username: str, *, is_active: bool | None, role: str | None) -> dict[str, Any]:
        """Enable or disable the account and/or change its role, then drop every cached copy of it."""
        with self._database.transaction() as session:
            user = None
            if is_active is not None:
                user = set_active(session, username, is_active)
            if role is not None:
                user = set_role(session, username, role)
            assert user is not None
            answer = public_user(user)
        self._access.forget_user(answer["id"])
        return answer

    def delete_user(self, username: str) -> dict[str, Any]:
        """Delete the account with its keys, webhooks, datasets and jobs; every worker forgets it."""
        answer = delete_account(self._database, self._jobs, self._datasets.files, username)
        self._access.forget_user(answer["id"])
        return answer


AccountsDep = NamedDependency[AccountsProvider]


def _provide(state: State) -> AccountsProvider:
    provider: AccountsProvider = state.container.accounts_provider
    return provider


def _principal(accounts: AccountsDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


ACCOUNTS = provides("accounts", _provide, _principal)
"""The dependencies of the account controllers: ``accounts: AccountsDep`` and ``principal``."""
