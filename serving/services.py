"""Everything a request handler needs, opened once per app (no globals): the app database and its
buffered log writer, the model registry and prediction service, the rate limiter, the token policy,
the Prometheus metrics and the observer that records requests, errors and predictions
(``serving/observation.py``). Handlers reach it through dependency injection (``services``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import redis
from filelock import FileLock
from litestar.di import NamedDependency
from litestar.types import Scope
from sqlalchemy import text

from pipelines.accounts import check_token_state
from pipelines.backtest.strategies import list_strategies
from pipelines.datasets import DatasetCatalog
from pipelines.db import BufferedLogWriter, Database, authenticate_api_key
from pipelines.errors import AuthenticationError
from pipelines.jobs import JobQueue
from pipelines.live.hub import relay
from pipelines.models.base import ModelKind
from pipelines.models.catalog import list_models
from pipelines.models.registry import ModelRegistry
from pipelines.monitoring import requests_per_minute
from pipelines.prediction import PredictionService
from pipelines.ratelimit import AsyncRateLimiter, RateDecision, limit_for_tier
from pipelines.redaction import redact_url
from pipelines.security.api_keys import hash_api_key
from pipelines.security.tokens import TokenPolicy, decode_token
from pipelines.settings import Settings
from pipelines.system import system_stats
from pipelines.user_admin import USER_CHANGES_TOPIC
from pipelines.webhooks import WebhookDispatcher, WebhookService
from serving.context import Principal
from serving.jobstreams import JOB_EVENTS_TOPIC, JobStreams, job_webhook_event
from serving.live import LiveService
from serving.metrics import ApiMetrics
from serving.observation import Observer
from serving.probes import HealthCache
from serving.streamguard import StreamGuard
from serving.usercache import UserStateCache

__all__ = ["Services", "ServicesDep"]

log = logging.getLogger("tradeforge.serving")
_KEY_CACHE_SECONDS = 30.0
KEY_REVOCATIONS_TOPIC = USER_CHANGES_TOPIC


class Services:
    """A plain class, not a dataclass: Litestar would otherwise try to validate it field by field
    when injecting it into handlers."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        log_writer: BufferedLogWriter,
        registry: ModelRegistry,
        predictions: PredictionService,
        limiter: AsyncRateLimiter,
        tokens: TokenPolicy,
        webhooks: WebhookService,
        dispatcher: WebhookDispatcher,
        jobs: JobQueue,
    ) -> None:
        self.settings = settings
        self.database = database
        self.log_writer = log_writer
        self.registry = registry
        self.predictions = predictions
        self.limiter = limiter
        self.tokens = tokens
        self.webhooks = webhooks
        self.dispatcher = dispatcher
        self.jobs = jobs
        self.datasets = DatasetCatalog(settings, database, jobs)
        self.live = LiveService(settings, predictions)
        self.leader: FileLock | None = None
        self.job_streams = JobStreams()
        self._relays: list[asyncio.Future[None]] = []
        self._stream_checks: asyncio.Future[None] | None = None
        jobs.subscribe(self._on_job_event)
        self.metrics = ApiMetrics()
        self.observer = Observer(self.metrics, log_writer)
        self.started_at = datetime.now(UTC)
        self.training: set[str] = set()
        self._keys: dict[str, tuple[str, float]] = {}  # API key digest -> (user id, valid until)
        self.user_states = UserStateCache(database, settings.auth.user_state_cache_seconds)
        self.streams = StreamGuard(self.user_states, database, settings.auth.stream_recheck_seconds)
        self._lock = threading.Lock()
        self.health = HealthCache(self._probe_checks, settings.serving.health_cache_seconds)

    # --- authentication -------------------------------------------------------------------------
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
            claims = decode_token(bearer, self.tokens.secret, "access")
            state = check_token_state(claims, self.user_states.get(claims.sub))
            return Principal(user_id=state.id, role=state.role, tier=state.tier, via="jwt")
        if api_key is not None:
            return self._principal_for_key(api_key)
        return None

    def _principal_for_key(self, key: str) -> Principal:
        digest = hash_api_key(key)
        now = time.monotonic()
        cached = self._keys.get(digest)
        if cached is None or cached[1] <= now:
            with self.database.transaction() as session:
                cached = (authenticate_api_key(session, key).id, now + _KEY_CACHE_SECONDS)
            self._keys[digest] = cached
        state = self.user_states.get(cached[0])
        if state is None or not state.is_active:
            raise AuthenticationError("the account owning this API key is disabled or deleted")
        return Principal(user_id=state.id, role=state.role, tier=state.tier, via="api_key")

    def forget_user(self, user_id: str | None = None) -> None:
        """Drop what is cached of a user (or of everyone) after a key revocation or an account
        change: here at once, and in the other workers through the hub (with Redis; otherwise
        they re-read a user within ``user_state_cache_seconds`` and a key within 30 s)."""
        self._drop_cached_keys({"user_id": user_id})
        try:
            self.live.hub.publish(KEY_REVOCATIONS_TOPIC, {"user_id": user_id})
        except Exception as exc:  # Redis unreachable: the others' caches expire on their own
            log.warning("could not tell the other workers of a user change (%s)", exc)

    def _drop_cached_keys(self, message: dict[str, Any]) -> None:
        user_id = message.get("user_id")
        with self._lock:
            for digest in [d for d, (u, _) in self._keys.items() if user_id is None or u == user_id]:
                self._keys.pop(digest, None)
        self.user_states.forget(user_id)
        self.streams.user_changed(user_id)  # after the forget: its check reads the new state

    # --- rate limits ----------------------------------------------------------------------------
    async def rate_limit(self, scope: Scope, principal: Principal | None) -> RateDecision:
        if principal is not None:
            key, tier = f"user:{principal.user_id}", principal.tier
        else:
            client = scope.get("client")
            key, tier = f"ip:{client[0] if client else 'unknown'}", self.settings.limits.default_tier
        try:
            limit = limit_for_tier(self.settings, tier)
        except Exception:
            limit = limit_for_tier(self.settings, None)
        decision = await self.limiter.hit(key, limit, self.settings.limits.rate_limit_window_seconds)
        if decision.degraded:
            self.metrics.rate_limit_degraded.inc()
        return decision

    # --- health ---------------------------------------------------------------------------------
    def check_health(self) -> dict[str, Any]:
        """Each backing service's state; ``status`` is "healthy" only when all of them are."""
        services: dict[str, str] = {}
        try:
            with self.database.session() as session:
                session.execute(text("SELECT 1"))
            services["database"] = "healthy"
        except Exception as exc:
            services["database"] = f"unhealthy: {type(exc).__name__}"
        services["cache"] = self._cache_health()
        active = 0
        try:
            active = sum(1 for s in list_models(self.registry.tracker) if s.champion_version is not None)
            services["ml_engine"] = "healthy"
        except Exception as exc:
            services["ml_engine"] = f"unhealthy: {type(exc).__name__}"
        market = self.settings.market_dir
        services["market_data"] = (
            "healthy" if market.is_dir() or not market.exists() else "unhealthy: not a folder"
        )
        ok = all(v == "healthy" for v in services.values())
        return {"status": "healthy" if ok else "degraded", "services": services, "active_models": active}

    def _probe_checks(self) -> dict[str, Any]:
        return {**self.check_health(), "system": system_stats(self.settings.home)}

    def _cache_health(self) -> str:
        if not self.settings.redis_url:
            return "healthy"
        try:
            client = redis.Redis.from_url(
                self.settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            try:
                client.ping()
            finally:
                client.close()
            return "healthy"
        except Exception as exc:
            return f"unhealthy: {type(exc).__name__}"

    def requests_per_minute(self) -> int:
        self.log_writer.flush()
        with self.database.session() as session:
            return int(requests_per_minute(session))

    def describe(self) -> dict[str, Any]:
        """Configuration a user may see (no secrets: URLs are shown without their passwords)."""
        s = self.settings
        return {
            "configuration": {
                "home": str(s.home),
                "database": redact_url(s.resolved_database_url()),
                "mlflow_tracking_uri": redact_url(s.resolved_mlflow_uri()),
                "redis": redact_url(s.redis_url) if s.redis_url else None,
                "rate_limits_per_window": dict(s.limits.rate_limits),
                "rate_limit_window_seconds": s.limits.rate_limit_window_seconds,
                "cors_origins": list(s.serving.cors_origins),
                "stock_source": s.data.stock_source,
                "crypto_source": s.data.crypto_source,
            },
            "models_loaded": [
                {"model_name": m.name, "version": m.version, "load_seconds": round(m.load_seconds, 4)}
                for m in self.registry.loaded()
            ],
            "strategies": [st["name"] for st in list_strategies()],
            "model_types": [k.value for k in ModelKind],
        }

    def uptime_seconds(self) -> float:
        return (datetime.now(UTC) - self.started_at).total_seconds()

    def publish(self, event: str, payload: dict[str, Any], user_id: str) -> None:
        """Notify the user's webhooks of ``event`` (recorded now, sent by the dispatcher's threads);
        a failure to record never fails the request that caused the event."""
        try:
            self.dispatcher.publish(event, payload, user_id)
        except Exception as exc:
            log.warning("could not record webhook event %s: %s", event, type(exc).__name__)

    def _on_job_event(self, event: dict[str, Any]) -> None:
        """A job event of this process (queue thread or request): its webhooks, then every worker's
        streams through the hub (``serving/jobstreams.py``)."""
        user_id = event.get("user_id")
        data = event["data"]
        webhook_event = job_webhook_event(event)
        if webhook_event is not None and user_id:
            payload: dict[str, Any] | None = None
            try:
                if webhook_event == "dataset.processed":
                    payload = self.datasets.processed_event(data)
                else:
                    payload = {"job_id": data.get("task_id"), **data}
            except Exception as exc:  # the streams below must still get the event
                log.warning("could not build the %s webhook payload: %s", webhook_event, exc)
            if payload is not None:
                self.publish(webhook_event, payload, str(user_id))
        try:
            self.live.hub.publish(JOB_EVENTS_TOPIC, event)
        except Exception as exc:  # Redis unreachable: this worker's own streams still get it
            log.warning("could not publish job event to the hub (%s); local streams only", exc)
            self._deliver_job_event(event)

    def _deliver_job_event(self, event: dict[str, Any]) -> None:
        """A job event from any worker: to this worker's SSE streams and model cache."""
        self.job_streams.publish(event)
        data = event["data"]
        if event["type"] == "task_completed" and data.get("task_type") == "training":
            result = data.get("result") or {}
            if result.get("model_name"):
                self.predictions.reload(str(result["model_name"]))

    async def start_relays(self) -> None:
        """Follow the hub's job events and user changes (subscribed when this returns), and check
        open streams' users (``serving/streamguard.py``)."""
        hub = self.live.hub
        self._relays = [
            asyncio.ensure_future(relay(hub, JOB_EVENTS_TOPIC, self._deliver_job_event)),
            asyncio.ensure_future(relay(hub, KEY_REVOCATIONS_TOPIC, self._drop_cached_keys)),
        ]
        self._stream_checks = asyncio.ensure_future(self.streams.run())
        await asyncio.sleep(0)  # each relay's first step subscribes

    async def aclose(self) -> None:
        if self._stream_checks is not None:
            self._stream_checks.cancel()
        await self.live.close()  # closes the hub, which ends the relays
        for task in self._relays:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5.0)
        self.jobs.close(wait=False)
        self.dispatcher.close(timeout=5.0)
        self.log_writer.close()
        await self.limiter.aclose()
        if self.leader is not None:
            self.leader.release()
        self.database.close()


ServicesDep = NamedDependency[Services]
"""How a handler asks for the services: ``services: ServicesDep``."""
