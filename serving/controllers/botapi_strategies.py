"""/api/strategies: the registered strategy types, and each user's live strategies (stored; an
active one is traded by the strategy runner on its symbols, each symbol a sleeve of ``capital``).

A user sees and changes only their own strategies (another user's id is a 404); an admin all.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from pipelines.backtest.strategies import class_style, list_strategies
from pipelines.trading.strategy_specs import MAX_NAME_LENGTH, MAX_SYMBOLS, RUN_KEYS
from serving.context import PrincipalDep
from serving.providers.strategies import STRATEGIES, StrategiesDep
from serving.responses import shaped
from serving.responses import strategies as sr
from serving.schemas import doc
from serving.schemas import strategy_examples as sx

__all__ = ["BotStrategyController", "StrategyBody", "StrategyUpdate"]

_PARAMS = (
    f"`params`: `symbols` (1 to {MAX_SYMBOLS}: AAPL, BTC_USDT, BTC/USDT), `timeframe` (default 1m), "
    "`broker` (`paper`, the default), `capital` (each symbol's starting capital, default 10000), "
    "optionally `commission`, `slippage`, `position_size`, `allow_short`, `stop_loss`, `take_profit` "
    "(fractions), and the strategy's own parameters (GET /api/strategies/available); a wrong-typed "
    "or unknown one is a 400 naming it, and nothing is stored. `type` takes the registered name or its "
    "class-style spelling (`sma_cross` or `SmaCross`)."
)
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH)]
_Type = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class StrategyBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: _Name
    type: _Type
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class StrategyUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: _Name | msgspec.UnsetType = msgspec.UNSET
    type: _Type | msgspec.UnsetType = msgspec.UNSET
    params: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


def _shown(row: dict[str, Any]) -> sr.LiveStrategyOut:
    return shaped(sr.LiveStrategyOut, {**row, "type": class_style(row["type"])})


def _available() -> list[sr.AvailableStrategy]:
    out = []
    for item in list_strategies():
        parameters = {p["name"]: {k: v for k, v in p.items() if k != "name"} for p in item["params"]}
        shown = {
            "name": class_style(item["name"]),
            "description": item["description"],
            "parameters": parameters,
        }
        out.append(shaped(sr.AvailableStrategy, shown))
    return out


class BotStrategyController(Controller):
    path = "/api/strategies"
    tags = ["strategies"]
    dependencies = STRATEGIES

    @get(
        "/available",
        summary="Registered strategy types and their parameters",
        responses=doc(sx.AVAILABLE, 401),
        sync_to_thread=False,
    )
    def available(self, principal: PrincipalDep) -> list[sr.AvailableStrategy]:
        return _available()

    @get(
        "/",
        summary="Your live strategies (an admin sees all)",
        responses=doc(sx.STRATEGIES, 400, 401),
        sync_to_thread=True,
    )
    def list_strategies(
        self,
        strategies: StrategiesDep,
        principal: PrincipalDep,
        limit: int = Parameter(default=100, ge=1, le=500),
        offset: int = Parameter(default=0, ge=0, le=1_000_000),
    ) -> list[sr.LiveStrategyOut]:
        return [_shown(r) for r in strategies.list(principal, limit=limit, offset=offset)]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a live strategy (inactive)",
        description=_PARAMS,
        responses=doc(sx.STRATEGY, 400, 401, 409, status=201, description="The new strategy"),
        sync_to_thread=True,
    )
    def create(
        self,
        strategies: StrategiesDep,
        principal: PrincipalDep,
        data: Annotated[StrategyBody, Body(examples=[Example(summary="SMA cross", value=sx.CREATE)])],
    ) -> sr.LiveStrategyOut:
        return _shown(strategies.create(principal, data.name, data.type, data.params))

    @get(
        "/{strategy_id:str}",
        summary="One of your live strategies",
        responses=doc(sx.STRATEGY, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_strategy(
        self, strategies: StrategiesDep, principal: PrincipalDep, strategy_id: FromPath[str]
    ) -> sr.LiveStrategyOut:
        return _shown(strategies.get(principal, strategy_id))

    @put(
        "/{strategy_id:str}",
        summary="Rename a strategy, or replace the type and params of an inactive one",
        description=f"Given `params` replace the stored ones (keys: {', '.join(RUN_KEYS)} and the "
        "strategy's own); 409 while it is active.",
        responses=doc(sx.STRATEGY, 400, 401, 404, 409),
        sync_to_thread=True,
    )
    def update(
        self,
        strategies: StrategiesDep,
        principal: PrincipalDep,
        strategy_id: FromPath[str],
        data: Annotated[StrategyUpdate, Body(examples=[Example(summary="rename", value=sx.UPDATE)])],
    ) -> sr.LiveStrategyOut:
        changes = {
            f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET
        }
        return _shown(strategies.update(principal, strategy_id, changes))

    @delete(
        "/{strategy_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a strategy (an active one is deactivated first)",
        responses=doc(sx.DELETED, 400, 401, 404),
        sync_to_thread=True,
    )
    def delete_strategy(
        self, strategies: StrategiesDep, principal: PrincipalDep, strategy_id: FromPath[str]
    ) -> sr.StrategyDeleted:
        strategies.delete(principal, strategy_id)
        return shaped(sr.StrategyDeleted, {"id": strategy_id, "status": "deleted"})

    @post(
        "/{strategy_id:str}/activate",
        status_code=HTTP_200_OK,
        summary="Activate a strategy: its runners trade it on the next bars",
        description="The live feed also carries its symbols at its timeframe from now on; 409 when that "
        "would make the feed follow more series than `TRADEFORGE_LIVE_FOLLOW_MAX` beyond the configured "
        "ones. An `ml_predictive` strategy trades its model's champion (each prediction logged with its "
        "confidence); 400 when that model is not registered or forecasts price paths, not returns.",
        responses=doc({**sx.STRATEGY, "status": "active"}, 400, 401, 404, 409),
        sync_to_thread=True,
    )
    def activate(
        self, strategies: StrategiesDep, principal: PrincipalDep, strategy_id: FromPath[str]
    ) -> sr.LiveStrategyOut:
        return _shown(strategies.set_active(principal, strategy_id, True))

    @post(
        "/{strategy_id:str}/deactivate",
        status_code=HTTP_200_OK,
        summary="Deactivate a strategy: its runners stop",
        responses=doc(sx.STRATEGY, 400, 401, 404),
        sync_to_thread=True,
    )
    def deactivate(
        self, strategies: StrategiesDep, principal: PrincipalDep, strategy_id: FromPath[str]
    ) -> sr.LiveStrategyOut:
        return _shown(strategies.set_active(principal, strategy_id, False))
