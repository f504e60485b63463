"""Accounts for admins: disable or enable a user, change their role, delete them. Each change
revokes the user's live tokens at once and applies to their API keys at their next request."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, patch
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from litestar.status_codes import HTTP_200_OK

from pipelines.errors import InvalidRequestError, PermissionDeniedError
from serving import dto
from serving.context import Principal, PrincipalDep
from serving.providers.accounts import ACCOUNTS, AccountsDep
from serving.responses import admin as a
from serving.responses import shaped
from serving.schemas import admin_examples as ex
from serving.schemas import doc

__all__ = ["UserController"]

UserUpdateBody = Annotated[
    dto.UserUpdate,
    Body(
        examples=[
            Example(summary="disable", value={"is_active": False}),
            Example(summary="make admin", value={"role": "admin"}),
        ]
    ),
]


def _admin_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDeniedError("managing users needs the admin role")


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["auth"]
    dependencies = ACCOUNTS

    @patch(
        "/{username:str}",
        status_code=HTTP_200_OK,
        summary="Enable or disable a user, or change their role (admin)",
        description="The user's access tokens stop working at once; their API keys follow the "
        "account's new state; their open WebSockets and event streams are closed when disabled "
        "(and, when demoted, the event streams that showed every user's jobs). The last active admin "
        "cannot be disabled or demoted (409).",
        responses=doc(ex.USER, 400, 401, 403, 404, 409),
        sync_to_thread=True,
    )
    def update_user(
        self, accounts: AccountsDep, username: FromPath[str], data: UserUpdateBody, principal: PrincipalDep
    ) -> a.User:
        _admin_only(principal)
        if data.is_active is None and data.role is None:
            raise InvalidRequestError("give is_active or role (or both)")
        return shaped(a.User, accounts.update_user(username, is_active=data.is_active, role=data.role))

    @delete(
        "/{username:str}",
        status_code=HTTP_200_OK,
        summary="Delete a user with their API keys, webhooks and datasets (admin)",
        description="Their queued and running jobs are cancelled, their datasets' files removed, "
        "and their open WebSockets and event streams closed.",
        responses=doc(ex.USER, 400, 401, 403, 404, 409, description="The deleted account"),
        sync_to_thread=True,
    )
    def delete_user(self, accounts: AccountsDep, username: FromPath[str], principal: PrincipalDep) -> a.User:
        _admin_only(principal)
        return shaped(a.User, accounts.delete_user(username))
