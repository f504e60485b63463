"""/api/trades and /api/dca: paper trades (open, list, inspect, close) and DCA (status, a hand-placed
order, history). A user sees and changes only their own trades (another user's is 404
TRADE_NOT_FOUND); an admin sees and closes everyone's. Stored bars are settled into the caller's open
trades before each answer, so fills, stop-losses, take-profits and DCA orders are current.

Symbols: an answer about the one pair the request named (``POST /api/trades``) echoes the caller's
spelling (``BTCUSDT``); lists and answers by id name pairs canonically (``BTC/USDT``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import HeaderParameter, Parameter
from litestar.status_codes import HTTP_201_CREATED

from pipelines.app import trade_queries as q
from pipelines.app.trades import TradeRequest
from pipelines.data.timeutil import parse_time
from pipelines.trading.broker import Side
from serving.context import PrincipalDep
from serving.providers.trades import TRADES, TradesDep
from serving.responses import shaped, success
from serving.responses import trades as r
from serving.schemas import doc
from serving.schemas import trades_examples as ex

__all__ = ["DcaController", "TradesController"]

_LIMITS = (
    " The risk rules and DCA settings are the caller's trading configuration (GET/PUT /api/config),"
    " read on each request."
)
_REFUSALS = (
    " Refused with nothing stored: an unknown symbol (400 INVALID_SYMBOL), a stop-loss or take-profit on"
    " the wrong side of the price (400 INVALID_REQUEST), a risk rule (400 RISK_LIMIT_EXCEEDED naming the"
    " rule in `details.rule`: max_position_size, daily_loss_limit, max_drawdown: the equity, cash plus"
    " open positions at their last price, that fraction below its peak, allow_short), trading off"
    " or the kill switch on (403 TRADING_DISABLED), too little free paper balance (400 INSUFFICIENT_BALANCE"
    " naming it: the balance less what your open entry and DCA orders' cost and your open shorts' margin"
    " hold; a short's sale is held as margin, not spendable cash, until its close books the pnl)."
)
_VENUE = (
    " With `broker` an exchange id (`binance`...), the entry order goes to that exchange with your newest"
    " key of `environment` (default its testnet, live where it has none; 400 naming the missing key), its"
    " quantity rounded down to the market's lot size and its price to the tick; the trade's fills are read"
    " from the exchange whenever your trades are read, and a bar crossing its stop-loss or take-profit"
    " closes it there. `environment` `live` trades real money: 403 TRADING_DISABLED (`details.rule`"
    " allow_live_trading) unless the server enables it. The exchange's free balance must cover the order"
    " and its commission (else 400 INSUFFICIENT_BALANCE naming the shortfall, nothing sent); a failing or"
    " refusing exchange is 503 EXTERNAL_API_ERROR; the same client order id never places a second order."
)
_ID = Parameter(min_length=1, max_length=64, description="The trade's id")
_SYMBOL = Parameter(
    default=None,
    max_length=40,
    description="Only this pair: BTCUSDT, BTC/USDT or BTC_USDT (listed trades name it BTC/USDT)",
)
_IDEMPOTENCY = HeaderParameter(
    name="Idempotency-Key",
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9_.:\-]+$",
    description="Makes a retry safe: the same key again returns the first trade (like client_order_id)",
)
_START = Parameter(
    default=None,
    min_length=4,
    max_length=40,
    description="From this date or time (ISO 8601; UTC unless zoned)",
)
_END = Parameter(
    default=None,
    min_length=4,
    max_length=40,
    description="Before this date or time (ISO 8601; UTC unless zoned)",
)


def _time(value: str | None, name: str) -> dt.datetime | None:
    """``2024-01-01`` or an ISO 8601 time, naive taken as UTC (400 INVALID_REQUEST naming ``name``)."""
    return None if value is None else parse_time(value, name=name).to_pydatetime()


class TradesController(Controller):
    path = "/api/trades"
    tags = ["trading"]
    dependencies = TRADES

    @get(
        "/active",
        summary="Your open paper trades (pending and active), newest first",
        description="`current_price` is the newest stored close; `pnl` is marked to it, net of commission. "
        "Pairs are named canonically (`BTC/USDT`) whatever the filter's spelling.",
        responses=doc(ex.ACTIVE_TRADES, 400, 401),
        sync_to_thread=True,
    )
    def active(
        self,
        trades: TradesDep,
        principal: PrincipalDep,
        symbol: str | None = _SYMBOL,
        limit: int = Parameter(default=50, ge=1, le=500),
        offset: int = Parameter(default=0, ge=0, le=1_000_000),
    ) -> r.TradeListAnswer:
        data = q.active_trades(trades, principal.scope_user_id, symbol=symbol, limit=limit, offset=offset)
        return shaped(r.TradeListAnswer, success(data))

    @get(
        "/history",
        summary="Your paper trades of every status, newest first",
        description="`start_date`/`end_date` bound the creation time; `status` picks one status. Pairs are "
        "named canonically (`BTC/USDT`).",
        responses=doc(ex.TRADE_HISTORY, 400, 401),
        sync_to_thread=True,
    )
    def history(
        self,
        trades: TradesDep,
        principal: PrincipalDep,
        start_date: str | None = _START,
        end_date: str | None = _END,
        symbol: str | None = _SYMBOL,
        status: Literal["pending", "active", "closed", "cancelled"] | None = Parameter(default=None),
        limit: int = Parameter(default=100, ge=1, le=500),
        offset: int = Parameter(default=0, ge=0, le=1_000_000),
    ) -> r.TradeListAnswer:
        data = q.trade_history(
            trades,
            principal.scope_user_id,
            start=_time(start_date, "start_date"),
            end=_time(end_date, "end_date"),
            symbol=symbol,
            status=status,
            limit=limit,
            offset=offset,
        )
        return shaped(r.TradeListAnswer, success(data))

    @get(
        "/{trade_id:str}",
        summary="One paper trade with its DCA attempts",
        description="`ml_confidence` is the model's confidence (0 to 1) when a stored `ml_predictive` "
        "strategy opened the trade (its newest logged prediction of the pair before the trade), null for "
        "every other trade; `risk_level` says how far the stop-loss lies from the entry (within 2%: low, "
        "5%: medium, further or none: high). The pair is named canonically (`BTC/USDT`).",
        responses=doc(ex.TRADE_DETAIL, 400, 401, 404),
        sync_to_thread=True,
    )
    def detail(self, trades: TradesDep, principal: PrincipalDep, trade_id: str = _ID) -> r.TradeDetailAnswer:
        return shaped(r.TradeDetailAnswer, success(q.trade_detail(trades, principal.scope_user_id, trade_id)))

    @post(
        "",
        status_code=HTTP_201_CREATED,
        summary="Open a paper trade, or a trade on an exchange you stored a key for",
        description="A market entry fills at the open of the first stored bar that starts after the "
        "request (the trade is `pending` until then); with `price`, a limit entry fills when a later bar "
        "reaches it. Fills use the backtester's slippage and commission. The same `client_order_id` (or "
        "`Idempotency-Key` header) again returns the first trade and places nothing. Without `stop_loss` "
        "or `take_profit`, while `risk.safu_enabled` is on, the trade gets the configured `risk.stop_loss` / "
        "`risk.take_profit` distance (a fraction) from the limit price or the newest close. A `sell` opens a "
        "short, allowed only with `trading.allow_short`. `symbol` is answered in the caller's spelling; "
        "`price` is the entry fill once filled, until then the limit price (null for a market entry)."
        + _LIMITS
        + _REFUSALS
        + _VENUE,
        responses=doc(ex.NEW_TRADE, 400, 401, 403, 503, status=201, description="Opened"),
        sync_to_thread=True,
    )
    def create(
        self,
        trades: TradesDep,
        principal: PrincipalDep,
        data: ex.NewTradeBody,
        idempotency_key: Annotated[str | None, _IDEMPOTENCY] = None,
    ) -> r.TradeAnswer:
        request = TradeRequest(
            symbol=data.symbol,
            side=Side(data.side),
            amount=data.amount,
            price=data.price,
            stop_loss=data.stop_loss,
            take_profit=data.take_profit,
            dca_enabled=data.dca_enabled,
            max_dca_attempts=data.max_dca_attempts,
            client_order_id=data.client_order_id or idempotency_key,
            broker=data.broker,
            environment=data.environment,
        )
        return shaped(r.TradeAnswer, success(trades.open_trade(principal.user_id, request)))

    @post(
        "/{trade_id:str}/close",
        status_code=200,
        summary="Close a trade: paper at the newest stored close, an exchange trade at its exchange",
        description="A manual close is a market exit at the latest price: an active trade closes right "
        "away at the newest stored close (slippage and commission applied), recorded as a filled exit "
        "order; a pending one is cancelled. A closed or cancelled trade is 409 TRADE_CLOSED. `force` "
        "closes at the entry price when no price is stored. An exchange trade sends a market order the "
        "other way for its filled quantity to the exchange (once, however often retried) and closes at "
        "the exchange's fill price, commission and pnl when it reports the order filled; its pending "
        "entry is cancelled there instead. A synced trade (3Commas deals, synced fills) is 409: change it "
        "at its venue.",
        responses=doc(ex.CLOSED_TRADE, 400, 401, 404, 409, 503),
        sync_to_thread=True,
    )
    def close(
        self, trades: TradesDep, principal: PrincipalDep, data: ex.CloseBody, trade_id: str = _ID
    ) -> r.TradeAnswer:
        closed = trades.close_trade(principal.scope_user_id, trade_id, reason=data.reason, force=data.force)
        return shaped(r.TradeAnswer, success(closed))


class DcaController(Controller):
    path = "/api/dca"
    tags = ["trading"]
    dependencies = TRADES

    @get(
        "/status",
        summary="DCA on or off, your trades with DCA on, and the attempts' totals",
        description="`total_volume` is the quote-currency volume of the successful attempts; "
        "`average_recovery_time` the mean time from a winning trade's first DCA fill to its close.",
        responses=doc(ex.DCA_STATUS, 401),
        sync_to_thread=True,
    )
    def status(self, trades: TradesDep, principal: PrincipalDep) -> r.DcaStatusAnswer:
        return shaped(r.DcaStatusAnswer, success(q.dca_status(trades, principal.scope_user_id)))

    @post(
        "/execute",
        status_code=200,
        summary="Add to a paper trade now (a DCA order filled at the next bar's open)",
        description="`volume` is in units of the base currency (`0.0005` BTC), like a trade's `amount`. "
        "The trade must be active with DCA on, for the trade and in the caller's configuration (400 "
        "DCA_DISABLED otherwise), and have attempts left (the smaller of its `max_dca_attempts` and "
        "`dca.max_attempts`). An attempt the balance or a risk rule refuses is still recorded as a failed "
        "attempt (the DCA history keeps every attempt, with its reason) and answered 400 "
        "INSUFFICIENT_BALANCE, 400 RISK_LIMIT_EXCEEDED (`details.rule`) or 403 TRADING_DISABLED, with "
        "`details.dca_attempt` its number.",
        responses=doc(ex.DCA_EXECUTED, 400, 401, 403, 404, 409),
        sync_to_thread=True,
    )
    def execute(self, trades: TradesDep, principal: PrincipalDep, data: ex.DcaBody) -> r.DcaExecutedAnswer:
        volume: Decimal = data.volume
        placed = q.execute_dca(
            trades, principal.scope_user_id, data.trade_id, volume=volume, reason=data.reason
        )
        return shaped(r.DcaExecutedAnswer, success(placed))

    @get(
        "/history",
        summary="Your DCA attempts, newest first",
        responses=doc(ex.DCA_HISTORY, 400, 401, 404),
        sync_to_thread=True,
    )
    def history(
        self,
        trades: TradesDep,
        principal: PrincipalDep,
        trade_id: str | None = Parameter(default=None, max_length=64, description="Only this trade's"),
        start_date: str | None = _START,
        end_date: str | None = _END,
        limit: int = Parameter(default=100, ge=1, le=500),
    ) -> r.DcaHistoryAnswer:
        data = q.dca_history(
            trades,
            principal.scope_user_id,
            trade_id=trade_id,
            start=_time(start_date, "start_date"),
            end=_time(end_date, "end_date"),
            limit=limit,
        )
        return shaped(r.DcaHistoryAnswer, success(data))
