"""/api/keys: a user's exchange API keys (Binance, 3Commas and every exchange ccxt knows), stored
encrypted and shown as hints (first and last characters), never in full.

A user lists and changes only their own keys (another user's key is 404); an admin lists and changes
every user's. Deleting deactivates the key: it is no longer listed nor used.
"""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from pipelines.trading.credentials import KeyChange
from serving.context import PrincipalDep
from serving.providers.exchanges import EXCHANGES, ExchangesDep
from serving.responses import exchanges as r
from serving.responses import shaped
from serving.schemas import doc
from serving.schemas import exchange_examples as ex

__all__ = ["BotKeyController"]

_CREATE = (
    "`provider_id`: a ccxt exchange id (`binance`, `kraken`...) or `3commas`. `environment`: `testnet` "
    "(the venue's sandbox; 3Commas' paper trading) or `live`; unset, `testnet` where the venue has one. "
    "The key and secret are encrypted before they are stored; only their hints are shown again. "
    "409 when the user already has the most active keys allowed."
)


class BotKeyController(Controller):
    path = "/api/keys"
    tags = ["keys"]
    dependencies = EXCHANGES

    @get(
        "/",
        summary="Your exchange API keys (an admin sees all)",
        responses=doc(ex.KEYS, 401),
        sync_to_thread=True,
    )
    def list_keys(self, exchanges: ExchangesDep, principal: PrincipalDep) -> list[r.ExchangeKey]:
        return [shaped(r.ExchangeKey, row) for row in exchanges.keys.list(principal.scope_user_id)]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Store an exchange API key and secret (encrypted)",
        description=_CREATE,
        responses=doc(ex.KEY_STORED, 400, 401, 409, status=201, description="Stored"),
        sync_to_thread=True,
    )
    def create_key(
        self, exchanges: ExchangesDep, principal: PrincipalDep, data: ex.KeyCreateBody
    ) -> r.KeyStored:
        key_id = exchanges.keys.create(
            principal.user_id,
            provider_id=data.provider_id,
            environment=data.environment,
            api_key=data.api_key,
            api_secret=data.api_secret,
            label=data.label,
        )
        return r.KeyStored(id=key_id, message="API key stored successfully")

    @put(
        "/{api_key_id:str}",
        summary="Change an exchange API key's key, secret or label",
        description="Every field is optional: an omitted `api_key` or `api_secret` keeps its stored value.",
        responses=doc(ex.KEY_UPDATED, 400, 401, 404),
        sync_to_thread=True,
    )
    def update_key(
        self,
        exchanges: ExchangesDep,
        principal: PrincipalDep,
        api_key_id: FromPath[str],
        data: ex.KeyUpdateBody,
    ) -> r.KeyMessage:
        change = KeyChange(api_key=data.api_key, api_secret=data.api_secret, label=data.label)
        exchanges.keys.update(api_key_id, change, user_id=principal.user_id, is_admin=principal.is_admin)
        return r.KeyMessage(message="API key updated successfully")

    @delete(
        "/{api_key_id:str}",
        status_code=HTTP_200_OK,
        summary="Deactivate an exchange API key",
        description="The key is no longer listed nor used by any connection.",
        responses=doc(ex.KEY_DELETED, 400, 401, 404),
        sync_to_thread=True,
    )
    def delete_key(
        self, exchanges: ExchangesDep, principal: PrincipalDep, api_key_id: FromPath[str]
    ) -> r.KeyMessage:
        exchanges.keys.delete(api_key_id, user_id=principal.user_id, is_admin=principal.is_admin)
        return r.KeyMessage(message="API key deleted successfully")
