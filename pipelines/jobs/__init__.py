"""The durable, resource-aware job queue: long work off the request path, in worker processes."""

from __future__ import annotations

from pipelines.jobs.events import EventBus, JobEvent, Subscriber
from pipelines.jobs.queue import JobQueue
from pipelines.jobs.records import RESTART_REASON, JobInfo, Requester, kind_label
from pipelines.jobs.resources import Demand, Free, PsutilProbe, ResourceProbe, insufficiency
from pipelines.jobs.task_kinds import ProgressReporter, TaskKinds, TaskSpec, register_task, task_spec

__all__ = [
    "RESTART_REASON",
    "Demand",
    "EventBus",
    "Free",
    "JobEvent",
    "JobInfo",
    "JobQueue",
    "ProgressReporter",
    "PsutilProbe",
    "Requester",
    "ResourceProbe",
    "Subscriber",
    "TaskKinds",
    "TaskSpec",
    "insufficiency",
    "kind_label",
    "register_task",
    "task_spec",
]
