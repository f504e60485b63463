"""Answers of the live strategy routes under ``/api/strategies`` (plain bodies)."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from serving.responses import Shape

__all__ = ["AvailableStrategy", "LiveStrategyOut", "ParameterDoc", "StrategyDeleted"]


class ParameterDoc(Shape):
    type: str
    required: bool
    default: Any
    description: str
    minimum: float | UnsetType = UNSET
    maximum: float | UnsetType = UNSET


class AvailableStrategy(Shape):
    name: str
    description: str
    parameters: dict[str, ParameterDoc]


class LiveStrategyOut(Shape):
    id: str
    name: str
    type: str
    status: str
    params: dict[str, Any]
    user_id: str
    created_at: str
    updated_at: str
    activated_at: str | None
    refused_orders: int = 0  # orders the ledger refused its runners (risk rules, balance)
    last_refusal: str | None = None  # the newest refusal's reason


class StrategyDeleted(Shape):
    id: str
    status: str
