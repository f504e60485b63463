"""Whether a user's external venue answers with their stored key: Binance (through ccxt) and 3Commas.

A caller without a key for the venue gets ``connected: false`` with the reason and no other call is
made; otherwise one authenticated request with a short timeout. A failing venue (refused key,
timeout, error) is ``connected: false`` with the venue's reason (scrubbed of the credentials), never
an error of the route. ``last_sync`` is the end of the user's last completed sync job of the venue
(kind :data:`SYNC_JOB_KIND`, ``params["source"]`` the venue), else None.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.db import Database
from pipelines.db.job_models import Job
from pipelines.db.types import isoformat_utc
from pipelines.security.secretbox import SecretDecryptionError
from pipelines.settings import Settings
from pipelines.trading.credentials import ExchangeKeyStore
from pipelines.trading.exchanges import (
    THREE_COMMAS,
    Credentials,
    ExchangeError,
    ThreeCommasClient,
    open_ccxt,
    venue_name,
)

__all__ = ["HEALTH_TIMEOUT_SECONDS", "SYNC_JOB_KIND", "VenueHealth", "decimal_text"]

log = logging.getLogger("tradeforge.trading")

SYNC_JOB_KIND = "exchange_sync"
HEALTH_TIMEOUT_SECONDS = 5.0
_SYNC_JOBS_READ = 50
_CENT = Decimal("0.01")


def decimal_text(value: Decimal) -> str:
    """``5000.00`` for whole cents, every digit otherwise (``0.00012345``); never an exponent."""
    shown = value.quantize(_CENT) if value == value.quantize(_CENT) else value.normalize()
    return format(shown, "f")


def last_sync(session: Session, user_id: str, venue: str) -> str | None:
    rows = session.scalars(
        select(Job)
        .where(Job.kind == SYNC_JOB_KIND, Job.user_id == user_id, Job.status == "completed")
        .order_by(Job.finished_at.desc())
        .limit(_SYNC_JOBS_READ)
    )
    for job in rows:
        if (job.params or {}).get("source") == venue and job.finished_at is not None:
            return isoformat_utc(job.finished_at)
    return None


def _reason(venue: str, user_id: str, exc: Exception) -> str:
    """Why the venue is not connected: its own (scrubbed) message, or only the kind of an
    unexpected failure, whose message could hold anything (logged with the same restraint)."""
    if isinstance(exc, ExchangeError):
        log.info("%s health check of user %s failed: %s", venue, user_id, exc)
        return str(exc)
    log.warning("%s health check of user %s failed unexpectedly: %s", venue, user_id, type(exc).__name__)
    return f"{venue_name(venue)} answered unexpectedly ({type(exc).__name__})"


class VenueHealth:
    def __init__(self, settings: Settings, database: Database, store: ExchangeKeyStore) -> None:
        self._settings = settings
        self._database = database
        self._store = store

    def _key(self, user_id: str, venue: str) -> tuple[Credentials | None, str | None, dict[str, Any]]:
        """(credentials, environment, the answer's common fields) of the user's newest key of ``venue``."""
        with self._database.session() as session:
            record = self._store.newest(session, user_id, venue)
            base: dict[str, Any] = {"connected": False, "last_sync": last_sync(session, user_id, venue)}
            if record is None:
                base["reason"] = f"no {venue_name(venue)} API key: store one with POST /api/keys/"
                return None, None, base
            base["environment"] = record.environment
            try:
                return self._store.credentials(record), record.environment, base
            except SecretDecryptionError:
                base["reason"] = (
                    "the stored API key cannot be decrypted (the encryption key changed): store it again"
                )
                return None, record.environment, base

    def _timeout(self) -> float:
        return min(self._settings.exchanges.exchange_timeout_seconds, HEALTH_TIMEOUT_SECONDS)

    def _url(self, venue: str) -> str | None:
        return self._settings.exchanges.exchange_api_urls.get(venue)

    def binance(self, user_id: str) -> dict[str, Any]:
        credentials, environment, answer = self._key(user_id, "binance")
        answer |= {"account_type": None, "balance": None, "trading_enabled": None}
        if credentials is None or environment is None:
            return answer
        try:
            client = open_ccxt(
                "binance",
                credentials,
                environment=environment,
                timeout_seconds=self._timeout(),
                api_url=self._url("binance"),
            )
            balance = client.fetch_balance()
        except Exception as exc:
            return answer | {"reason": _reason("binance", user_id, exc)}
        quote = self._settings.exchanges.quote_asset
        return answer | {
            "connected": True,
            "account_type": balance.account_type,
            "balance": decimal_text(balance.total.get(quote, Decimal(0))),
            "quote_asset": quote,
            "trading_enabled": balance.trading_enabled,
        }

    def three_commas(self, user_id: str) -> dict[str, Any]:
        credentials, environment, answer = self._key(user_id, THREE_COMMAS)
        answer |= {"account_id": None, "balance": None, "active_bots": None}
        if credentials is None or environment is None:
            return answer
        try:
            client = ThreeCommasClient(
                credentials,
                environment=environment,
                timeout_seconds=self._timeout(),
                api_url=self._url(THREE_COMMAS),
            )
            accounts = client.accounts()
            bots = client.active_bots_count()
        except Exception as exc:
            return answer | {"reason": _reason(THREE_COMMAS, user_id, exc)}
        first = accounts[0] if accounts else None
        usd = None if first is None else first.usd_balance
        return answer | {
            "connected": True,
            "account_id": None if first is None else first.account_id,
            "balance": None if usd is None else decimal_text(usd),
            "active_bots": bots,
        }
