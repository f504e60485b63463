"""The events a webhook can subscribe to (both client styles' names, e.g. training.finished and
training.completed)."""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.errors import InvalidRequestError

__all__ = ["EVENTS", "check_event", "check_events"]

EVENTS = (
    "prediction.completed",
    "training.started",
    "training.progress",
    "training.finished",
    "training.completed",
    "training.failed",
    "backtest.completed",
    "dataset.processed",
)


def check_event(event: str) -> str:
    """``event`` if it is one of EVENTS, else InvalidRequestError listing them."""
    if event not in EVENTS:
        raise InvalidRequestError(f"unknown webhook event {event!r}; the events are: {', '.join(EVENTS)}")
    return event


def check_events(events: Iterable[str]) -> list[str]:
    """The subscribed events, each known and listed once (first spelling order kept)."""
    if isinstance(events, str):
        raise InvalidRequestError("events must be a list of event names, not a single string")
    unique = list(dict.fromkeys(check_event(e) if isinstance(e, str) else _not_a_name(e) for e in events))
    if not unique:
        raise InvalidRequestError(f"give at least one event; the events are: {', '.join(EVENTS)}")
    return unique


def _not_a_name(value: object) -> str:
    raise InvalidRequestError(f"an event must be a name, got {value!r}")
