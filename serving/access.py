"""Who is calling and whether they may call now: authentication (JWT bearer or ``X-API-Key``, with a
short cache of API keys and of verified access tokens) and the per-user rate limit. The middleware
and the WebSocket handlers use it; an account change tells every worker's copy through the hub
(``forget_user``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from litestar.types import Scope

from pipelines.app.account_admin import USER_CHANGES_TOPIC
from pipelines.app.accounts import check_token_state
from pipelines.db import Database, authenticate_api_key
from pipelines.errors import AuthenticationError
from pipelines.live.hub import Hub
from pipelines.security.tokens import TokenClaims, TokenPolicy, decode_token
from pipelines.settings import Settings
from serving.context import Principal
from serving.metrics import ApiMetrics
from serving.ratelimit import AsyncRateLimiter, RateDecision, limit_for_tier
from serving.streamguard import StreamGuard
from serving.usercache import UserStateCache

__all__ = ["KEY_REVOCATIONS_TOPIC", "AccessControl"]

log = logging.getLogger("tradeforge.serving")
_KEY_CACHE_SECONDS = 30.0
_MAX_VERIFIED = 10_000  # access tokens whose signature was checked already, API keys found valid
KEY_REVOCATIONS_TOPIC = USER_CHANGES_TOPIC


class AccessControl:
    """Authenticates callers and applies their rate limit."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        tokens: TokenPolicy,
        limiter: AsyncRateLimiter,
        metrics: ApiMetrics,
        hub: Hub,
    ) -> None:
        self.settings = settings
        self._database = database
        self._tokens = tokens
        self._limiter = limiter
        self._metrics = metrics
        self._hub = hub
        # API key -> (user id, valid until): a key found valid is not looked up (nor hashed) again
        # for 30 s; revoking it or changing its user drops the user's entries at once.
        self._keys: dict[str, tuple[str, float]] = {}
        self._verified: dict[str, TokenClaims] = {}  # access token -> its verified claims
        self._lock = threading.Lock()
        self.user_states = UserStateCache(database, settings.auth.user_state_cache_seconds)
        self.streams = StreamGuard(self.user_states, database, settings.auth.stream_recheck_seconds)

    def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> Principal | None:
        """The caller of a request with these raw ASGI headers; None when it sent no credentials."""
        bearer: str | None = None
        api_key: str | None = None
        for name, value in headers:
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not credentials.strip():
                    raise AuthenticationError("the Authorization header must be 'Bearer <access token>'")
                bearer = credentials.strip()
            elif name == b"x-api-key":
                api_key = value.decode("latin-1").strip()
        if bearer is not None:
            # Role and tier come from the user's current state, never from the token alone.
            claims = self._access_claims(bearer)
            state = check_token_state(claims, self.user_states.get(claims.sub))
            return Principal(user_id=state.id, role=state.role, tier=state.tier, via="jwt")
        if api_key is not None:
            return self._principal_for_key(api_key)
        return None

    def _access_claims(self, token: str) -> TokenClaims:
        """The verified claims of an access token: checked once (signature, type, claims), then
        reused until it expires. Revocation is the user state's check, made on every request."""
        cached = self._verified.get(token)
        if cached is not None and cached.exp.timestamp() > time.time():
            return cached
        claims = decode_token(token, self._tokens.secret, "access")  # expired: AuthenticationError
        with self._lock:
            if len(self._verified) >= _MAX_VERIFIED:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _principal_for_key(self, key: str) -> Principal:
        now = time.monotonic()
        cached = self._keys.get(key)  # by the key itself: no hash on a hit
        if cached is None or cached[1] <= now:
            with self._database.transaction() as session:
                cached = (authenticate_api_key(session, key).id, now + _KEY_CACHE_SECONDS)
            with self._lock:
                if len(self._keys) >= _MAX_VERIFIED:
                    self._keys.clear()
                self._keys[key] = cached
        state = self.user_states.get(cached[0])
        if state is None or not state.is_active:
            raise AuthenticationError("the account owning this API key is disabled or deleted")
        return Principal(user_id=state.id, role=state.role, tier=state.tier, via="api_key")

    def forget_user(self, user_id: str | None = None) -> None:
        """Drop what is cached of a user (or of everyone) after a key revocation or an account
        change: here at once, and in the other workers through the hub (with Redis; otherwise
        they re-read a user within ``user_state_cache_seconds`` and a key within 30 s)."""
        self.drop_cached_keys({"user_id": user_id})
        try:
            self._hub.publish(KEY_REVOCATIONS_TOPIC, {"user_id": user_id})
        except Exception as exc:  # Redis unreachable: the others' caches expire on their own
            log.warning("could not tell the other workers of a user change (%s)", exc)

    def drop_cached_keys(self, message: dict[str, Any]) -> None:
        """Forget a user's (``message["user_id"]``, or everyone's) cached keys and state, and
        re-check their open streams; the hub relays every worker's changes here."""
        user_id = message.get("user_id")
        with self._lock:
            for key in [k for k, (u, _) in self._keys.items() if user_id is None or u == user_id]:
                self._keys.pop(key, None)
        self.user_states.forget(user_id)
        self.streams.user_changed(user_id)  # after the forget: its check reads the new state

    async def rate_limit(self, scope: Scope, principal: Principal | None) -> RateDecision:
        """Count one call against the caller (per user and tier; anonymous callers per address)."""
        if principal is not None:
            key, tier = f"user:{principal.user_id}", principal.tier
        else:
            client = scope.get("client")
            key, tier = f"ip:{client[0] if client else 'unknown'}", self.settings.limits.default_tier
        try:
            limit = limit_for_tier(self.settings, tier)
        except Exception:
            limit = limit_for_tier(self.settings, None)
        decision = await self._limiter.hit(key, limit, self.settings.limits.rate_limit_window_seconds)
        if decision.degraded:
            self._metrics.rate_limit_degraded.inc()
        return decision
