"""Per-request values the middleware stores in the ASGI scope (request id, principal, limits)."""

from __future__ import annotations

import random
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, cast

from litestar.di import NamedDependency
from litestar.types import Scope

__all__ = ["Principal", "PrincipalDep", "principal_of", "request_id_of", "user_id_of"]

_KEY = "tradeforge"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: from a JWT access token or an API key."""

    user_id: str
    role: str
    tier: str
    via: str  # "jwt" | "api_key"

    @property
    def id(self) -> str:
        """The user id (what the job queue's ownership checks read)."""
        return self.user_id

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def scope_user_id(self) -> str | None:
        """The user id to filter owned rows by; None for an admin, who sees everything."""
        return None if self.is_admin else self.user_id


# The ASGI scope of a request or a WebSocket, or any mapping standing in for one (tests).
AnyScope = Scope | MutableMapping[str, Any]


def _slot(scope: AnyScope) -> dict[str, Any]:
    mapping = cast(MutableMapping[str, Any], scope)  # our own key, beside the ASGI ones
    slot: dict[str, Any] | None = mapping.get(_KEY)
    if slot is None:
        slot = {}
        mapping[_KEY] = slot
    return slot


def request_id_of(scope: AnyScope) -> str:
    """The request's id, made on first use (requests that never reach the middleware get one too)."""
    slot = _slot(scope)
    rid: str | None = slot.get("request_id")
    if rid is None:
        # 64 random bits: an id to find a request by, not a secret (the random module is reseeded
        # in a forked worker, so workers never share a sequence), a tenth of os.urandom's cost.
        rid = f"req_{random.getrandbits(64):016x}"
        slot["request_id"] = rid
    return rid


def principal_of(scope: AnyScope) -> Principal | None:
    return _slot(scope).get("principal")


def user_id_of(scope: AnyScope) -> str | None:
    p = principal_of(scope)
    return p.user_id if p is not None else None


def set_value(scope: AnyScope, key: str, value: Any) -> None:
    _slot(scope)[key] = value


def get_value(scope: AnyScope, key: str) -> Any:
    return _slot(scope).get(key)


PrincipalDep = NamedDependency[Principal]
"""How a handler asks for its authenticated caller: ``principal: PrincipalDep``."""
