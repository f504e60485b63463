"""What one request did to a paper ledger, so its store writes back exactly that."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.trading.records import DcaAttempt, Order

__all__ = ["Changes"]


@dataclass(slots=True)
class Changes:
    """What a store must write back: ids of the records touched and the attempts added."""

    accounts: set[tuple[str, str]] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    trades: set[str] = field(default_factory=set)
    attempts: list[DcaAttempt] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # orders and trades new to the store
    created_accounts: set[tuple[str, str]] = field(default_factory=set)
    fills: list[Order] = field(default_factory=list)  # orders filled, in order (entries, DCA, exits)
    closed: list[str] = field(default_factory=list)  # trades closed, in order
