"""What the WebSocket routes (/api/v1/ws/*, /ws) need: authentication and the rate limit of a
connection, the live hub and feed, model resolution, the stream guard and the slow-consumer count."""

from __future__ import annotations

from collections.abc import Iterable

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.types import Scope

from pipelines.prediction import Predictor
from pipelines.settings import Settings
from serving.access import AccessControl
from serving.context import Principal
from serving.live import LiveService
from serving.metrics import ApiMetrics
from serving.ratelimit import RateDecision

__all__ = ["LIVE", "LiveDep", "LiveProvider"]


class LiveProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        live: LiveService,
        predictions: Predictor,
        access: AccessControl,
        metrics: ApiMetrics,
    ) -> None:
        self.settings = settings
        self.live = live
        self.predictions = predictions
        self.metrics = metrics
        self.streams = access.streams
        self._access = access

    def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> Principal | None:
        return self._access.authenticate(headers)

    async def rate_limit(self, scope: Scope, principal: Principal | None) -> RateDecision:
        return await self._access.rate_limit(scope, principal)


LiveDep = NamedDependency[LiveProvider]


def _provide(state: State) -> LiveProvider:
    provider: LiveProvider = state.container.live_provider
    return provider


LIVE = {"feeds": Provide(_provide, sync_to_thread=False)}
"""The dependency of the WebSocket handlers: ``feeds: LiveDep``."""
