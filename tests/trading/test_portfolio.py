"""The portfolio on a crafted ledger, every figure computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from pipelines.trading.portfolio import holdings, portfolio_state
from pipelines.trading.records import Trade, TradeSide, TradeStatus

T0 = dt.datetime(2025, 1, 15, 8, 30, tzinfo=dt.UTC)


def _trade(
    symbol: str,
    side: TradeSide,
    qty: str,
    entry: str,
    status: TradeStatus,
    commission: str = "0",
    hours: int = 0,
) -> Trade:
    return Trade(
        "u1",
        symbol,
        side,
        "paper",
        D(qty),
        T0,
        status=status,
        entry_price=D(entry),
        last_price=D(entry),
        commission=D(commission),
        opened_at=T0 + dt.timedelta(hours=hours),
    )


def test_cash_plus_marked_positions_and_the_pnl_against_the_start_and_yesterday() -> None:
    long = _trade("ETH/USDT", TradeSide.LONG, "3", "2300", TradeStatus.ACTIVE, commission="6.9", hours=1)
    short = _trade("BTC/USDT", TradeSide.SHORT, "0.1", "40000", TradeStatus.ACTIVE, commission="4")
    pending = _trade("SOL/USDT", TradeSide.LONG, "10", "100", TradeStatus.PENDING)
    closed = _trade("ADA/USDT", TradeSide.LONG, "10", "1", TradeStatus.CLOSED)
    # Cash after the fills: 10000 - 3 * 2300 - 6.9 (long) - 4 (short: its sale is margin, not cash)
    cash = D("3089.1")
    positions = holdings([short, long, pending, closed], {"ETH/USDT": D("2345.67"), "BTC/USDT": D("41000")})
    assert [h.symbol for h in positions] == ["BTC/USDT", "ETH/USDT"]  # active ones, oldest first
    eth = next(h for h in positions if h.symbol == "ETH/USDT")
    assert eth.pnl == D("130.11")  # 3 * 45.67 - 6.9
    assert eth.pnl_pct == D("130.11") / D("6900") * 100
    btc = next(h for h in positions if h.symbol == "BTC/USDT")
    assert btc.pnl == D("-104")  # -(41000 - 40000) * 0.1 - 4
    assert btc.value == D("-100")  # a short is worth its pnl before fees: its notional is margin

    state = portfolio_state(cash, positions, starting=D(10000), previous_total=D("10000.5"))
    # 3089.1 + 3 * 2345.67 - 0.1 * (41000 - 40000) = 10026.11 = 10000 + 130.11 - 104
    assert state.total_value == D("10026.11")
    assert state.positions_value == D("6937.01")
    assert state.total_pnl == D("26.11")
    assert state.total_pnl_pct == D("0.2611")
    assert state.daily_pnl == D("25.61")
    assert state.daily_pnl_pct == D("25.61") / D("10000.5") * 100
    assert [p["symbol"] for p in state.positions_json()] == ["BTC/USDT", "ETH/USDT"]


def test_without_a_previous_snapshot_the_day_counts_from_the_start_and_a_missing_price_uses_the_last() -> (
    None
):
    long = _trade("ETH/USDT", TradeSide.LONG, "1", "100", TradeStatus.ACTIVE)
    long.last_price = D("90")
    state = portfolio_state(D(9900), holdings([long], {}), starting=D(10000), previous_total=None)
    assert state.total_value == D(9990)
    assert state.daily_pnl == state.total_pnl == D(-10)
    assert state.positions[0].current_price == D(90)
