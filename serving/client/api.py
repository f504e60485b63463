"""The :class:`Client`: one method per documented endpoint, answers as dicts, errors as exceptions."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from serving.client.errors import (
    ConnectionFailed,
    TradeforgeAPIError,
    error_from_response,
    safe_url,
    scrub,
)

__all__ = ["Client"]

_USER_AGENT = "tradeforge-client/0.1"


def _segment(value: str) -> str:
    """One path segment, percent-encoded."""
    return quote(value, safe="")


def _symbol(symbol: str) -> str:
    """A symbol as a path segment: a crypto pair's slash becomes the accepted ``BTC_USDT`` form."""
    return _segment(symbol.replace("/", "_"))


def _iso(value: str | date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _body(**fields: Any) -> dict[str, Any]:
    """The JSON body without the fields left at None (the server applies its defaults)."""
    return {k: v for k, v in fields.items() if v is not None}


class Client:
    """Tradeforge API client. ``token`` (a JWT, also set by :meth:`login`) wins over ``api_key``."""

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._token = token
        self._refresh_token: str | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        auth = "token" if self._token else "api_key" if self._api_key else "anonymous"
        return f"Client(base_url={safe_url(self.base_url)!r}, auth={auth})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def token(self) -> str | None:
        """The bearer token sent with each request (from the constructor or :meth:`login`)."""
        return self._token

    # -- transport --------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        if self._api_key:
            return {"X-API-Key": self._api_key}
        return {}

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        form = {k: v for k, v in (data or {}).items() if v is not None} or None
        try:
            response = self._http.request(
                method, path, json=json, params=query, files=files, data=form, headers=self._auth_headers()
            )
        except httpx.TransportError as exc:
            url = safe_url(f"{self.base_url}{path}")
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
            reason = scrub(str(exc), self._secrets())
            raise ConnectionFailed(url, f"{method} {url} {kind}: {reason}") from exc
        if response.is_success:
            return self._success_body(response)
        raise error_from_response(response, self._secrets())

    def _success_body(self, response: httpx.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise TradeforgeAPIError(
                "INVALID_RESPONSE",
                f"expected JSON from {response.request.method} {response.request.url.path}, "
                f"got {response.headers.get('content-type', 'no content type')}",
                response.status_code,
                request_id=response.headers.get("X-Request-ID"),
            ) from None
        return body if isinstance(body, dict) else {"data": body}

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._api_key, self._token, self._refresh_token)

    # -- predictions (/api/v1/predict and /api/v1/predictions) ------------------------------------

    def predict(
        self,
        symbol: str,
        model: str | None = None,
        timeframe: str = "1d",
        features: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``POST /api/v1/predict``: value, direction and confidence of ``model`` (the default when None)."""
        body = _body(symbol=symbol, model=model, timeframe=timeframe, features=features)
        return self._request("POST", "/api/v1/predict", json=body)

    def predict_signal(self, model_name: str, symbol: str, days_lookback: int = 60) -> dict[str, Any]:
        """``POST /api/v1/predictions/predict``: signal in [-1, 1], confidence and recommendation."""
        body = {"model_name": model_name, "symbol": symbol, "days_lookback": days_lookback}
        return self._request("POST", "/api/v1/predictions/predict", json=body)

    def predict_batch(
        self,
        symbols: Sequence[str],
        model: str | None = None,
        *,
        model_name: str | None = None,
        days_lookback: int | None = None,
    ) -> dict[str, Any]:
        """``POST /api/v1/predictions/predict/batch`` (synchronous): one signal per symbol and a summary."""
        if model is not None and model_name is not None and model != model_name:
            raise ValueError(f"give model or model_name, not two different ones ({model!r}, {model_name!r})")
        body = _body(symbols=list(symbols), model_name=model_name or model, days_lookback=days_lookback)
        return self._request("POST", "/api/v1/predictions/predict/batch", json=body)

    def predict_ensemble(
        self, model_names: Sequence[str], symbol: str, weights: Sequence[float] | None = None
    ) -> dict[str, Any]:
        """``POST /api/v1/predictions/predict/ensemble``: the weighted signal of several models."""
        body = _body(
            model_names=list(model_names), symbol=symbol, weights=None if weights is None else list(weights)
        )
        return self._request("POST", "/api/v1/predictions/predict/ensemble", json=body)

    def signals(self, model_name: str, symbol: str, days: int = 30) -> dict[str, Any]:
        """``GET /api/v1/predictions/models/{model_name}/signals/{symbol}``: historical signals."""
        path = f"/api/v1/predictions/models/{_segment(model_name)}/signals/{_symbol(symbol)}"
        return self._request("GET", path, params={"days": days})

    # -- models -----------------------------------------------------------------------------------

    def train_model(
        self,
        model_type: str,
        model_name: str | None = None,
        symbol: str | None = None,
        dataset: str | None = None,
        start_date: str | date | None = None,
        end_date: str | date | None = None,
        parameters: Mapping[str, Any] | None = None,
        validation_split: float | None = None,
        gpu_enabled: bool | None = None,
        force: bool | None = None,
    ) -> dict[str, Any]:
        """``POST /api/v1/models/train``; fields left at None take the server's defaults."""
        body = _body(
            model_type=model_type,
            model_name=model_name,
            symbol=symbol,
            dataset=dataset,
            start_date=_iso(start_date),
            end_date=_iso(end_date),
            parameters=None if parameters is None else dict(parameters),
            validation_split=validation_split,
            gpu_enabled=gpu_enabled,
            force=force,
        )
        return self._request("POST", "/api/v1/models/train", json=body)

    def models(
        self, category: str | None = None, status: str | None = None, page: int = 1, limit: int = 20
    ) -> dict[str, Any]:
        """``GET /api/v1/models``: one page of the catalogue, optionally filtered."""
        params = {"category": category, "status": status, "page": page, "limit": limit}
        return self._request("GET", "/api/v1/models", params=params)

    def model(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/models/{_segment(name)}")

    def delete_model(self, name: str) -> dict[str, Any]:
        return self._request("DELETE", f"/api/v1/models/{_segment(name)}")

    def reload_model(self, name: str) -> dict[str, Any]:
        return self._request("POST", f"/api/v1/models/{_segment(name)}/reload")

    # -- backtests --------------------------------------------------------------------------------

    def backtest(self, **fields: Any) -> dict[str, Any]:
        """``POST /api/v1/backtest/run`` with the request's fields (model_name, symbol, start_date, ...)."""
        return self._request("POST", "/api/v1/backtest/run", json=_body(**fields))

    def compare(self, model_names: Sequence[str], symbol: str, **fields: Any) -> dict[str, Any]:
        """``POST /api/v1/backtest/compare``: the same backtest for several models."""
        body = _body(model_names=list(model_names), symbol=symbol, **fields)
        return self._request("POST", "/api/v1/backtest/compare", json=body)

    def walk_forward(self, **fields: Any) -> dict[str, Any]:
        """``POST /api/v1/backtest/walk-forward`` (model_name, symbol, train_window, test_window, ...)."""
        return self._request("POST", "/api/v1/backtest/walk-forward", json=_body(**fields))

    def optimize(
        self,
        strategy: str,
        symbol: str,
        grid: Mapping[str, str],
        *,
        run_async: bool = False,
        **fields: Any,
    ) -> dict[str, Any]:
        """``POST /api/v1/backtest/optimize``: ``grid`` as {name: "low:high[:step]" or "a,b,c"}
        (params, constraints, objective, trials, holdout, study_name, ...); ``run_async=True`` answers
        the job."""
        body = _body(strategy=strategy, symbol=symbol, grid=dict(grid), **fields)
        if run_async:
            body["async"] = True
        return self._request("POST", "/api/v1/backtest/optimize", json=body)

    def sweep(self, strategy: str, symbol: str, grid: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        """``POST /api/v1/backtest/sweep``: ``strategy`` over ``grid`` (parameter -> values), ranked
        (constraints, objective, top, sample, seed, heatmap, start_date, ...)."""
        body = _body(strategy=strategy, symbol=symbol, grid=dict(grid), **fields)
        return self._request("POST", "/api/v1/backtest/sweep", json=body)

    # -- datasets ---------------------------------------------------------------------------------

    def upload_dataset(
        self,
        path: str | Path,
        name: str,
        dataset_type: str,
        description: str | None = None,
        target: str | None = None,
    ) -> dict[str, Any]:
        """``POST /datasets/upload`` of a CSV, JSON, Parquet or ZIP file; answers ``status: processing``."""
        file = Path(path)
        form = {"name": name, "dataset_type": dataset_type, "description": description, "target": target}
        with file.open("rb") as handle:
            return self._request("POST", "/datasets/upload", files={"file": (file.name, handle)}, data=form)

    def datasets(
        self,
        page: int = 1,
        limit: int = 10,
        sort_by: str = "created_at",
        order: str = "desc",
        dataset_type: str | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        """``GET /datasets``: one page of your datasets."""
        params = {"page": page, "limit": limit, "sort_by": sort_by, "order": order}
        return self._request(
            "GET", "/datasets", params={**params, "dataset_type": dataset_type, "status": status}
        )

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        return self._request("GET", f"/datasets/{_segment(dataset_id)}")

    def wait_for_dataset(
        self, dataset_id: str, timeout: float = 300.0, interval: float = 0.5
    ) -> dict[str, Any]:
        """The dataset once it is ``ready`` or ``failed`` (polled); TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while (answer := self.dataset(dataset_id))["status"] == "processing":
            if time.monotonic() >= deadline:
                raise TimeoutError(f"dataset {dataset_id} is still processing after {timeout:g} s")
            time.sleep(interval)
        return answer

    def delete_dataset(self, dataset_id: str) -> None:
        self._request("DELETE", f"/datasets/{_segment(dataset_id)}")

    # -- market data and health -------------------------------------------------------------------

    def quote(self, symbol: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/market/quote/{_symbol(symbol)}")

    def history(self, symbol: str, period: str | None = None, interval: str | None = None) -> dict[str, Any]:
        """``GET /api/v1/market/history/{symbol}``; period/interval default on the server."""
        params = {"period": period, "interval": interval}
        return self._request("GET", f"/api/v1/market/history/{_symbol(symbol)}", params=params)

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/api/v1/health")

    # -- auth -------------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict[str, Any]:
        """``POST /auth/login``; the access token is sent with every later request."""
        tokens = self._request("POST", "/auth/login", json={"username": username, "password": password})
        self._store_tokens(tokens)
        return tokens

    def refresh(self) -> dict[str, Any]:
        """``POST /auth/refresh`` with the refresh token of the last :meth:`login`."""
        if not self._refresh_token:
            raise ValueError("no refresh token: call login() first")
        tokens = self._request("POST", "/auth/refresh", json={"refresh_token": self._refresh_token})
        self._store_tokens(tokens)
        return tokens

    def _store_tokens(self, answer: Mapping[str, Any]) -> None:
        data = answer.get("data")
        tokens = data if "access_token" not in answer and isinstance(data, Mapping) else answer
        access = tokens.get("access_token")
        if not isinstance(access, str) or not access:
            raise TradeforgeAPIError("INVALID_RESPONSE", "the login answer has no access_token", 200)
        self._token = access
        refresh = tokens.get("refresh_token")
        self._refresh_token = refresh if isinstance(refresh, str) and refresh else self._refresh_token

    def create_api_key(self, name: str) -> dict[str, Any]:
        """``POST /api/v1/auth/keys``: the answer holds the key itself, shown this once."""
        return self._request("POST", "/api/v1/auth/keys", json={"name": name})

    def api_keys(self) -> dict[str, Any]:
        return self._request("GET", "/api/v1/auth/keys")

    def revoke_api_key(self, key_id: str | int) -> dict[str, Any]:
        return self._request("DELETE", f"/api/v1/auth/keys/{_segment(str(key_id))}")
