"""3Commas through ``py3cw``: its accounts (exchange connections with their balances) and bots.

py3cw signs each request (HMAC-SHA256 of the path and body with the secret). It is given a bounded
timeout and no retries; ``testnet`` runs in 3Commas' paper-trading mode (the ``Forced-Mode: paper``
header). ``api_url`` points the requests at another host than api.3commas.io (a replay server in
tests) by mounting an adapter on py3cw's own session, so py3cw's code still builds and signs them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from pipelines.trading.exchanges.models import Credentials, ExchangeAuthError, ExchangeError, scrub

__all__ = ["ThreeCommasAccount", "ThreeCommasClient"]

BOTS_PAGE = 100  # 3Commas' largest page of bots
MAX_BOT_PAGES = 10
DEALS_PAGE = 100


class _Rebased(HTTPAdapter):
    """Sends every request to ``base`` instead of py3cw's host, keeping the path and query."""

    def __init__(self, origin: str, base: str) -> None:
        super().__init__(max_retries=0)
        self._origin = origin
        self._base = base.rstrip("/")

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        url = request.url or ""
        if url.startswith(self._origin):
            request.url = self._base + url[len(self._origin) :]
        return super().send(request, *args, **kwargs)


class ThreeCommasAccount(dict[str, Any]):
    """One 3Commas account (an exchange connection) as 3Commas answers it."""

    @property
    def account_id(self) -> str:
        return str(self.get("id"))

    @property
    def usd_balance(self) -> Decimal | None:
        try:
            return Decimal(str(self["usd_amount"]))
        except (KeyError, InvalidOperation):
            return None


class ThreeCommasClient:
    """One user's 3Commas API key (synchronous: call it off the event loop)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        environment: str,
        timeout_seconds: float,
        api_url: str | None = None,
    ) -> None:
        from py3cw import config
        from py3cw.request import Py3CW

        options = {"request_timeout": timeout_seconds, "nr_of_retries": 0, "retry_status_codes": []}
        self._client = Py3CW(key=credentials.api_key, secret=credentials.api_secret, request_options=options)
        self._client.session.mount("https://", HTTPAdapter(max_retries=0))
        if api_url:
            self._client.session.mount(config.API_URL, _Rebased(config.API_URL, api_url))
        self._headers = {"Forced-Mode": "paper" if environment == "testnet" else "real"}
        self._credentials = credentials

    def __repr__(self) -> str:
        return "ThreeCommasClient(...)"

    def _request(self, entity: str, action: str = "", payload: dict[str, Any] | None = None) -> Any:
        error, data = self._client.request(
            entity=entity, action=action, payload=payload, additional_headers=self._headers
        )
        if error:
            status = error.get("status_code")
            detail = scrub(
                str(error.get("msg") or error.get("error_description") or error), self._credentials
            )
            if status in (401, 403):
                raise ExchangeAuthError(f"3Commas refused the credentials: {detail}")
            raise ExchangeError(f"3Commas failed{f' ({status})' if status else ''}: {detail}")
        return data

    def accounts(self) -> list[ThreeCommasAccount]:
        data = self._request("accounts")
        if not isinstance(data, list):
            raise ExchangeError("3Commas answered its accounts with something else than a list")
        return [ThreeCommasAccount(row) for row in data if isinstance(row, dict)]

    def bots(
        self, *, scope: str = "enabled", offset: int = 0, limit: int = BOTS_PAGE
    ) -> list[dict[str, Any]]:
        """One page of the user's bots (``scope``: enabled, disabled or None for all)."""
        payload: dict[str, Any] = {"limit": min(limit, BOTS_PAGE), "offset": offset}
        if scope:
            payload["scope"] = scope
        data = self._request("bots", "", payload)
        if not isinstance(data, list):
            raise ExchangeError("3Commas answered its bots with something else than a list")
        return [row for row in data if isinstance(row, dict)]

    def deals(self, *, offset: int = 0, limit: int = BOTS_PAGE) -> list[dict[str, Any]]:
        """One page of the user's deals (every status), newest first."""
        payload = {"limit": min(limit, DEALS_PAGE), "offset": offset, "order": "created_at"}
        data = self._request("deals", "", payload)
        if not isinstance(data, list):
            raise ExchangeError("3Commas answered its deals with something else than a list")
        return [row for row in data if isinstance(row, dict)]

    def active_bots_count(self) -> int:
        """Enabled bots, counted page by page (at most ``MAX_BOT_PAGES`` pages)."""
        count = 0
        for page in range(MAX_BOT_PAGES):
            rows = self.bots(scope="enabled", offset=page * BOTS_PAGE)
            count += len(rows)
            if len(rows) < BOTS_PAGE:
                break
        return count
