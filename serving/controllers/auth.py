"""Accounts and credentials: /auth register/login/refresh, /api/auth/login (Market7 form), API keys."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from serving.context import PrincipalDep
from serving.providers.accounts import ACCOUNTS, AccountsDep
from serving.responses import admin as a
from serving.responses import shaped
from serving.schemas import admin_examples as ex
from serving.schemas import doc
from serving.schemas.requests import ApiKeyCreateBody, LoginBody, RefreshBody, RegisterBody

__all__ = ["ApiKeyController", "AuthController", "legacy_login"]

_PUBLIC = {"public": True}


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    opt = _PUBLIC
    dependencies = ACCOUNTS

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Register a user account",
        responses=doc(ex.USER, 400, 409, status=201, description="The new account"),
        sync_to_thread=True,
    )
    def register(self, accounts: AccountsDep, data: RegisterBody) -> a.User:
        return shaped(
            a.User,
            accounts.register(data.username, data.password, email=data.email, full_name=data.full_name),
        )

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Log in: JWT access and refresh tokens",
        responses=doc(ex.TOKENS, 400, 401),
        description="Usernames match in any case. After repeated failed logins for one username, "
        "that username is refused with 429 and Retry-After for a delay that doubles with each "
        "further failure, whatever the address or password; a successful login clears it.",
        sync_to_thread=True,
    )
    def login(self, accounts: AccountsDep, data: LoginBody) -> a.Tokens:
        return shaped(a.Tokens, accounts.login(data.username, data.password))

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        summary="A new access token for a refresh token",
        responses=doc(ex.ACCESS_TOKEN, 400, 401),
        sync_to_thread=True,
    )
    def refresh(self, accounts: AccountsDep, data: RefreshBody) -> a.AccessToken:
        return shaped(a.AccessToken, accounts.refresh(data.refresh_token))


@post(
    "/api/auth/login",
    status_code=HTTP_200_OK,
    opt=_PUBLIC,
    tags=["auth"],
    dependencies=ACCOUNTS,
    summary="Log in (Market7 form): token in the success envelope",
    responses=doc(ex.LEGACY_LOGIN, 400, 401),
    sync_to_thread=True,
)
def legacy_login(accounts: AccountsDep, data: LoginBody) -> a.LegacyLogin:
    tokens = accounts.login(data.username, data.password)
    return shaped(
        a.LegacyLogin, {"status": "success", "data": {**tokens, "token": tokens["access_token"]}, **tokens}
    )


class ApiKeyController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    dependencies = ACCOUNTS

    @get("/me", summary="The authenticated user", responses=doc(ex.ME, 401), sync_to_thread=True)
    def me(self, accounts: AccountsDep, principal: PrincipalDep) -> a.Me:
        return shaped(a.Me, accounts.me(principal))

    @post(
        "/keys",
        status_code=HTTP_201_CREATED,
        summary="Create an API key (shown once)",
        responses=doc(ex.NEW_API_KEY, 400, 401, 409, status=201, description="The new key"),
        sync_to_thread=True,
    )
    def create_key(
        self, accounts: AccountsDep, data: ApiKeyCreateBody, principal: PrincipalDep
    ) -> a.NewApiKey:
        return shaped(
            a.NewApiKey,
            {
                **accounts.create_key(principal, data.name),
                "note": "store this key now: it is not shown again",
            },
        )

    @get(
        "/keys",
        summary="API keys (yours; an admin sees all)",
        responses=doc(ex.API_KEYS, 401),
        sync_to_thread=True,
    )
    def list_keys(self, accounts: AccountsDep, principal: PrincipalDep) -> a.ApiKeyList:
        keys = accounts.list_keys(principal)
        return shaped(a.ApiKeyList, {"keys": keys, "count": len(keys)})

    @delete(
        "/keys/{key_id:str}",
        status_code=HTTP_200_OK,
        summary="Revoke an API key",
        responses=doc(ex.REVOKED_API_KEY, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def revoke_key(
        self, accounts: AccountsDep, key_id: FromPath[str], principal: PrincipalDep
    ) -> a.RevokedApiKey:
        return shaped(a.RevokedApiKey, {**accounts.revoke_key(principal, key_id), "status": "revoked"})
