"""An app database on a temp home and queues over it (closed, their workers gone, after each test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pipelines.db import Database, open_database
from pipelines.jobs import JobEvent, JobQueue
from pipelines.settings import Settings
from tests.jobs.sample_tasks import FakeProbe, sample_tasks


@dataclass(frozen=True)
class Who:
    id: str
    is_admin: bool = False


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = open_database(settings)
    yield db
    db.close()


@pytest.fixture
def probe() -> FakeProbe:
    return FakeProbe()


@pytest.fixture
def make_queue(settings: Settings, database: Database, probe: FakeProbe) -> Iterator[Callable[..., JobQueue]]:
    queues: list[JobQueue] = []

    def make(**kwargs: Any) -> JobQueue:
        kwargs.setdefault("probe", probe)
        kwargs.setdefault("progress_interval", 0.0)
        kwargs.setdefault("poll_interval", 0.1)
        tasks = kwargs.pop("tasks", None) or sample_tasks()
        queue = JobQueue(settings, database, tasks, **kwargs)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.close()


@pytest.fixture
def events() -> list[JobEvent]:
    return []
