"""The Python client against the real app (through the test client's ASGI transport)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving.client import AuthenticationFailed, Client, InvalidRequest, NotFound
from tests.serving_support import PASSWORD, make_user


class AppTransport(httpx.BaseTransport):
    """The test client's in-process ASGI transport, closable like any httpx transport."""

    def __init__(self, client: Any) -> None:
        self._inner = client._transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self._inner.handle_request(request)
        return response


@pytest.fixture
def api(client: Any) -> Iterator[Client]:
    user = make_user(client)
    with Client(base_url=str(client.base_url), transport=AppTransport(client)) as c:
        c.login(user["username"], PASSWORD)
        yield c


def test_client_round_trip(api: Client) -> None:
    p = api.predict("AAPL", model="lgbm_aapl")
    assert p["status"] == "success" and p["prediction"]["symbol"] == "AAPL"
    s = api.predict_signal("lgbm_aapl", "AAPL")
    assert s["recommendation"] in ("BUY", "SELL", "HOLD")
    batch = api.predict_batch(["AAPL", "MSFT"], model_name="lgbm_aapl")
    assert batch["summary"]["successful"] == 2
    assert any(m["name"] == "lgbm_aapl" for m in api.models()["models"])
    bt = api.backtest(symbol="AAPL", strategy="sma_cross", start_date="2024-01-01", end_date="2024-06-01")
    assert "sharpe_ratio" in bt["metrics"]
    key = api.create_api_key("from-client")
    assert key["key"].startswith("tf_")


def test_client_raises_typed_errors_with_the_envelope_code(client: Any, api: Client) -> None:
    with pytest.raises(NotFound) as missing:
        api.model("no_such_model")
    assert missing.value.code == "NOT_FOUND" and missing.value.request_id.startswith("req_")
    with pytest.raises(InvalidRequest) as bad:
        api.train_model("deep_magic", symbol="AAPL")
    assert "deep_magic" in bad.value.message
    with Client(base_url=str(client.base_url), transport=AppTransport(client), api_key="tf_wrong") as anon:
        with pytest.raises(AuthenticationFailed) as denied:
            anon.models()
        assert "tf_wrong" not in str(denied.value)


def test_client_uploads_and_follows_a_dataset(api: Client, tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        + "".join(
            f"2024-03-{d:02d}T00:00:00Z,{10 + d},{11 + d},{9 + d},{10.5 + d},{100 * d}\n"
            for d in range(1, 11)
        )
    )
    created = api.upload_dataset(path, "client prices", "ohlcv", description="ten days")
    assert created["status"] == "processing" and created["file_name"] == "prices.csv"
    done = api.wait_for_dataset(created["id"], timeout=60, interval=0.1)
    assert (
        done["status"] == "ready" and done["metadata"]["timeframe"] == "1d" and done["metadata"]["rows"] == 10
    )
    assert any(d["id"] == created["id"] for d in api.datasets(dataset_type="ohlcv")["datasets"])
    with pytest.raises(InvalidRequest, match="unknown dataset_type"):
        api.upload_dataset(path, "bad", "images")
    api.delete_dataset(created["id"])
    with pytest.raises(NotFound):
        api.dataset(created["id"])
