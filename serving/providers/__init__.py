"""One provider per controller family, built once at start-up from the app container's shared
resources and injected into that family's handlers with ``Provide`` (``dependencies = MODELS``, ...).
A provider opens its own unit of work for each operation: handlers never see the database."""

from __future__ import annotations

from serving.providers.accounts import AccountsProvider
from serving.providers.analysis import AnalysisProvider
from serving.providers.health import HealthProvider
from serving.providers.jobs import JobsProvider
from serving.providers.live import LiveProvider
from serving.providers.models import ModelsProvider
from serving.providers.monitoring import MonitoringProvider
from serving.providers.webhooks import WebhooksProvider

__all__ = [
    "AccountsProvider",
    "AnalysisProvider",
    "HealthProvider",
    "JobsProvider",
    "LiveProvider",
    "ModelsProvider",
    "MonitoringProvider",
    "WebhooksProvider",
]
