"""Examples for the OpenAPI schema of /api/keys and the venue health checks, and the key bodies."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar.openapi.spec import Example
from litestar.params import Body

from pipelines.trading.credentials import MAX_KEY_LENGTH, MAX_LABEL_LENGTH, MAX_SECRET_LENGTH
from serving.schemas.admin_examples import NOW, Json

__all__ = [
    "BINANCE_DOWN",
    "BINANCE_HEALTH",
    "KEYS",
    "KEY_CREATE",
    "KEY_DELETED",
    "KEY_STORED",
    "KEY_UPDATE",
    "KEY_UPDATED",
    "SYNC_STARTED",
    "THREE_COMMAS_HEALTH",
    "KeyCreateBody",
    "KeyUpdateBody",
    "SyncBody",
]

KEYS: list[Json] = [
    {
        "id": "0b6f2f1c-8a8e-4f59-9d7b-2b7c1f0e4a11",
        "provider_id": "binance",
        "provider_name": "Binance",
        "environment": "testnet",
        "label": "My Trading Account",
        "api_key_hint": "abcd...1234",
        "api_secret_hint": "wxyz...5678",
        "created_at": "2025-01-15T10:30:00Z",
    }
]
KEY_CREATE: Json = {
    "provider_id": "binance",
    "environment": "testnet",
    "api_key": "your-api-key",
    "api_secret": "your-api-secret",
    "label": "My Trading Account",
}
KEY_STORED: Json = {"id": "0b6f2f1c-8a8e-4f59-9d7b-2b7c1f0e4a11", "message": "API key stored successfully"}
KEY_UPDATE: Json = {"api_key": "new-api-key", "api_secret": "new-api-secret", "label": "Updated Label"}
KEY_UPDATED: Json = {"message": "API key updated successfully"}
KEY_DELETED: Json = {"message": "API key deleted successfully"}
BINANCE_HEALTH: Json = {
    "status": "success",
    "data": {
        "connected": True,
        "environment": "live",
        "account_type": "spot",
        "balance": "5000.00",
        "quote_asset": "USDT",
        "trading_enabled": True,
        "last_sync": "2024-01-01T10:00:00Z",
    },
    "timestamp": NOW,
}
BINANCE_DOWN: Json = {
    "status": "success",
    "data": {
        "connected": False,
        "reason": "no Binance API key: store one with POST /api/keys/",
        "account_type": None,
        "balance": None,
        "trading_enabled": None,
        "last_sync": None,
    },
    "timestamp": NOW,
}
THREE_COMMAS_HEALTH: Json = {
    "status": "success",
    "data": {
        "connected": True,
        "environment": "live",
        "account_id": "12345",
        "balance": "10000.00",
        "active_bots": 3,
        "last_sync": "2024-01-01T10:00:00Z",
    },
    "timestamp": NOW,
}

SYNC: Json = {"source": "3commas", "force": False}
SYNC_STARTED: Json = {
    "status": "success",
    "data": {
        "source": "3commas",
        "sync_started": "2024-01-01T10:00:00Z",
        "estimated_duration": "1m",
        "status": "syncing",
        "job_id": "5f0c3c4e-2b1a-4c1e-9a51-0d5b8c1f7e22",
        "job_status": "running",
        "already_running": False,
    },
    "timestamp": NOW,
}

ApiKeyText = Annotated[str, msgspec.Meta(max_length=MAX_KEY_LENGTH)]
ApiSecretText = Annotated[str, msgspec.Meta(max_length=MAX_SECRET_LENGTH)]
LabelText = Annotated[str, msgspec.Meta(max_length=MAX_LABEL_LENGTH)]


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A venue's credentials to store (``environment`` unset: testnet where the venue has one)."""

    provider_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["binance"])]
    api_key: ApiKeyText
    api_secret: ApiSecretText
    environment: Literal["testnet", "live"] | None = None
    label: LabelText = ""

    def __repr__(self) -> str:  # never the credentials
        return f"KeyCreate(provider_id={self.provider_id!r}, environment={self.environment!r})"


class KeyUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What to change; an omitted field keeps its stored value."""

    api_key: ApiKeyText | None = None
    api_secret: ApiSecretText | None = None
    label: LabelText | None = None

    def __repr__(self) -> str:  # never the credentials
        return f"KeyUpdate(label={self.label!r})"


KeyCreateBody = Annotated[
    KeyCreate, Body(examples=[Example(summary="a Binance testnet key", value=KEY_CREATE)])
]
KeyUpdateBody = Annotated[
    KeyUpdate, Body(examples=[Example(summary="a new key and label", value=KEY_UPDATE)])
]


class Sync(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The venue to sync: ``binance``, ``3commas`` or another ccxt exchange id you stored a key for."""

    source: Annotated[str, msgspec.Meta(min_length=1, max_length=40, examples=["binance"])]
    force: bool = False


SyncBody = Annotated[Sync, Body(examples=[Example(summary="sync 3Commas", value=SYNC)])]
