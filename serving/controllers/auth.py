"""Accounts and credentials: /auth register/login/refresh, /api/auth/login (Market7 form), API keys."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from pipelines.accounts import issue_tokens, login, public_user, refresh_tokens, register_user
from pipelines.db import create_api_key, get_user, list_api_keys, revoke_api_key
from pipelines.db.login_throttle import ThrottlePolicy
from serving.context import PrincipalDep
from serving.dto import Login
from serving.schemas import admin as a
from serving.schemas import admin_examples as ex
from serving.schemas import doc
from serving.schemas.requests import ApiKeyCreateBody, LoginBody, RefreshBody, RegisterBody
from serving.services import ServicesDep

__all__ = ["ApiKeyController", "AuthController", "legacy_login"]

_PUBLIC = {"public": True}


def _key_dict(record: Any) -> dict[str, Any]:
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


def _login(services: ServicesDep, data: Login) -> dict[str, Any]:
    """Usernames match in any case; after repeated failures the account is refused for a while (429)."""
    policy = ThrottlePolicy.from_settings(services.settings)
    user = login(services.database, data.username, data.password, policy)
    return {**issue_tokens(user, services.tokens), "user": public_user(user)}


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    opt = _PUBLIC

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Register a user account",
        responses=doc(a.User, ex.USER, 400, 409, status=201, description="The new account"),
        sync_to_thread=True,
    )
    def register(self, services: ServicesDep, data: RegisterBody) -> dict[str, Any]:
        with services.database.transaction() as session:
            user = register_user(
                session,
                data.username,
                data.password,
                email=data.email,
                full_name=data.full_name,
                tier=services.settings.limits.default_tier,
            )
            return public_user(user)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Log in: JWT access and refresh tokens",
        responses=doc(a.Tokens, ex.TOKENS, 400, 401),
        description="Usernames match in any case. After repeated failed logins for one username, "
        "that username is refused with 429 and Retry-After for a delay that doubles with each "
        "further failure, whatever the address or password; a successful login clears it.",
        sync_to_thread=True,
    )
    def login(self, services: ServicesDep, data: LoginBody) -> dict[str, Any]:
        return _login(services, data)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        summary="A new access token for a refresh token",
        responses=doc(a.AccessToken, ex.ACCESS_TOKEN, 400, 401),
        sync_to_thread=True,
    )
    def refresh(self, services: ServicesDep, data: RefreshBody) -> dict[str, Any]:
        with services.database.transaction() as session:
            return refresh_tokens(session, data.refresh_token, services.tokens)


@post(
    "/api/auth/login",
    status_code=HTTP_200_OK,
    opt=_PUBLIC,
    tags=["auth"],
    summary="Log in (Market7 form): token in the success envelope",
    responses=doc(a.LegacyLogin, ex.LEGACY_LOGIN, 400, 401),
    sync_to_thread=True,
)
def legacy_login(services: ServicesDep, data: LoginBody) -> dict[str, Any]:
    tokens = _login(services, data)
    return {"status": "success", "data": {**tokens, "token": tokens["access_token"]}, **tokens}


class ApiKeyController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @get("/me", summary="The authenticated user", responses=doc(a.Me, ex.ME, 401), sync_to_thread=True)
    def me(self, services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
        with services.database.session() as session:
            user = get_user(session, principal.user_id)
            return {**public_user(user), "authenticated_via": principal.via}

    @post(
        "/keys",
        status_code=HTTP_201_CREATED,
        summary="Create an API key (shown once)",
        responses=doc(a.NewApiKey, ex.NEW_API_KEY, 400, 401, 409, status=201, description="The new key"),
        sync_to_thread=True,
    )
    def create_key(
        self, services: ServicesDep, data: ApiKeyCreateBody, principal: PrincipalDep
    ) -> dict[str, Any]:
        with services.database.transaction() as session:
            new = create_api_key(session, principal.user_id, data.name)
            return {
                **_key_dict(new.record),
                "key": new.key,
                "note": "store this key now: it is not shown again",
            }

    @get(
        "/keys",
        summary="API keys (yours; an admin sees all)",
        responses=doc(a.ApiKeyList, ex.API_KEYS, 401),
        sync_to_thread=True,
    )
    def list_keys(self, services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
        with services.database.session() as session:
            keys = [_key_dict(k) for k in list_api_keys(session, principal.scope_user_id)]
        return {"keys": keys, "count": len(keys)}

    @delete(
        "/keys/{key_id:str}",
        status_code=HTTP_200_OK,
        summary="Revoke an API key",
        responses=doc(a.RevokedApiKey, ex.REVOKED_API_KEY, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def revoke_key(
        self, services: ServicesDep, key_id: FromPath[str], principal: PrincipalDep
    ) -> dict[str, Any]:
        with services.database.transaction() as session:
            record = revoke_api_key(session, key_id, user_id=principal.user_id, is_admin=principal.is_admin)
            answer = _key_dict(record)
        services.forget_user(answer["user_id"])
        return {**answer, "status": "revoked"}
