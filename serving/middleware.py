"""The request pipeline around every matched HTTP route, in one raw ASGI layer (cheapest per call).

In order: request id (a sane incoming ``X-Request-ID`` is kept), authentication (JWT bearer or
``X-API-Key``; routes marked ``opt={"public": True}`` accept anonymous callers), the caller's rate
limit (per user and tier; anonymous callers per client address at the default tier), then the
handler. Probes and scrapes (routes marked ``opt={"probe": True}`` and the ``/schema`` pages) skip
authentication and limits altogether: a load balancer or Prometheus is never refused with a 429.
Afterwards the latency and status go to Prometheus and (probes aside) the request log (buffered,
never a database write on the request path). ``before_send`` adds the id and limit headers to every
response, including the ones of unknown routes, which never reach a route's middleware.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote_to_bytes

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from pipelines.errors import AuthenticationError
from serving.context import get_value, principal_of, request_id_of, set_value
from serving.errors import ApiError

if TYPE_CHECKING:
    from serving.container import AppContainer

__all__ = ["ApiMiddleware", "before_send"]

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _container(scope: Scope) -> AppContainer:
    container: AppContainer = scope["litestar_app"].state.container
    return container


def _incoming_request_id(scope: Scope) -> None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.match(text):
                set_value(scope, "request_id", text)
            return


def _headers_with_query_token(scope: Scope) -> list[tuple[bytes, bytes]]:
    """EventSource cannot send headers: routes marked ``query_token`` accept ``?token=<access token>``."""
    headers = list(scope["headers"])
    if any(name in (b"authorization", b"x-api-key") for name, _ in headers):
        return headers
    for part in scope.get("query_string", b"").split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"token" and value:
            return [*headers, (b"authorization", b"Bearer " + unquote_to_bytes(value))]
    return headers


async def admit(scope: Scope, container: AppContainer, *, public: bool, query_token: bool = False) -> None:
    """Authenticate and rate-limit ``scope``'s caller, or raise the 401/429 ``ApiError``."""
    headers = _headers_with_query_token(scope) if query_token else scope["headers"]
    principal = container.access.authenticate(headers)  # AuthenticationError on bad credentials
    set_value(scope, "principal", principal)
    if principal is None and not public:
        raise AuthenticationError(
            "authentication required: send 'Authorization: Bearer <access token>' or 'X-API-Key: <key>'"
        )
    decision = await container.access.rate_limit(scope, principal)
    set_value(scope, "ratelimit", decision)
    if not decision.allowed:
        container.metrics.rate_limited.labels(principal.tier if principal else "anonymous").inc()
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"rate limit of {decision.limit} requests per "
            f"{container.settings.limits.rate_limit_window_seconds} s "
            f"exceeded; retry in {decision.retry_after} s",
            {"limit": decision.limit, "reset": decision.reset, "retry_after": decision.retry_after},
        )


class ApiMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        container = _container(scope)
        _incoming_request_id(scope)
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        opt = scope["route_handler"].opt
        probe = _is_probe(scope, opt)
        try:
            if probe:
                set_value(scope, "probe", True)
            else:
                await admit(
                    scope, container, public=bool(opt.get("public")), query_token=bool(opt.get("query_token"))
                )
            await self.app(scope, receive, send_wrapper)
        finally:
            container.observer.observe_request(
                scope,
                method=scope["method"],
                route=scope.get("path_template") or scope["path"],
                status=status,
                seconds=time.perf_counter() - began,
                logged=not probe,
            )


def _is_probe(scope: Scope, opt: dict[str, Any]) -> bool:
    """A probe or scrape: never authenticated, never rate-limited, counted in Prometheus only."""
    if opt.get("probe"):
        return True
    path: str = scope["path"]
    return path == "/schema" or path.startswith("/schema/")


async def before_send(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
        return
    if get_value(scope, "ratelimit") is None and get_value(scope, "admitting") is None:
        if get_value(scope, "probe"):
            _put_headers(message, {b"x-request-id": request_id_of(scope).encode("latin-1")})
            return
        # A response that never passed the middleware (an unknown route): count it against the
        # caller all the same, best effort (bad credentials here are simply anonymous).
        set_value(scope, "admitting", True)
        access = _container(scope).access
        try:
            principal = access.authenticate(scope["headers"])
        except AuthenticationError:
            principal = None
        set_value(scope, "ratelimit", await access.rate_limit(scope, principal))
        if principal_of(scope) is None:
            set_value(scope, "principal", principal)
    values = {b"x-request-id": request_id_of(scope).encode("latin-1")}
    decision: Any = get_value(scope, "ratelimit")
    if decision is not None:
        for name, value in _limit_headers(decision).items():
            values[name.lower().encode("latin-1")] = value.encode("latin-1")
    _put_headers(message, values)


def _put_headers(message: Message, values: dict[bytes, bytes]) -> None:
    """Set these (lower-case) headers on a response start, replacing any of the same names, on the
    raw header list (cheaper than a header map built and written back on every response)."""
    start = cast(HTTPResponseStartEvent, message)
    raw = list(start.get("headers") or ())
    if any(name.lower() in values for name, _ in raw):
        raw = [(name, value) for name, value in raw if name.lower() not in values]
    raw.extend(values.items())
    start["headers"] = raw


def _limit_headers(decision: Any) -> dict[str, str]:
    if decision.limit is None:
        return {
            "X-RateLimit-Limit": "unlimited",
            "X-RateLimit-Remaining": "unlimited",
            "X-RateLimit-Reset": str(decision.reset),
        }
    out: dict[str, str] = decision.headers()
    return out
