"""Where events go: a user's webhooks (``publish``), and every worker's job-event streams and model
cache (job events of this process are published to the hub, and the hub's events from any worker
are delivered here). The relays that follow the hub live as long as the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pipelines.app.datasets import DatasetCatalog
from pipelines.app.learning import TrainingService
from pipelines.app.learning_job import DL_TRAINING_JOB
from pipelines.live.hub import Hub, relay
from pipelines.prediction import Predictor
from pipelines.webhooks import WebhookDispatcher
from serving.access import KEY_REVOCATIONS_TOPIC, AccessControl
from serving.jobstreams import JOB_EVENTS_TOPIC, JobStreams, job_webhook_event

__all__ = ["EventRouter"]

log = logging.getLogger("tradeforge.serving")


class EventRouter:
    """Routes job events to webhooks and streams, and user changes to the access caches."""

    def __init__(
        self,
        *,
        hub: Hub,
        dispatcher: WebhookDispatcher,
        datasets: DatasetCatalog,
        training: TrainingService,
        predictions: Predictor,
        access: AccessControl,
    ) -> None:
        self._hub = hub
        self._dispatcher = dispatcher
        self._datasets = datasets
        self._training = training
        self._predictions = predictions
        self._access = access
        self.job_streams = JobStreams()
        self._relays: list[asyncio.Future[None]] = []
        self._stream_checks: asyncio.Future[None] | None = None

    def publish(self, event: str, payload: dict[str, Any], user_id: str) -> None:
        """Notify the user's webhooks of ``event`` (recorded now, sent by the dispatcher's threads);
        a failure to record never fails the request that caused the event."""
        try:
            self._dispatcher.publish(event, payload, user_id)
        except Exception as exc:
            log.warning("could not record webhook event %s: %s", event, type(exc).__name__)

    def on_job_event(self, event: dict[str, Any]) -> None:
        """A job event of this process (queue thread or request): its webhooks, then every worker's
        streams through the hub (``serving/jobstreams.py``)."""
        user_id = event.get("user_id")
        data = event["data"]
        if data.get("task_type") == DL_TRAINING_JOB:
            self._training_webhook(event)
        webhook_event = job_webhook_event(event)
        if webhook_event is not None and user_id:
            payload: dict[str, Any] | None = None
            try:
                if webhook_event == "dataset.processed":
                    payload = self._datasets.processed_event(data)
                else:
                    payload = {"job_id": data.get("task_id"), **data}
            except Exception as exc:  # the streams below must still get the event
                log.warning("could not build the %s webhook payload: %s", webhook_event, exc)
            if payload is not None:
                self.publish(webhook_event, payload, str(user_id))
        try:
            self._hub.publish(JOB_EVENTS_TOPIC, event)
        except Exception as exc:  # Redis unreachable: this worker's own streams still get it
            log.warning("could not publish job event to the hub (%s); local streams only", exc)
            self._deliver_job_event(event)

    def _training_webhook(self, event: dict[str, Any]) -> None:
        """The training platform's ``training.*`` webhooks (started, each 10%, completed, failed)."""
        user_id = event.get("user_id")
        try:
            found = self._training.webhook(event)
        except Exception as exc:  # the streams must still get the event
            log.warning("could not build a training webhook payload: %s", exc)
            return
        if found is not None and user_id:
            self.publish(found[0], found[1], str(user_id))

    def _deliver_job_event(self, event: dict[str, Any]) -> None:
        """A job event from any worker: to this worker's SSE streams and model cache."""
        self.job_streams.publish(event)
        data = event["data"]
        if event["type"] == "task_completed" and data.get("task_type") == "training":
            result = data.get("result") or {}
            if result.get("model_name"):
                self._predictions.reload(str(result["model_name"]))

    async def start(self) -> None:
        """Follow the hub's job events and user changes (subscribed when this returns), and check
        open streams' users (``serving/streamguard.py``)."""
        self._relays = [
            asyncio.ensure_future(relay(self._hub, JOB_EVENTS_TOPIC, self._deliver_job_event)),
            asyncio.ensure_future(relay(self._hub, KEY_REVOCATIONS_TOPIC, self._access.drop_cached_keys)),
        ]
        self._stream_checks = asyncio.ensure_future(self._access.streams.run())
        await asyncio.sleep(0)  # each relay's first step subscribes

    def stop_stream_checks(self) -> None:
        if self._stream_checks is not None:
            self._stream_checks.cancel()

    async def wait_relays(self) -> None:
        """Wait (5 s at most each) for the relays to end once the hub is closed."""
        for task in self._relays:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5.0)
