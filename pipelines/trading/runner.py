"""The live strategy runner's core: one strategy on one symbol, turned into orders bar by bar.

The runner keeps the backtest kernel's own position state (``pipelines.backtest._kernel``) and
advances it with the kernel's compiled functions, in the kernel's order, so a sleeve traded live
is the backtest of the same bars, fill for fill. Per complete bar ``i`` (:meth:`StrategyRunner.on_bar`):

1. the target decided at bar ``i-1``'s close, if it changed, is traded at bar ``i``'s open: a close
   leg on a side change, then the leg that moves the sleeve to the target, sized at that open;
2. while a position is open, the stop-loss then the take-profit are checked against the bar's
   low/high, as the kernel does;
3. at the close, the strategy's target is computed on a bounded window of recent bars and kept
   for the next bar.

Orders come back as :class:`PlannedOrder` (the broker request plus the fill the model expects);
the caller submits them to its :class:`~pipelines.trading.broker.Broker` (a market order fills at
the open of the bar it was planned in) and hands the states back to :meth:`confirm`, which
records any fill that differs from the model. The position follows the broker: an entry the broker
refuses leaves the runner flat (its state as before that entry; retried at the strategy's next entry
signal, not every bar), a refused exit keeps the position and is retried at the next bar's open.
``client_order_id`` is derived from (strategy id, symbol, bar time, leg), so replaying a bar after
a restart re-submits the same ids and the broker (idempotent on that id) places nothing twice.
:meth:`state` / :meth:`restore` save and resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest import _kernel as k
from pipelines.backtest import costs
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import to_exposure
from pipelines.backtest.strategies import StrategyContext, get_strategy, validate_strategy_params
from pipelines.errors import InvalidRequestError
from pipelines.features import BarData
from pipelines.features.inputs import utc_nanos
from pipelines.trading.broker import OrderRequest, OrderState, OrderStatus, OrderType, Side
from pipelines.trading.runner_rows import DeferredRows, kernel_rows, time_rows
from pipelines.trading.runner_undo import Undo, undo_refused
from pipelines.trading.window import Bar, BarWindow

__all__ = ["Bar", "PlannedOrder", "RunnerConfig", "StrategyRunner", "client_order_id", "default_lookback"]

FloatArray = npt.NDArray[np.float64]
LEGS = {k.REASON_SIGNAL: "exit", k.REASON_STOP: "stop", k.REASON_TAKE_PROFIT: "take_profit"}
_MIN_LOOKBACK = 300
_MODEL_LOOKBACK = 1000  # a model's features: the longest warm-ups, and cumulative ones (obv) over more bars


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """Who trades what: ``strategy`` is a registered name (any accepted spelling), ``params`` its
    parameters (validated here), ``backtest`` the sleeve's capital, costs, sizing and stops."""

    strategy_id: str
    user_id: str
    symbol: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    lookback: int | None = None  # bars kept for the strategy's window; None: default_lookback
    # What a model-driven strategy (``ml_predictive``) reads its signals from; None for the others.
    context: StrategyContext | None = field(default=None, repr=False, compare=False)

    def checked_params(self) -> dict[str, Any]:
        return validate_strategy_params(self.strategy, self.params)


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """An order the runner wants placed, with the fill (price after slippage, fee) it books.
    ``request`` (the broker's :class:`OrderRequest`) and the expected fill are computed when asked
    for: a replay plans thousands of orders that only some callers submit."""

    config: RunnerConfig = field(repr=False)
    bar_ts_ns: int
    leg: str
    units: float  # signed: + buys
    price: float  # before slippage: the bar's open, or the exit level of a stop / take-profit
    order_type: OrderType

    @property
    def expected_price(self) -> float:
        """The fill the model books: the cost model's price after slippage."""
        side = costs.BUY if self.units > 0.0 else costs.SELL
        return costs.fill_price(side, self.price, float(self.config.backtest.slippage))

    @property
    def expected_commission(self) -> float:
        return costs.commission(self.units * self.expected_price, float(self.config.backtest.commission))

    @property
    def request(self) -> OrderRequest:
        return self.request_for(None)

    def request_for(self, trade_id: str | None) -> OrderRequest:
        """The broker request, naming the trade it adds to or closes (None: it opens one)."""
        cfg = self.config
        units, kind = self.units, self.order_type
        return OrderRequest(  # positional, in the fields' order (a replay asks for tens of thousands)
            cfg.user_id,
            cfg.symbol,
            Side.BUY if units > 0.0 else Side.SELL,
            Decimal(repr(abs(units))),
            client_order_id(cfg.strategy_id, cfg.symbol, self.bar_ts_ns, self.leg),
            kind,
            None if kind is OrderType.MARKET else Decimal(repr(self.price)),
            trade_id,
            cfg.strategy_id,
        )


def default_lookback(strategy: str, params: dict[str, Any]) -> int:
    """Bars kept for the live window: ten times the longest integer period, at least 300. Enough for
    the windowed target to equal the full-history one once the indicators' recursions (Wilder's
    RSI) have forgotten their seed; latching strategies also need their last entry inside it. A
    model-driven strategy keeps more: its model's feature set is computed on the window."""
    periods = [v for v in params.values() if isinstance(v, int) and not isinstance(v, bool)]
    least = _MODEL_LOOKBACK if get_strategy(strategy).needs_context else _MIN_LOOKBACK
    return max(least, 10 * max(periods, default=0))


def client_order_id(strategy_id: str, symbol: str, bar_ts_ns: int, leg: str) -> str:
    """Deterministic idempotency key of one leg planned in one bar."""
    return f"{_client_prefix(strategy_id, symbol)}{bar_ts_ns}-{leg}"


def client_order_ids(strategy_id: str, symbol: str, bar_ts_ns: list[int], legs: list[str]) -> list[str]:
    """:func:`client_order_id` of each (bar, leg), in bulk."""
    prefix = _client_prefix(strategy_id, symbol)
    return [f"{prefix}{t}-{leg}" for t, leg in zip(bar_ts_ns, legs, strict=True)]


def _client_prefix(strategy_id: str, symbol: str) -> str:
    return f"strat-{strategy_id}-{symbol}-"


class StrategyRunner:
    """One strategy on one symbol (see the module docstring for the per-bar order of events)."""

    trades = DeferredRows(kernel_rows)  # kernel trade rows (T_* columns), bar indices
    trade_times = DeferredRows(time_rows)  # (entry, exit) bar open times, ns

    def __init__(self, config: RunnerConfig) -> None:
        self.config = config
        self.params = config.checked_params()
        self._strategy = get_strategy(config.strategy)
        if self._strategy.needs_context and config.context is None:
            raise InvalidRequestError(f"strategy {self._strategy.name!r} needs a model context to run live")
        bt = config.backtest
        self._rate, self._slip = float(bt.commission), float(bt.slippage)
        self._stop, self._take = float(bt.stop_loss or 0.0), float(bt.take_profit or 0.0)
        self.lookback = config.lookback or default_lookback(self._strategy.name, self.params)
        self.st: FloatArray = np.zeros(k.N_STATE)
        self.st[k.CASH] = float(bt.initial_capital)
        self.pending = 0.0  # exposure decided at the last close (the kernel's target[i-1])
        self.count = 0  # bars processed: the kernel's bar index of the next bar
        self.last_ts: int | None = None
        self.equity = float(bt.initial_capital)
        self.trades, self.trade_times = [], []
        self.drift: list[dict[str, Any]] = []  # fills that differed from the model
        self.window = BarWindow(self.lookback)
        self._entry_ts = 0
        self.opened_ts: int | None = None  # the bar whose open ``on_open`` already traded
        self._row: FloatArray = np.empty((1, k.N_FIELDS))  # the kernel writes a closed trade here
        self.refusals = 0  # legs the broker refused (entries stay flat, exits are retried)
        self.last_refusal: str | None = None
        self.exit_due = False  # a refused exit: closed at the next bar's open
        self.undo: dict[tuple[int, str], Undo] = {}  # this bar's legs: the state before each
        self.last_close = 0.0

    # -- the per-bar path -------------------------------------------------------------------------

    def on_open(self, ts_ns: int, open_: float) -> list[PlannedOrder]:
        """A new bar has opened at ``open_``: the orders for the target decided at the last close,
        placed now rather than when the bar completes (``on_bar`` then skips this step; it must
        be given the same open for the backtest's arithmetic to hold). Idempotent per bar."""
        if (self.last_ts is not None and ts_ns <= self.last_ts) or self.opened_ts == ts_ns:
            return []
        if not (open_ > 0.0 and math.isfinite(open_)):
            raise InvalidRequestError(f"the open at {ts_ns} must be a finite price > 0, got {open_!r}")
        self.opened_ts = ts_ns
        return self.act_at_open(ts_ns, open_)

    def on_bar(self, bar: Bar) -> list[PlannedOrder]:
        """Process one complete bar; the orders to place now (empty for a bar already processed)."""
        if self.last_ts is not None and bar.ts_ns <= self.last_ts:
            return []
        self.window.check(bar)
        orders = [] if self.opened_ts == bar.ts_ns else self.act_at_open(bar.ts_ns, bar.open)
        orders += self.check_exits(bar.ts_ns, bar.open, bar.high, bar.low)
        self.equity = float(self.st[k.CASH] + self.st[k.UNITS] * bar.close)
        self.last_close = bar.close
        self.window.append(bar)
        self.pending = self.target_now()
        self.count += 1
        self.last_ts = bar.ts_ns
        return orders

    def act_at_open(self, ts_ns: int, price: float) -> list[PlannedOrder]:
        """Trade the pending target at this bar's open when it changed (the kernel's step 1)."""
        st, i, tgt = self.st, self.count, self.pending
        orders: list[PlannedOrder] = []
        if self.exit_due and st[k.UNITS] != 0.0:  # an exit the broker refused: again, at this open
            orders.append(self._close(ts_ns, price, k.REASON_SIGNAL, OrderType.MARKET))
        self.exit_due = False
        if i == 0 or tgt == st[k.LAST_TGT]:
            return orders
        if st[k.UNITS] != 0.0 and (tgt == 0.0 or (tgt > 0.0) != (st[k.SIDE] > 0.0)):
            orders.append(self._close(ts_ns, price, k.REASON_SIGNAL, OrderType.MARKET))
        before = st[k.UNITS]
        undo = self._snapshot(ts_ns)
        if before == 0.0:
            self._entry_ts = ts_ns
        k._rebalance(st, i, tgt, price, self._slip, self._rate)
        st[k.LAST_TGT] = tgt  # after: an entry clears the state's tail (the kernel keeps it in a local)
        delta = st[k.UNITS] - before
        if delta != 0.0:
            leg = "enter" if before == 0.0 else "resize"
            self.undo[(ts_ns, leg)] = undo
            orders.append(self._planned(ts_ns, leg, delta, price))
        return orders

    def check_exits(self, ts_ns: int, open_: float, high: float, low: float) -> list[PlannedOrder]:
        """The stop-loss / take-profit check of an open position in this bar (the kernel's step 2)."""
        if (self._stop <= 0.0 and self._take <= 0.0) or self.st[k.UNITS] == 0.0:
            return []
        reason, price = k._intrabar_exit(self.st, open_, high, low, self._stop, self._take)
        if reason < 0:
            return []
        kind = OrderType.STOP if reason == k.REASON_STOP else OrderType.LIMIT
        return [self._close(ts_ns, price, reason, kind)]

    def target_now(self) -> float:
        """The strategy's exposure at the newest bar's close, from the window (engine-clipped); by
        the strategy's ``latest`` form on the window's arrays where it has one (no frame built)."""
        fn = self._strategy.latest  # a model-driven strategy has none (its context is not on the window)
        raw = self.strategy_targets(None)[-1:] if fn is None else [fn(self.window.bar_data(), self.params)]
        return float(to_exposure(raw, 1, self.config.backtest)[0])

    def strategy_targets(self, bars: pd.DataFrame | None) -> FloatArray:
        """The strategy's raw targets over ``bars`` (one per bar; None: the window). A strategy
        that reads the validated arrays (``data``) gets the window's own, with a price-only frame."""
        fn: Any = self._strategy.fn
        ctx = self.config.context
        if bars is None and self._strategy.accepts_data:
            data = self.window.bar_data()
            return np.asarray(fn(self.window.price_frame(), self.params, ctx, data=data), dtype=np.float64)
        frame = self.window.frame() if bars is None else bars
        if self._strategy.accepts_data:
            return np.asarray(fn(frame, self.params, ctx, data=BarData.from_frame(frame)), dtype=np.float64)
        return np.asarray(fn(frame, self.params, ctx), dtype=np.float64)

    # -- legs -------------------------------------------------------------------------------------

    def _close(self, ts_ns: int, price: float, reason: int, kind: OrderType) -> PlannedOrder:
        self.undo[(ts_ns, LEGS[reason])] = self._snapshot(ts_ns)
        units = self.st[k.UNITS]
        row = self._row
        k._close(self.st, row, 0, self.count, price, self._slip, self._rate, reason)
        self.trades.append(row[0].tolist())
        self.trade_times.append((self._entry_ts, ts_ns))
        return self._planned(ts_ns, LEGS[reason], -units, price, kind)

    def _planned(
        self, ts_ns: int, leg: str, units: float, price: float, kind: OrderType = OrderType.MARKET
    ) -> PlannedOrder:
        return PlannedOrder(self.config, ts_ns, leg, float(units), float(price), kind)

    def _snapshot(self, ts_ns: int) -> Undo:
        """The state before a leg of bar ``ts_ns`` (the undo of an older bar's legs is dropped)."""
        if any(ts != ts_ns for ts, _ in self.undo):
            self.undo.clear()
        return self.st.copy(), len(self.trades), self._entry_ts

    def confirm(self, planned: PlannedOrder, state: OrderState) -> None:
        """Record the broker's answer: a refusal is undone (``undo_refused``); a fill that differs
        from the model's is kept in ``drift``."""
        fill = state.fill
        if fill is None and state.status is OrderStatus.REJECTED:
            undo_refused(self, planned, state.reason or "rejected")
        elif fill is None:
            self.drift.append({"client_order_id": planned.request.client_order_id, "status": state.status})
        elif float(fill.price) != planned.expected_price or float(fill.quantity) != abs(planned.units):
            self.drift.append(
                {
                    "client_order_id": planned.request.client_order_id,
                    "expected_price": planned.expected_price,
                    "price": float(fill.price),
                    "quantity": float(fill.quantity),
                }
            )

    # -- state ------------------------------------------------------------------------------------

    def state(self, *, window: bool = True, trades: bool = True) -> dict[str, Any]:
        """Everything needed to resume (JSON-able; floats round-trip exactly through ``json``).
        Without ``window`` the state stays small (the bars come back from the bar store at
        :meth:`restore`); without ``trades`` the closed trades (kept by the trade store) are left out:
        neither changes the orders that follow."""
        out = {
            "st": self.st.tolist(),
            "pending": self.pending,
            "count": self.count,
            "last_ts": self.last_ts,
            "equity": self.equity,
            "entry_ts": self._entry_ts,
            "opened_ts": self.opened_ts,
            "trades": [list(r) for r in self.trades] if trades else [],
            "trade_times": [list(t) for t in self.trade_times] if trades else [],
            "refusals": self.refusals,
            "last_refusal": self.last_refusal,
            "exit_due": self.exit_due,
        }
        if window:
            out["window"] = self.window.rows()
        return out

    @classmethod
    def restore(
        cls, config: RunnerConfig, state: dict[str, Any], history: pd.DataFrame | None = None
    ) -> StrategyRunner:
        """The runner saved in ``state``; a state saved without its window takes the bars up to its
        last one from ``history`` (a bars frame; at least the window's length of them)."""
        runner = cls(config)
        runner.st = np.asarray(state["st"], dtype=np.float64)
        runner.pending = float(state["pending"])
        runner.count = int(state["count"])
        runner.last_ts = None if state["last_ts"] is None else int(state["last_ts"])
        runner.equity = float(state["equity"])
        runner._entry_ts = int(state["entry_ts"])
        runner.opened_ts = None if state.get("opened_ts") is None else int(state["opened_ts"])
        runner.trades = [list(map(float, r)) for r in state["trades"]]
        runner.trade_times = [(int(a), int(b)) for a, b in state["trade_times"]]
        runner.refusals = int(state.get("refusals", 0))
        runner.last_refusal = state.get("last_refusal")
        runner.exit_due = bool(state.get("exit_due", False))
        if "window" in state:
            for r in state["window"]:
                runner.window.append(Bar(int(r[0]), *map(float, r[1:])))
        elif runner.last_ts is not None:
            runner._refill(history, runner.last_ts)
        return runner

    def warm(self, history: pd.DataFrame) -> None:
        """Start from the strategy's view of ``history`` (the newest bars, flat): the window filled,
        the target at its last close pending, so the next bar trades it; nothing traded before."""
        if len(history) == 0:
            return
        ts = utc_nanos(history["timestamp"])
        self._refill(history, int(ts[-1]))
        self.count = len(self.window)
        self.last_ts = int(ts[-1])
        self.pending = self.target_now()

    def _refill(self, history: pd.DataFrame | None, last_ts: int) -> None:
        if history is None:
            raise InvalidRequestError(
                "this state was saved without its window: give the bars up to its last one"
            )
        ts = utc_nanos(history["timestamp"])
        upto = int(np.searchsorted(ts, last_ts, side="right"))
        if upto == 0 or ts[upto - 1] != last_ts:
            raise InvalidRequestError("the history does not hold the state's last bar")
        first = max(0, upto - self.lookback)
        cols = [history[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
        for j in range(first, upto):
            self.window.append(Bar(int(ts[j]), *(float(c[j]) for c in cols)))

    @property
    def position(self) -> float:
        return float(self.st[k.UNITS])

    @property
    def cash(self) -> float:
        return float(self.st[k.CASH])

    @property
    def kernel_stops(self) -> tuple[float, float]:
        return self._stop, self._take

    def closed_out(self, last_close: float) -> tuple[FloatArray, list[tuple[int, int]]]:
        """The trades so far plus the open one marked to ``last_close`` (the backtest's end-of-data
        trade; the runner's own state is untouched): kernel rows and (entry, exit) times."""
        rows = [list(r) for r in self.trades]
        times = list(self.trade_times)
        if self.st[k.UNITS] != 0.0:
            st = self.st.copy()
            row = np.empty((1, k.N_FIELDS))
            k._close(st, row, 0, self.count - 1, last_close, self._slip, self._rate, k.REASON_END)
            rows.append(row[0].tolist())
            times.append((self._entry_ts, self.last_ts or 0))
        return np.asarray(rows, dtype=np.float64).reshape(-1, k.N_FIELDS), times
