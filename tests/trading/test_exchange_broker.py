"""ExchangeBroker over the real ccxt client against a local replay of Binance: orders placed once per
client order id (a retry finds the venue's order), lot and tick rounding, states, cancels, balances and
the venue's refusals as domain errors without the secret."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.trading.broker import Broker, OrderRequest, OrderStatus, OrderType, Side
from pipelines.trading.errors import InsufficientBalanceError
from pipelines.trading.exchange_broker import ExchangeBroker
from pipelines.trading.exchanges import Credentials, ExchangeAuthError, open_ccxt
from tests.trading.replay import Replay, replay_server

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
POST_ORDER = ("POST", "/api/v3/order")


@pytest.fixture
def replay() -> Iterator[Replay]:
    with replay_server() as server:
        server.orders = {}
        yield server


def broker(replay: Replay, user: str = "u1") -> ExchangeBroker:
    client = open_ccxt(
        "binance", Credentials(KEY, SECRET), environment="testnet", timeout_seconds=5, api_url=replay.url
    )
    return ExchangeBroker(client, user)


def request(cid: str, quantity: str = "0.0123456", **extra: object) -> OrderRequest:
    return OrderRequest("u1", "BTC/USDT", Side.BUY, Decimal(quantity), cid, **extra)  # type: ignore[arg-type]


def test_a_retried_submit_finds_the_venue_order_and_places_nothing(replay: Replay) -> None:
    venue = broker(replay)
    assert isinstance(venue, Broker) and venue.name == "binance"
    first = venue.submit(request("tf-retry-1"))
    assert replay.count(*POST_ORDER) == 1
    sent = replay.requests[-1].body.decode()
    assert "quantity=0.01234" in sent and "newClientOrderId=tf-retry-1" in sent  # down to the lot size
    assert first.status is OrderStatus.FILLED and first.client_order_id == "tf-retry-1"
    assert first.order_id == "BTC/USDT:100402" and first.fill is not None
    assert first.fill.quantity == Decimal("0.01234") and first.fill.price == Decimal("98120.4")
    # the fee was charged in BTC: priced at the fill's average in USDT
    assert first.fill.commission == Decimal("0.00001234") * Decimal("98120.4")

    again = broker(replay).submit(request("tf-retry-1"))  # a new process retrying the same order
    assert replay.count(*POST_ORDER) == 1 and again == first
    venue.submit(request("tf-retry-2"))
    assert replay.count(*POST_ORDER) == 2


def test_limit_prices_are_rounded_to_the_tick_and_states_read_back(replay: Replay) -> None:
    venue = broker(replay)
    placed = venue.submit(request("tf-limit", order_type=OrderType.LIMIT, price=Decimal("98120.456")))
    assert "price=98120.45" in replay.requests[-1].body.decode()  # a buy rounds down
    assert venue.order("u1", placed.order_id) == placed
    assert replay.requests[-1].query["orderId"] == ["100402"]
    with pytest.raises(InvalidRequestError, match="positive price"):
        venue.submit(request("tf-limit-2", order_type=OrderType.LIMIT))
    with pytest.raises(InvalidRequestError, match="market or limit"):
        venue.submit(request("tf-stop", order_type=OrderType.STOP, price=Decimal(1)))
    with pytest.raises(InvalidRequestError, match="minimum"):
        venue.submit(request("tf-tiny", quantity="0.000001"))
    with pytest.raises(DataNotFoundError):
        venue.order("u1", "BTC/USDT:999")
    with pytest.raises(DataNotFoundError):
        venue.order("u1", "not-an-order")
    with pytest.raises(DataNotFoundError):  # signs with u1's key only
        venue.order("u2", placed.order_id)


def test_cancel_and_balances_map_the_venue_answers() -> None:
    with replay_server() as replay:  # the recorded answers: a partly filled open order, cancelled
        venue = broker(replay)
        cancelled = venue.cancel("u1", "BTC/USDT:100455")
        assert replay.requests[-1].method == "DELETE" and replay.requests[-1].query["orderId"] == ["100455"]
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.reason == "canceled on binance"
        assert cancelled.fill is not None and cancelled.fill.quantity == Decimal("0.004")
        balances = venue.balances("u1")
    assert balances == {"BTC": Decimal("0.0512"), "ETH": Decimal("1.5"), "USDT": Decimal("5000")}
    assert all(isinstance(v, Decimal) for v in balances.values())


def test_venue_refusals_are_domain_errors_without_the_secret(replay: Replay) -> None:
    replay.answers[POST_ORDER] = (400, "binance_insufficient.json")
    with pytest.raises(InsufficientBalanceError) as funds:
        broker(replay).submit(request("tf-poor"))
    assert funds.value.code == "INSUFFICIENT_BALANCE" and "insufficient balance" in str(funds.value)
    replay.refuse = True
    with pytest.raises(ExchangeAuthError) as refused:
        broker(replay).submit(request("tf-refused"))
    assert refused.value.code == "EXTERNAL_API_ERROR" and "refused the credentials" in str(refused.value)
    assert SECRET not in str(refused.value) and KEY not in str(refused.value)
    assert replay.count(*POST_ORDER) == 1  # the refused key placed nothing
