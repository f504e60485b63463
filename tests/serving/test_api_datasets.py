"""Datasets through the API: multipart uploads processed by the job queue, the signed
``dataset.processed`` webhook on a real local receiver, owners, paging, and refused uploads."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.app.backtest_plan import plan_backtest, run_backtest_request
from pipelines.app.walk_forward_plan import plan_walk_forward, run_walk_forward
from pipelines.db import Dataset, Job, open_database
from pipelines.jobs import RESTART_REASON
from pipelines.webhooks import SIGNATURE_HEADER, verify_signature
from serving.responses import datasets as shapes
from tests.image_support import squares_zip
from tests.serving_support import app_client, assert_envelope, make_user, served_settings
from tests.shape_support import decode_strict
from tests.webhooks.support import running_receiver

CSV = b"rsi,volume,label\n30,100,up\n70,200,down\n55,150,up\n45,120,down\n"
ONE_CLASS = json.dumps([{"x": 1, "label": "up"}, {"x": 2, "label": "up"}]).encode()


def _upload(
    client: Any, headers: dict[str, str], name: str, file_name: str, content: bytes, **form: str
) -> Any:
    data = {"name": name, "dataset_type": "classification", **form}
    return client.post("/datasets/upload", files={"file": (file_name, content)}, data=data, headers=headers)


def _settle(client: Any, headers: dict[str, str], dataset_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = client.get(f"/datasets/{dataset_id}", headers=headers).json()
        if body["status"] != "processing" or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_uploads_are_processed_and_announced_by_signed_webhooks(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", webhook_allow_private_urls=True)
    with running_receiver() as receiver, app_client(settings) as c:
        alice, bob = make_user(c), make_user(c)
        a = alice["headers"]
        hook = c.post(
            "/api/v1/webhooks", json={"url": receiver.url(), "events": ["dataset.processed"]}, headers=a
        )
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]

        good = _upload(c, a, "signals", "signals.csv", CSV, description="RSI and volume")
        assert good.status_code == 201, good.text
        accepted = decode_strict(good.json(), shapes.Dataset)
        assert accepted.status == "processing" and accepted.file_size == len(CSV)
        assert accepted.description == "RSI and volume" and accepted.job_id
        bad = _upload(c, a, "one class", "one.json", ONE_CLASS)
        assert bad.status_code == 201, bad.text

        got = receiver.wait_for(2, timeout=60)
        assert [r.headers["X-Tradeforge-Event"] for r in got] == ["dataset.processed"] * 2
        payloads = {}
        for r in got:
            verify_signature(secret, r.headers[SIGNATURE_HEADER], r.body)
            body = json.loads(r.body)
            assert body["event"] == "dataset.processed"
            payloads[body["data"]["dataset_id"]] = body["data"]
        ready, failed = payloads[accepted.id], payloads[bad.json()["id"]]
        assert ready["status"] == "ready" and ready["metadata"]["rows"] == 4
        assert ready["metadata"]["target"] == "label" and ready["job_id"] == accepted.job_id
        assert failed["status"] == "failed" and "single class 'up'" in failed["error"]

        detail = _settle(c, a, accepted.id)
        shaped = decode_strict(detail, shapes.DatasetDetail)
        assert shaped.status == "ready" and shaped.metadata is not None
        assert shaped.metadata["features"] == ["rsi", "volume"] and shaped.metadata["columns"] == 3
        gone_wrong = decode_strict(_settle(c, a, bad.json()["id"]), shapes.DatasetDetail)
        assert gone_wrong.status == "failed" and gone_wrong.error and "one.json" in gone_wrong.error
        job = c.get(f"/api/v1/jobs/{accepted.job_id}", headers=a).json()
        assert job["status"] == "completed" and job["result"]["dataset_id"] == accepted.id

        listed = decode_strict(
            c.get("/datasets?sort_by=name&order=asc", headers=a).json(), shapes.DatasetList
        )
        assert listed.total == 2 and [d.name for d in listed.datasets] == ["one class", "signals"]
        assert c.get("/datasets?status=ready", headers=a).json()["total"] == 1
        assert c.get("/datasets", headers=bob["headers"]).json()["total"] == 0
        assert_envelope(c.get("/datasets?sort_by=rows", headers=a), 400, "VALIDATION_ERROR")
        assert_envelope(c.get("/datasets?limit=0", headers=a), 400, "VALIDATION_ERROR")

        assert_envelope(c.get(f"/datasets/{accepted.id}", headers=bob["headers"]), 403, "FORBIDDEN")
        assert_envelope(c.delete(f"/datasets/{accepted.id}", headers=bob["headers"]), 403, "FORBIDDEN")
        removed = c.delete(f"/datasets/{accepted.id}", headers=a)
        assert removed.status_code == 204 and removed.content == b""
        assert_envelope(c.get(f"/datasets/{accepted.id}", headers=a), 404, "NOT_FOUND")
        assert not (settings.datasets_dir / accepted.id).exists()
        deliveries = c.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=a).json()
        assert deliveries["count"] == 2 and {d["event"] for d in deliveries["deliveries"]} == {
            "dataset.processed"
        }


def test_bad_uploads_are_refused_and_store_nothing(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", dataset_max_upload_mb=1)
    with app_client(settings) as c:
        user = make_user(c)
        h = user["headers"]
        assert _upload(c, h, "kept", "kept.csv", CSV).status_code == 201
        assert_envelope(_upload(c, {}, "anon", "a.csv", CSV), 401, "UNAUTHORIZED")
        form = {"name": "x", "dataset_type": "regression"}
        misnamed = c.post("/datasets/upload", files={"attachment": ("a.csv", CSV)}, data=form, headers=h)
        assert "`file`" in assert_envelope(misnamed, 400, "VALIDATION_ERROR")["error"]["message"]
        not_multipart = c.post("/datasets/upload", data=form, headers=h)
        assert "multipart" in assert_envelope(not_multipart, 400, "INVALID_REQUEST")["error"]["message"]
        no_name = c.post(
            "/datasets/upload", files={"file": ("a.csv", CSV)}, data={"dataset_type": "regression"}, headers=h
        )
        assert "name" in assert_envelope(no_name, 400, "VALIDATION_ERROR")["error"]["message"]
        cases = [
            (_upload(c, h, "t", "a.csv", CSV, dataset_type="images"), 400, "unknown dataset_type 'images'"),
            (_upload(c, h, "x", "a.xlsx", CSV), 400, "unsupported type"),
            (_upload(c, h, "e", "a.csv", b""), 400, "the uploaded file is empty"),
            (_upload(c, h, "kept", "b.csv", CSV), 409, "already have a dataset named 'kept'"),
            (_upload(c, h, "big", "big.csv", b"a,label\n" + b"1,x\n" * 600_000), 413, "Too Large"),
            (
                _upload(c, h, "bigger", "b.csv", b"a,label\n" + b"1,x\n" * 300_000),
                413,
                "larger than the 1 MB",
            ),
        ]
        for answer, status, problem in cases:
            code = {400: "INVALID_REQUEST", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE"}[status]
            assert problem in assert_envelope(answer, status, code)["error"]["message"]
        assert c.get("/datasets", headers=h).json()["total"] == 1
        assert len(list(settings.datasets_dir.iterdir())) == 1
        assert c.get("/api/v1/jobs?kind=dataset", headers=h).json()["count"] == 1


def test_an_image_zip_is_listed_and_described_like_any_dataset(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", image_height=20, image_width=12)
    with app_client(settings) as c:
        h = make_user(c)["headers"]
        answer = _upload(c, h, "squares", "squares.zip", squares_zip(4), dataset_type="image")
        assert answer.status_code == 201, answer.text
        detail = decode_strict(_settle(c, h, answer.json()["id"]), shapes.DatasetDetail)
        assert detail.status == "ready" and detail.dataset_type == "image" and detail.metadata is not None
        assert detail.metadata["rows"] == 8 and detail.metadata["image_shape"] == [20, 12, 3]
        assert detail.metadata["classes"] == {"blue": 4, "red": 4}
        listed = c.get("/datasets?dataset_type=image", headers=h).json()
        assert [d["id"] for d in listed["datasets"]] == [detail.id]
        wrong = _upload(c, h, "csv", "a.csv", CSV, dataset_type="image")
        assert "a ZIP of one folder" in assert_envelope(wrong, 400, "INVALID_REQUEST")["error"]["message"]


def test_a_restart_fails_processing_that_was_running_and_says_so(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", webhook_allow_private_urls=True)
    with running_receiver() as receiver:
        with app_client(settings) as c:
            alice = make_user(c)
            body = {"url": receiver.url(), "events": ["dataset.processed"]}
            assert c.post("/api/v1/webhooks", json=body, headers=alice["headers"]).status_code == 201
        database = open_database(settings)
        # As a crash leaves it: the dataset's job row still says running, its worker is gone.
        with database.transaction() as session:
            params = {"dataset_id": "5b1f0f0e-8f7c-4c59-9a53-0d3f7f8b2a11", "name": "half done"}
            job = Job(kind="dataset", status="running", params=params, user_id=alice["id"], progress=40.0)
            session.add(job)
            session.flush()
            session.add(
                Dataset(
                    id=params["dataset_id"],
                    user_id=alice["id"],
                    name="half done",
                    dataset_type="regression",
                    file_name="x.csv",
                    file_format="csv",
                    file_size=10,
                    sha256="0" * 64,
                    job_id=job.id,
                )
            )
        database.close()
        with app_client(settings) as c:
            got = receiver.wait_for(1, timeout=30)
            data = json.loads(got[0].body)["data"]
            assert data["dataset_id"] == params["dataset_id"] and data["status"] == "failed"
            assert data["error"] == RESTART_REASON
            view = c.get(f"/datasets/{params['dataset_id']}", headers=alice["headers"]).json()
            assert view["status"] == "failed" and view["error"] == RESTART_REASON


def _bars_csv(days: int = 600) -> bytes:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, days)))
    stamps = pd.bdate_range("2023-01-02", periods=days, tz="UTC")
    frame = pd.DataFrame(
        {
            "Date": stamps.strftime("%Y-%m-%d"),
            "Open": close * (1 + rng.normal(0, 0.003, days)),
            "Close": close,
            "Volume": rng.integers(1_000, 5_000, days),
            "Symbol": "AAPL",
        }
    )
    frame["High"] = frame[["Open", "Close"]].max(axis=1) * 1.01
    frame["Low"] = frame[["Open", "Close"]].min(axis=1) * 0.99
    return frame.to_csv(index=False).encode()


def test_an_uploaded_bar_series_is_backtested_as_its_file_would_be(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home")
    raw = tmp_path / "aapl.csv"
    raw.write_bytes(_bars_csv())
    strategy: dict[str, Any] = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}
    # The reference: the same CSV through source ``file``, as `tradeforge backtest --path` reads it.
    plan = plan_backtest(settings, symbol="AAPL", source="file", path=raw, **strategy)
    direct = run_backtest_request(settings, plan).as_dict()
    with app_client(settings) as c:
        alice, bob = make_user(c), make_user(c)
        a = alice["headers"]
        up = _upload(c, a, "aapl daily", "aapl.csv", raw.read_bytes(), dataset_type="ohlcv")
        assert up.status_code == 201, up.text
        dataset_id = up.json()["id"]
        assert _settle(c, a, dataset_id)["status"] == "ready"

        body = {"symbol": "AAPL", "dataset_id": dataset_id, **strategy}
        ran = c.post("/api/v1/backtest/run", json=body, headers=a)
        assert ran.status_code == 200, ran.text
        assert ran.json()["metrics"] == direct["metrics"] and ran.json()["metrics"]["num_trades"] > 0
        assert ran.json()["timeframe"] == "1d"

        ticket = c.post("/api/v1/backtest/run", json={**body, "async": True}, headers=a)
        assert ticket.status_code == 202, ticket.text
        job = c.app.state.container.jobs.wait(ticket.json()["job_id"], timeout=60)
        assert job.status == "completed" and job.result["metrics"] == direct["metrics"]

        walk = {"symbol": "AAPL", "model_type": "simple", "train_window": 300, "test_window": 60}
        wf = c.post("/api/v1/backtest/walk-forward", json={**walk, "dataset_id": dataset_id}, headers=a)
        assert wf.status_code == 200, wf.text
        wf_plan = plan_walk_forward(
            settings,
            symbol="AAPL",
            model_type="simple",
            train_window=300,
            test_window=60,
            source="file",
            path=raw,
        )
        wf_direct = run_walk_forward(settings, wf_plan).as_dict()
        assert wf.json()["num_folds"] == len(wf_direct["folds"]) == 5
        assert wf.json()["metrics"] == wf_direct["metrics"] and wf.json()["folds"] == wf_direct["folds"]
        assert str(settings.home) not in wf.text and str(settings.home) not in ticket.text
        # the answer says how far to trust it: in- vs out-of-sample Sharpe, their ratio, the verdict
        sig = wf.json()["significance"]
        pairs = [
            (f["in_sample_metrics"]["sharpe_ratio"], f["metrics"]["sharpe_ratio"]) for f in wf.json()["folds"]
        ]
        pairs = [(i, o) for i, o in pairs if i is not None and o is not None]
        assert pairs and sig["in_sample_sharpe"] == pytest.approx(sum(i for i, _ in pairs) / len(pairs))
        assert sig["out_of_sample_sharpe"] == pytest.approx(sum(o for _, o in pairs) / len(pairs))
        if sig["in_sample_sharpe"] > 0:
            assert sig["walk_forward_efficiency"] == pytest.approx(
                sig["out_of_sample_sharpe"] / sig["in_sample_sharpe"]
            )
        assert sig["verdict"].endswith("significant at 95%") and ran.json()["significance"]["verdict"]

        table = _upload(c, a, "table", "t.csv", CSV)
        _settle(c, a, table.json()["id"])
        refusals = [
            (c.post("/api/v1/backtest/run", json=body, headers=bob["headers"]), 403, "another user"),
            (
                c.post("/api/v1/backtest/run", json={**body, "symbol": "MSFT"}, headers=a),
                400,
                "holds AAPL bars",
            ),
            (
                c.post("/api/v1/backtest/run", json={**body, "timeframe": "1h"}, headers=a),
                400,
                "holds 1d bars",
            ),
            (c.post("/api/v1/backtest/run", json={**body, "source": "yfinance"}, headers=a), 400, "not both"),
            (
                c.post("/api/v1/backtest/run", json={**body, "dataset_id": table.json()["id"]}, headers=a),
                400,
                "bars come from an ohlcv dataset",
            ),
            (
                c.post("/api/v1/backtest/run", json={**body, "dataset_id": "nope"}, headers=a),
                404,
                "no dataset",
            ),
            (
                c.post(
                    "/api/v1/backtest/run",
                    json={**body, "start_date": "2010-01-04", "end_date": "2011-01-04"},
                    headers=a,
                ),
                404,
                f"dataset {dataset_id} has no bars between",
            ),
        ]
        for answer, status, problem in refusals:
            code = {400: "INVALID_REQUEST", 403: "FORBIDDEN", 404: "NOT_FOUND"}[status]
            assert problem in assert_envelope(answer, status, code)["error"]["message"]
            assert str(settings.home) not in answer.text
