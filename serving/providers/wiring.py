"""How a controller family receives its provider: ``dependencies = provides("models", ...)`` gives
the handlers ``models: ModelsDep`` (the provider built at start-up, read from the app state's
``container``) and a
``principal`` that Litestar resolves after it.

The principal is chained to the provider on purpose: two independent dependencies are resolved in
an anyio task group per request, which costs more than either of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from pipelines.errors import AuthenticationError
from serving.context import Principal, principal_of

__all__ = ["authenticated", "provides"]


def authenticated(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller (the middleware has refused anonymous calls to non-public routes)."""
    principal = principal_of(request.scope)
    if principal is None:
        raise AuthenticationError("authentication required")
    return principal


def provides(
    name: str, provide: Callable[[State], Any], principal: Callable[..., Principal]
) -> dict[str, Provide]:
    """The dependencies of one controller family: its provider under ``name``, and ``principal``
    (``principal`` takes the provider as its first parameter, named ``name``)."""
    return {
        name: Provide(provide, sync_to_thread=False),
        "principal": Provide(principal, sync_to_thread=False),
    }
