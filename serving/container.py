"""The app-lifetime container: the resources every feature shares (database and log writer, model
registry and prediction service, job queue, webhooks, live hub, rate limiter), opened once at start
(``serving/startup.py``) and closed in order at shutdown. Handlers never receive it: each controller
family is given its own provider (``serving/providers``), built here from these resources."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from filelock import FileLock

from pipelines.app.datasets import DatasetCatalog
from pipelines.app.exchange_exits import on_tick
from pipelines.app.exchange_trades import ExchangeTrades
from pipelines.app.learned_models import TrainedModels
from pipelines.app.learning import TrainingService
from pipelines.app.live_signals import LiveModels
from pipelines.app.strategy_runs import StrategyRuns
from pipelines.app.trades import TradeDesk
from pipelines.app.trading_metrics import trading_figures
from pipelines.db import BufferedLogWriter, Database, TrainingGuard
from pipelines.jobs import JobQueue
from pipelines.models.registry import ModelRegistry
from pipelines.prediction import Predictor
from pipelines.security.tokens import TokenPolicy
from pipelines.settings import Settings
from pipelines.trading.events import install_trading_hub, uninstall_trading_hub
from pipelines.trading.strategy_store import StrategyStore
from pipelines.webhooks import WebhookDispatcher, WebhookSubscriptions
from serving.access import AccessControl
from serving.events import EventRouter
from serving.live import LiveService
from serving.metrics import ApiMetrics
from serving.observation import Observer
from serving.providers import (
    AccountsProvider,
    AnalysisProvider,
    HealthProvider,
    JobsProvider,
    LiveProvider,
    ModelsProvider,
    MonitoringProvider,
    WebhooksProvider,
)
from serving.providers.exchanges import ExchangesProvider
from serving.providers.ml import MlProvider
from serving.providers.status import StatusProvider
from serving.providers.strategies import StrategiesProvider
from serving.providers.trading_config import ConfigProvider
from serving.ratelimit import AsyncRateLimiter

__all__ = ["AppContainer"]

log = logging.getLogger("tradeforge.serving")


class AppContainer:
    """A plain class, not a dataclass: it is never validated nor injected field by field."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        log_writer: BufferedLogWriter,
        registry: ModelRegistry,
        predictions: Predictor,
        limiter: AsyncRateLimiter,
        tokens: TokenPolicy,
        webhooks: WebhookSubscriptions,
        dispatcher: WebhookDispatcher,
        jobs: JobQueue,
        leader: FileLock | None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.log_writer = log_writer
        self.registry = registry
        self.predictions = predictions
        self.limiter = limiter
        self.dispatcher = dispatcher
        self.jobs = jobs
        self.leader = leader
        self.started_at = datetime.now(UTC)
        self.datasets = DatasetCatalog(settings, database, jobs)
        self.training = TrainingService(settings, database, jobs, self.datasets)
        self.trained_models = TrainedModels(settings, database)
        self.trade_desk = TradeDesk(settings, database)
        self.live = LiveService(settings, predictions)
        models = LiveModels(settings, database, registry=registry, log=log_writer.submit)
        self.strategy_runs = StrategyRuns(
            settings, database, self.trade_desk, source_of=self.live.source_of, models=models
        )
        self.metrics = ApiMetrics(disk_path=settings.home)
        self.metrics.watch_trading(lambda: trading_figures(database))
        self.observer = Observer(self.metrics, log_writer)
        self.access = AccessControl(
            settings=settings,
            database=database,
            tokens=tokens,
            limiter=limiter,
            metrics=self.metrics,
            hub=self.live.hub,
        )
        self.events = EventRouter(
            hub=self.live.hub,
            dispatcher=dispatcher,
            datasets=self.datasets,
            training=self.training,
            predictions=predictions,
            access=self.access,
        )
        jobs.subscribe(self.events.on_job_event)
        self._build_providers(tokens, webhooks)

    def _build_providers(self, tokens: TokenPolicy, webhooks: WebhookSubscriptions) -> None:
        """One provider per controller family, over the shared resources."""
        settings, database, registry, jobs = self.settings, self.database, self.registry, self.jobs
        self.accounts_provider = AccountsProvider(
            settings=settings,
            database=database,
            tokens=tokens,
            jobs=jobs,
            datasets=self.datasets,
            access=self.access,
        )
        self.models_provider = ModelsProvider(
            settings=settings,
            database=database,
            registry=registry,
            predictions=self.predictions,
            jobs=jobs,
            training=TrainingGuard(database),
            observer=self.observer,
            events=self.events,
        )
        self.analysis_provider = AnalysisProvider(
            settings=settings, database=database, registry=registry, jobs=jobs, datasets=self.datasets
        )
        self.jobs_provider = JobsProvider(
            settings=settings, database=database, jobs=jobs, events=self.events, access=self.access
        )
        self.webhooks_provider = WebhooksProvider(database=database, webhooks=webhooks)
        self.monitoring_provider = MonitoringProvider(
            settings=settings, database=database, log_writer=self.log_writer, started_at=self.started_at
        )
        self.health_provider = HealthProvider(
            settings=settings,
            database=database,
            log_writer=self.log_writer,
            registry=registry,
            metrics=self.metrics,
            live=self.live,
            events=self.events,
            started_at=self.started_at,
        )
        self.status_provider = StatusProvider(
            settings=settings,
            database=database,
            health=self.health_provider,
            metrics=self.metrics,
            predictions=self.predictions,
        )
        self.ml_provider = MlProvider(
            database=database, log_writer=self.log_writer, models=self.models_provider
        )
        self._build_trading_providers()
        self.live_provider = LiveProvider(
            settings=settings,
            live=self.live,
            predictions=self.predictions,
            access=self.access,
            metrics=self.metrics,
        )

    def _build_trading_providers(self) -> None:
        """The trading families: configuration, exchange keys and venues, live strategies."""
        settings, database = self.settings, self.database
        self.config_provider = ConfigProvider(database=database)
        self.exchanges_provider = ExchangesProvider(settings=settings, database=database, jobs=self.jobs)
        self.trade_desk.venues = ExchangeTrades(settings, database, self.exchanges_provider.store)
        self.strategies_provider = StrategiesProvider(
            database=database, store=StrategyStore(self.strategy_runs)
        )

    async def start(self, *, leader: bool) -> None:
        """Start the live hub (and the feed, in the leader, with the active strategies' runners fed by
        it), the event relays and trading events."""
        if leader:
            started = await asyncio.to_thread(self.strategy_runs.lead)
            log.info("%d live strategies running", started)
            self.live.tick_listeners.append(self.strategy_runs.on_bars)
            venues = self.trade_desk.venues
            if venues is not None:  # exchange trades' stop-losses and take-profits, closed at the venue
                self.live.tick_listeners.append(lambda _timeframe, bars: on_tick(venues, bars))
        await self.live.start(run_feed=leader)
        if leader:  # the feed also carries the series the active strategies trade
            await asyncio.to_thread(self.strategy_runs.follow_feed, self.live.follow)
        await self.events.start()
        install_trading_hub(self.live.hub)  # the trading core's events reach every worker's streams

    async def aclose(self) -> None:
        self.events.stop_stream_checks()
        uninstall_trading_hub(self.live.hub)
        await self.live.close()  # closes the hub, which ends the relays
        self.strategy_runs.close()
        await self.events.wait_relays()
        self.jobs.close(wait=False)
        self.dispatcher.close(timeout=5.0)
        self.log_writer.close()
        self.predictions.close()
        await self.limiter.aclose()
        if self.leader is not None:
            self.leader.release()
        self.database.close()
