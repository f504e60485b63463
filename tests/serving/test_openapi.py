"""The OpenAPI document: every route's answer, errors and request body documented with examples, and
the documentation true to the app (its examples and the app's real answers decode as the shapes)."""

from __future__ import annotations

import json
import sys
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.serialization import encode_json
from litestar.testing import TestClient

from pipelines.settings import Settings
from serving import responses
from serving.app import create_app
from serving.responses import admin
from tests.serving_support import make_user
from tests.shape_support import decode_strict

_ENVELOPE = "#/components/schemas/ErrorEnvelope"
# Routes answering text or files: Prometheus, SSE, a job's Parquet or CSV file.
_NOT_JSON = (
    "/metrics",
    "/api/metrics",
    "/api/metrics/trading",
    "/api/metrics/ml",
    "/api/metrics/system",
    "/api/system/task-events",
    "/api/backtests/stream",
    "/api/predictions/stream",
    "/api/v1/jobs/{job_id}/files/{name}",
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return create_app(Settings(home=tmp_path_factory.mktemp("openapi") / "home"))


@pytest.fixture(scope="module")
def spec(app: Litestar) -> dict[str, Any]:
    with TestClient(app) as c:
        answer = c.get("/openapi.json")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
        for page in ("/docs", "/redoc"):
            html = c.get(page)
            assert html.status_code == 200 and "/openapi.json" in html.text, page
    body: dict[str, Any] = json.loads(answer.text)
    return body


def _handlers(app: Litestar) -> list[tuple[str, str, Any]]:
    """(method, OpenAPI path, handler) of every documented route."""
    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.resolve_include_in_schema():
                for method in handler.http_methods:
                    out.append((method.lower(), route.path_format or "/", handler))
    return out


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_route_documents_its_answer_errors_and_body(app: Litestar, spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1") and spec["info"]["title"] == "Tradeforge API"
    handlers = _handlers(app)
    assert len(handlers) >= 38
    for method, path, handler in handlers:
        where = f"{method.upper()} {path}"
        op = spec["paths"][path][method]
        responses = op["responses"]
        ok = str(handler.status_code)
        if ok == "204":  # No Content: nothing to document but the errors
            assert "content" not in responses[ok], where
        else:
            content = responses[ok]["content"]
            media = content.get("application/json") or next(iter(content.values()))
            if path not in _NOT_JSON:
                schema = _resolve(spec, media["schema"])
                if schema.get("type") == "array":  # a plain list of objects (candles, models)
                    schema = _resolve(spec, schema["items"])
                assert schema["properties"], where
            assert media["examples"] and all(e["value"] for e in media["examples"].values()), where
        assert "429" in responses, where
        if not handler.opt.get("public"):
            assert responses["401"]["content"]["application/json"]["schema"]["$ref"] == _ENVELOPE, where
        for status, answer in responses.items():
            if status.startswith("4"):  # every error is the one envelope, with an example
                body = answer["content"]["application/json"]
                assert body["schema"]["$ref"] == _ENVELOPE and body["examples"], f"{where} {status}"
        if method == "post" and "requestBody" in op:
            body = op["requestBody"]["content"]
            if "multipart/form-data" in body:  # an upload: its form names the file part
                form = _resolve(spec, body["multipart/form-data"]["schema"])
                assert any(f.get("format") == "binary" for f in form["properties"].values()), where
            else:
                assert body["application/json"]["schema"]["examples"], where
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope["required"]) == {
        "status",
        "error",
        "detail",
        "status_code",
        "request_id",
        "timestamp",
    }


def test_seed_example_requests_are_in_the_schema(spec: dict[str, Any]) -> None:
    def examples(path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        return out["schema"]["examples"]  # type: ignore[no-any-return,call-overload]

    assert {"model_name": "ensemble_spy", "symbol": "SPY", "days_lookback": 60} in examples(
        "/api/v1/predictions/predict"
    )
    assert any(e.get("features", {}).get("technical_indicators") for e in examples("/api/v1/predict"))
    assert {e.get("model_type") for e in examples("/api/v1/models/train")} == {"ensemble", "xgboost"}
    quote = spec["paths"]["/api/v1/market/quote/{symbol}"]["get"]["responses"]["200"]
    example = next(iter(quote["content"]["application/json"]["examples"].values()))["value"]
    assert example["symbol"] == "AAPL" and example["price"] > 0


def test_examples_decode_as_their_documented_shapes(app: Litestar) -> None:
    checked = 0
    for method, path, handler in _handlers(app):
        for status, response in (handler.responses or {}).items():
            for example in response.examples or []:
                try:
                    decode_strict(example.value, response.data_container)
                except msgspec.ValidationError as exc:
                    pytest.fail(f"{method.upper()} {path} {status} example: {exc}")
                checked += 1
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is not None:  # request examples must be valid requests
            for example in data.kwarg_definition.examples or ():  # a form upload has none
                msgspec.convert(example.value, data.annotation)
                checked += 1
    assert checked > 38 * 3


def _shape(app: Litestar, method: str, path: str, status: int = 200) -> Any:
    for m, p, handler in _handlers(app):
        if (m, p) == (method, path):
            return handler.responses[status].data_container
    raise AssertionError(f"no route {method} {path}")


def _strict_shaped(shape: type[Any], value: Any) -> Any:
    """``shaped`` that refuses a key the shape lacks (the app's drops it)."""
    decode_strict(msgspec.json.decode(encode_json(value)), shape)
    return responses.shaped(shape, value)


@pytest.fixture
def strict_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every handler builds its answer refusing undeclared keys, so a field that a domain result
    holds and the documented shape lacks fails the test instead of being dropped."""
    for module in list(sys.modules.values()):
        if module.__name__.startswith("serving.controllers.") and hasattr(module, "shaped"):
            monkeypatch.setattr(module, "shaped", _strict_shaped)


@pytest.mark.usefixtures("strict_answers")
def test_real_answers_decode_as_the_documented_shapes(client: Any) -> None:
    """The app's answers and the domain results they are built from hold exactly the documented
    fields (decoded refusing unknown ones)."""
    app = client.app
    user = make_user(client)
    h = user["headers"]
    created = client.post("/api/v1/auth/keys", json={"name": "doc-key"}, headers=h)
    assert created.status_code == 201, created.text
    key = decode_strict(created.json(), _shape(app, "post", "/api/v1/auth/keys", 201)).id
    login = {"username": "doc_user", "password": "pw-long-enough"}
    calls: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("get", "/", "/", None),
        ("get", "/health", "/health", None),
        ("get", "/info", "/info", None),
        ("get", "/api/v1/health", "/api/v1/health", None),
        ("post", "/auth/register", "/auth/register", login),
        ("post", "/auth/login", "/auth/login", login),
        ("post", "/api/auth/login", "/api/auth/login", login),
        ("post", "/auth/refresh", "/auth/refresh", {"refresh_token": user["refresh_token"]}),
        ("get", "/api/v1/auth/me", "/api/v1/auth/me", None),
        ("get", "/api/v1/auth/keys", "/api/v1/auth/keys", None),
        ("delete", "/api/v1/auth/keys/{key_id}", f"/api/v1/auth/keys/{key}", None),
        ("get", "/api/v1/models", "/api/v1/models/", None),
        ("get", "/api/v1/models/{model_name}", "/api/v1/models/lgbm_aapl", None),
        ("post", "/api/v1/predict", "/api/v1/predict/", {"symbol": "AAPL", "model": "lightgbm",
                                                         "features": {"technical_indicators": ["RSI"]}}),
        ("post", "/api/v1/predict/batch", "/api/v1/predict/batch", {"symbols": ["AAPL", "NOPE/X"]}),
        ("post", "/api/v1/predictions/predict", "/api/v1/predictions/predict", {"model_name": "lgbm_aapl"}),
        ("post", "/api/v1/predictions/predict/batch", "/api/v1/predictions/predict/batch",
         {"model_name": "lgbm_aapl", "symbols": ["AAPL"]}),
        ("post", "/api/v1/predictions/predict/ensemble", "/api/v1/predictions/predict/ensemble",
         {"model_names": ["lgbm_aapl", "xgb_aapl"], "symbol": "AAPL"}),
        ("get", "/api/v1/predictions/models/{model_name}/signals/{symbol}",
         "/api/v1/predictions/models/lgbm_aapl/signals/AAPL?days=3", None),
        ("get", "/api/v1/market/quote/{symbol}", "/api/v1/market/quote/AAPL", None),
        ("get", "/api/v1/market/history/{symbol}", "/api/v1/market/history/AAPL?period=5d", None),
        ("get", "/api/market/data", "/api/market/data?symbol=AAPL&timeframe=1d&start=2023-01-02&end=2023-02",
         None),
        ("get", "/api/market/symbols", "/api/market/symbols?asset_type=stocks", None),
        ("get", "/api/analytics/market",
         "/api/analytics/market?symbol=AAPL&timeframe=1d&end_date=2023-02-01&limit=3", None),
        ("get", "/api/models", "/api/models/", None),
        ("get", "/api/models/{model_name}", "/api/models/lgbm_aapl", None),
        ("post", "/api/v1/backtest/run", "/api/v1/backtest/run",
         {"symbol": "AAPL", "strategy": "sma_cross", "start_date": "2023-01-01", "end_date": "2024-01-01"}),
        ("post", "/api/v1/backtest/compare", "/api/v1/backtest/compare",
         {"symbol": "AAPL", "model_names": ["lgbm_aapl"], "strategies": [{"strategy": "rsi_reversion"}],
          "start_date": "2023-06-01", "end_date": "2024-01-01"}),
        ("post", "/api/v1/backtest/sweep", "/api/v1/backtest/sweep",
         {"symbol": "AAPL", "strategy": "sma_cross", "grid": {"fast": "5:15:5", "slow": [20, 30]},
          "start_date": "2023-01-01", "end_date": "2024-01-01"}),
        ("get", "/api/v1/backtest/metrics", "/api/v1/backtest/metrics", None),
        ("get", "/api/strategies/available", "/api/strategies/available", None),
        ("post", "/api/strategies", "/api/strategies/",
         {"name": "doc", "type": "SmaCross", "params": {"symbols": ["AAPL"]}}),
        ("get", "/api/strategies", "/api/strategies/", None),
        ("get", "/api/v1/monitoring/system", "/api/v1/monitoring/system", None),
        ("get", "/api/v1/monitoring/models/{model_name}", "/api/v1/monitoring/models/lgbm_aapl", None),
        ("get", "/api/v1/monitoring/predictions/recent", "/api/v1/monitoring/predictions/recent", None),
        ("get", "/api/v1/monitoring/errors/recent", "/api/v1/monitoring/errors/recent", None),
        ("get", "/api/v1/monitoring/dashboard", "/api/v1/monitoring/dashboard", None),
        ("post", "/api/v1/monitoring/save", "/api/v1/monitoring/save", None),
        ("get", "/api/v1/monitoring/history", "/api/v1/monitoring/history", None),
    ]  # fmt: skip
    for method, template, url, body in calls:
        answer = client.request(method.upper(), url, json=body, headers=h)
        status = answer.status_code
        assert status in (200, 201), f"{method} {url}: {answer.text}"
        try:
            decode_strict(answer.json(), _shape(app, method, template, status))
        except msgspec.ValidationError as exc:
            pytest.fail(f"{method.upper()} {url} answers outside its documented shape: {exc}")
    admin_h = make_user(client, role="admin")["headers"]  # lgbm_aapl has no owner: an admin's to reload
    reloaded = client.post("/api/v1/models/lgbm_aapl/reload", headers=admin_h)
    decode_strict(reloaded.json(), _shape(app, "post", "/api/v1/models/{model_name}/reload"))
    form = {"name": "doc dataset", "dataset_type": "regression"}
    upload = client.post(
        "/datasets/upload", files={"file": ("d.csv", b"x,y\n1,2\n2,3\n")}, data=form, headers=h
    )
    assert upload.status_code == 201, upload.text
    decode_strict(upload.json(), _shape(app, "post", "/datasets/upload", 201))
    dataset = upload.json()["id"]
    for template, url in (("/datasets", "/datasets"), ("/datasets/{dataset_id}", f"/datasets/{dataset}")):
        decode_strict(client.get(url, headers=h).json(), _shape(app, "get", template))
    assert client.delete(f"/datasets/{dataset}", headers=h).status_code == 204
    errors = [
        client.get("/api/v1/monitoring/system"),  # 401
        client.post("/api/v1/predictions/predict", json={"symbol": "SPY"}, headers=h),  # 400
        client.get("/api/v1/models/nope", headers=h),  # 404
        client.delete("/api/v1/models/lgbm_aapl", headers=h),  # 403
    ]
    assert [e.status_code for e in errors] == [401, 400, 404, 403]
    for answer in errors:
        decode_strict(answer.json(), admin.ErrorEnvelope)


def test_the_document_is_a_valid_openapi_31_document(spec: dict[str, Any]) -> None:
    import openapi_spec_validator

    openapi_spec_validator.validate(spec)
