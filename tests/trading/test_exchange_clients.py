"""The ccxt and 3Commas clients against a local replay of the venues' recorded answers: the real
client code signs and sends each request; answers come back as Decimals; errors never hold a secret."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from pipelines.errors import InvalidRequestError
from pipelines.trading.exchanges import (
    Credentials,
    ExchangeAuthError,
    ExchangeError,
    ThreeCommasClient,
    check_venue,
    open_ccxt,
    venue_name,
)
from tests.trading.replay import Replay, replay_server

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
CREDENTIALS = Credentials(KEY, SECRET)


@pytest.fixture
def replay() -> Iterator[Replay]:
    with replay_server() as server:
        yield server


def test_binance_balance_is_read_signed_in_decimals(replay: Replay) -> None:
    client = open_ccxt("binance", CREDENTIALS, environment="testnet", timeout_seconds=5, api_url=replay.url)
    balance = client.fetch_balance()
    assert balance.account_type == "spot" and balance.trading_enabled is True
    assert balance.total["USDT"] == Decimal("5000.00000000")
    assert balance.free["USDT"] == Decimal("4250.12345678") and balance.used["ETH"] == Decimal("0.25")
    # Only the account: no market listing, no futures, margin or currency listings.
    assert replay.paths() == ["/api/v3/account"]
    account = replay.requests[0]
    assert account.headers["X-MBX-APIKEY"] == KEY and account.query["signature"]
    assert SECRET not in str(account.query) and SECRET not in str(account.headers)


def test_market_rules_round_to_lot_and_tick(replay: Replay) -> None:
    client = open_ccxt("binance", None, environment="live", timeout_seconds=5, api_url=replay.url)
    rules = client.market("BTC/USDT")
    assert replay.paths() == ["/api/v3/exchangeInfo"]  # the spot markets only
    assert (rules.lot_size, rules.tick_size) == (Decimal("0.00001"), Decimal("0.01"))
    assert rules.min_quantity == Decimal("0.00001") and rules.min_notional == Decimal("5")
    assert rules.quantity(Decimal("0.0123456789")) == Decimal("0.01234")
    assert rules.price(Decimal("98120.456"), "buy") == Decimal("98120.45")
    assert rules.price(Decimal("98120.451"), "sell") == Decimal("98120.46")
    with pytest.raises(InvalidRequestError, match="no market"):
        client.market("NOPE/USDT")


def test_orders_carry_the_client_order_id_and_trades_come_back(replay: Replay) -> None:
    client = open_ccxt("binance", CREDENTIALS, environment="live", timeout_seconds=5, api_url=replay.url)
    order = client.create_order("BTC/USDT", "buy", Decimal("0.0123456"), client_order_id="tf-order-0001")
    sent = parse_form(replay.requests[-1].body)
    assert sent["newClientOrderId"] == "tf-order-0001" and sent["quantity"] == "0.01234"
    assert order.client_order_id == "tf-order-0001" and order.status == "closed"
    assert order.filled == Decimal("0.01234") and order.average == Decimal("98120.4")
    with pytest.raises(InvalidRequestError, match="minimum"):
        client.create_order("BTC/USDT", "buy", Decimal("0.000001"), client_order_id="tf-order-0002")
    trades = client.fetch_my_trades("BTC/USDT", since=dt.datetime(2025, 12, 1, tzinfo=dt.UTC), limit=50)
    assert [t.trade_id for t in trades] == ["28457", "28501"]
    assert trades[0].price == Decimal("97012.5") and trades[0].fee == Decimal("1.16415")
    assert trades[1].side == "sell" and trades[1].timestamp.tzinfo is not None


def test_an_order_is_found_and_cancelled_by_its_client_order_id(replay: Replay) -> None:
    client = open_ccxt("binance", CREDENTIALS, environment="live", timeout_seconds=5, api_url=replay.url)
    order = client.fetch_order("BTC/USDT", client_order_id="tf-order-0003")
    assert replay.requests[-1].query["origClientOrderId"] == ["tf-order-0003"]
    assert (order.status, order.order_type, order.price) == ("open", "limit", Decimal("95000"))
    assert (order.quantity, order.filled) == (Decimal("0.01"), Decimal("0.004"))
    cancelled = client.cancel_order("BTC/USDT", order_id=order.order_id)
    assert replay.requests[-1].method == "DELETE" and replay.requests[-1].query["orderId"] == ["100455"]
    assert cancelled.status == "canceled" and cancelled.filled == Decimal("0.004")
    with pytest.raises(InvalidRequestError, match="order's id"):
        client.fetch_order("BTC/USDT")


def parse_form(body: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(body.decode()))


def test_a_refused_key_is_an_auth_error_without_the_secret(replay: Replay) -> None:
    replay.refuse = True
    client = open_ccxt("binance", CREDENTIALS, environment="live", timeout_seconds=5, api_url=replay.url)
    with pytest.raises(ExchangeAuthError) as caught:
        client.fetch_balance()
    message = str(caught.value)
    assert "Invalid API-key" in message and KEY not in message and SECRET not in message
    assert KEY not in repr(client) and SECRET not in repr(CREDENTIALS) and SECRET not in str(CREDENTIALS)
    api_key, api_secret = CREDENTIALS  # still a pair
    assert (api_key, api_secret) == (KEY, SECRET)


def test_three_commas_accounts_and_bots_signed_by_py3cw(replay: Replay) -> None:
    client = ThreeCommasClient(CREDENTIALS, environment="live", timeout_seconds=5, api_url=replay.url)
    accounts = client.accounts()
    assert [a.account_id for a in accounts] == ["31245678", "31245990"]
    assert accounts[0].usd_balance == Decimal("10234.56")
    assert client.active_bots_count() == 3
    bots = replay.requests[-1]
    assert bots.path == "/public/api/ver1/bots" and bots.query["scope"] == ["enabled"]
    assert bots.headers["APIKEY"] == KEY and len(bots.headers["Signature"]) == 64
    assert bots.headers["Forced-Mode"] == "real"
    paper = ThreeCommasClient(CREDENTIALS, environment="testnet", timeout_seconds=5, api_url=replay.url)
    paper.accounts()
    assert replay.requests[-1].headers["Forced-Mode"] == "paper"


def test_three_commas_refusal_is_an_auth_error(replay: Replay) -> None:
    replay.refuse = True
    client = ThreeCommasClient(CREDENTIALS, environment="live", timeout_seconds=5, api_url=replay.url)
    with pytest.raises(ExchangeAuthError, match="signature_invalid") as caught:
        client.accounts()
    assert SECRET not in str(caught.value) and KEY not in str(caught.value)
    assert len(replay.requests) == 1  # no retries


def test_a_slow_venue_times_out_once_without_retries(replay: Replay) -> None:
    replay.delay = 1.5
    started = time.monotonic()
    binance = open_ccxt("binance", CREDENTIALS, environment="live", timeout_seconds=0.3, api_url=replay.url)
    with pytest.raises(ExchangeError, match="RequestTimeout"):
        binance.fetch_balance()
    three = ThreeCommasClient(CREDENTIALS, environment="live", timeout_seconds=0.3, api_url=replay.url)
    with pytest.raises(ExchangeError, match="3Commas failed"):
        three.accounts()
    assert time.monotonic() - started < 1.5
    assert len(replay.requests) == 2  # one each: no retries


def test_venues_and_environments() -> None:
    assert check_venue("Binance", None) == ("binance", "testnet")
    assert check_venue("3commas", "live") == ("3commas", "live")
    assert venue_name("binance") == "Binance" and venue_name("3commas") == "3Commas"
    with pytest.raises(InvalidRequestError, match="unknown provider_id"):
        check_venue("nasdaq-direct", None)
    with pytest.raises(InvalidRequestError, match="no testnet"):
        check_venue("kraken", "testnet")
    assert check_venue("kraken", None) == ("kraken", "live")
