"""Answers of the exchange-key routes under /api/keys (plain bodies) and of the venue health checks
/api/binance/health and /api/3commas/health (the ``status``/``data``/``timestamp`` envelope)."""

from __future__ import annotations

from typing import Literal

from msgspec import UNSET, UnsetType

from serving.responses import Shape

__all__ = [
    "BinanceHealth",
    "BinanceHealthAnswer",
    "ExchangeKey",
    "KeyMessage",
    "KeyStored",
    "SyncAnswer",
    "SyncStarted",
    "ThreeCommasHealth",
    "ThreeCommasHealthAnswer",
]


class ExchangeKey(Shape):
    id: str
    provider_id: str
    provider_name: str
    environment: str
    label: str
    api_key_hint: str
    api_secret_hint: str
    created_at: str


class KeyStored(Shape):
    id: str
    message: str


class KeyMessage(Shape):
    message: str


class BinanceHealth(Shape):
    connected: bool
    account_type: str | None
    balance: str | None  # total of the quote asset, a decimal string
    trading_enabled: bool | None
    last_sync: str | None
    quote_asset: str | UnsetType = UNSET
    environment: str | UnsetType = UNSET  # of the key checked; absent without one
    reason: str | UnsetType = UNSET  # why it is not connected


class ThreeCommasHealth(Shape):
    connected: bool
    account_id: str | None
    balance: str | None  # the first account's USD value, a decimal string
    active_bots: int | None
    last_sync: str | None
    environment: str | UnsetType = UNSET  # of the key checked; absent without one
    reason: str | UnsetType = UNSET  # why it is not connected


class BinanceHealthAnswer(Shape):
    status: Literal["success"]
    data: BinanceHealth
    timestamp: str


class ThreeCommasHealthAnswer(Shape):
    status: Literal["success"]
    data: ThreeCommasHealth
    timestamp: str


class SyncStarted(Shape):
    source: str
    sync_started: str
    estimated_duration: str
    status: Literal["syncing"]
    job_id: str  # follow it at /api/v1/jobs/{job_id}
    job_status: str  # queued or running
    already_running: bool  # the answer is a sync of this venue that was running already


class SyncAnswer(Shape):
    status: Literal["success"]
    data: SyncStarted
    timestamp: str
