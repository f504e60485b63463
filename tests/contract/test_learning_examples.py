"""The Deep Learning Platform document's Python SDK flow over HTTP against the real app on uvicorn:
register, log in with the document's body, upload, start training with the SDK example's body
(``resnet50``, learning_rate 0.001, batch_size 32, epochs 100), poll the status, read the results,
list and get the model, predict one row and many, delete it; on a classification table (a
residual MLP), a regression table and an image dataset (the convolutional ResNet)."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from pipelines.db import User
from serving.app import create_app
from tests.image_support import squares, squares_zip
from tests.serving.learning_support import classification_csv, regression_csv
from tests.serving_support import PASSWORD, served_settings, uvicorn_thread

SDK_EXAMPLE = {"learning_rate": 0.001, "batch_size": 32, "epochs": 100}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = served_settings(tmp_path_factory.mktemp("learning") / "home", image_height=24, image_width=24)
    app = create_app(settings)
    with uvicorn_thread(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def _headers(http: httpx.Client, username: str) -> dict[str, str]:
    created = http.post(
        "/auth/register",
        json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
    )
    assert created.status_code == 201, created.text
    app: Any = http.app  # type: ignore[attr-defined]
    with app.state.container.database.transaction() as session:  # polling every 50 ms needs a high tier
        session.get(User, created.json()["id"]).tier = "enterprise"
    response = http.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _upload(http: httpx.Client, h: dict[str, str], name: str, filename: str, data: bytes, kind: str) -> str:
    response = http.post(
        "/datasets/upload",
        files={"file": (filename, data)},
        data={"name": name, "dataset_type": kind},
        headers=h,
    )
    assert response.status_code == 201, response.text
    dataset_id: str = response.json()["id"]
    deadline = time.monotonic() + 60
    while http.get(f"/datasets/{dataset_id}", headers=h).json()["status"] == "processing":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return dataset_id


def _train(http: httpx.Client, h: dict[str, str], config: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Start training, poll the status to the end; the results and the model id."""
    response = http.post("/training/start", json=config, headers=h)
    assert response.status_code == 201, response.text
    started = response.json()
    assert started["status"] == "queued" and started["estimated_time"] >= 1
    deadline = time.monotonic() + 300
    while True:
        status = http.get(f"/training/status/{started['job_id']}", headers=h).json()
        if status["status"] in ("completed", "failed", "stopped"):
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["status"] == "completed", status
    results = http.get(f"/training/results/{started['job_id']}", headers=h)
    assert results.status_code == 200, results.text
    out: dict[str, Any] = results.json()
    assert out["model_id"] == status["model_id"] and out["training_history"]["val_loss"]
    return out, str(out["model_id"])


def _model_round_trip(
    http: httpx.Client, h: dict[str, str], model_id: str, model_type: str
) -> dict[str, Any]:
    listed = http.get("/models", headers=h).json()
    assert model_id in [m["id"] for m in listed["models"]]
    detail: dict[str, Any] = http.get(f"/models/{model_id}", headers=h).json()
    assert detail["model_type"] == model_type
    return detail


def _delete(http: httpx.Client, h: dict[str, str], model_id: str) -> None:
    assert http.delete(f"/models/{model_id}", headers=h).status_code in (200, 204)
    assert http.get(f"/models/{model_id}", headers=h).status_code == 404


def test_sdk_example_classification_with_resnet50(http: httpx.Client) -> None:
    h = _headers(http, "sdk_user")
    csv, _ = classification_csv(rows=160, seed=0)
    dataset_id = _upload(http, h, "My Dataset", "data.csv", csv, "classification")
    results, model_id = _train(
        http, h, {"dataset_id": dataset_id, "model_type": "resnet50", "hyperparameters": SDK_EXAMPLE}
    )
    assert results["epochs_run"] == 100 and results["performance"]["accuracy"] >= 0.9
    detail = _model_round_trip(http, h, model_id, "resnet50")
    architecture = detail["architecture"]
    assert architecture["family"] == "residual_mlp" and architecture["blocks"] == 16
    assert architecture["width"] == 64 and detail["classes"] == ["cat", "dog"]
    _, held_out = classification_csv(rows=200, seed=9)
    truth = np.where(held_out[:, 0] + held_out[:, 1] > 0, "cat", "dog")
    one = http.post(f"/models/{model_id}/predict", json={"input": held_out[0].tolist()}, headers=h)
    assert one.status_code == 200, one.text
    assert one.json()["predictions"][0]["class"] == truth[0]
    many = http.post(f"/models/{model_id}/predict", json={"inputs": held_out.tolist()}, headers=h)
    assert many.status_code == 200, many.text
    got = np.array([p["class"] for p in many.json()["predictions"]])
    assert float(np.mean(got == truth)) >= 0.95
    _delete(http, h, model_id)


def test_regression_table_with_resnet18(http: httpx.Client) -> None:
    h = _headers(http, "sdk_regressor")
    csv, _ = regression_csv(rows=300, seed=1)
    dataset_id = _upload(http, h, "line", "line.csv", csv, "regression")
    config = {
        "dataset_id": dataset_id,
        "model_type": "resnet18",
        "hyperparameters": {"learning_rate": 0.003, "batch_size": 32, "epochs": 30, "base_width": 16},
        "early_stopping": {"enabled": True, "patience": 5, "monitor": "val_loss"},
    }
    results, model_id = _train(http, h, config)
    assert results["performance"]["r2"] > 0.9
    assert set(results["final_metrics"]) == {"train_loss", "train_mae", "val_loss", "val_mae"}
    assert _model_round_trip(http, h, model_id, "resnet18")["architecture"]["blocks"] == 8
    x = np.random.default_rng(5).normal(size=(50, 3))
    many = http.post(f"/models/{model_id}/predict", json={"inputs": x.tolist()}, headers=h)
    assert many.status_code == 200, many.text
    values = np.array([p["value"] for p in many.json()["predictions"]])
    assert np.abs(values - (3 * x[:, 0] - 2 * x[:, 1] + 0.5)).mean() < 0.6
    one = http.post(f"/models/{model_id}/predict", json={"input": x[0].tolist()}, headers=h)
    assert one.json()["predictions"][0]["value"] == pytest.approx(values[0], abs=1e-4)
    _delete(http, h, model_id)


def test_image_dataset_with_resnet18(http: httpx.Client) -> None:
    h = _headers(http, "sdk_painter")
    dataset_id = _upload(http, h, "shapes", "shapes.zip", squares_zip(80), "image")
    hyperparameters = {"learning_rate": 0.01, "batch_size": 32, "epochs": 4, "base_width": 8}
    config = {"dataset_id": dataset_id, "model_type": "resnet18", "hyperparameters": hyperparameters}
    _, model_id = _train(http, h, config)
    detail = _model_round_trip(http, h, model_id, "resnet18")
    assert detail["architecture"]["family"] == "resnet" and detail["architecture"]["image_shape"] == [
        24,
        24,
        3,
    ]
    images, labels = squares(20, size=24, seed=7)
    encoded = []
    for pixels in images:
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="PNG")
        encoded.append(base64.b64encode(out.getvalue()).decode())
    many = http.post(f"/models/{model_id}/predict", json={"inputs": encoded}, headers=h)
    assert many.status_code == 200, many.text
    truth = ["red" if label == 0 else "blue" for label in labels]
    got = [p["class"] for p in many.json()["predictions"]]
    assert sum(g == t for g, t in zip(got, truth, strict=True)) >= 16
    one = http.post(f"/models/{model_id}/predict", json={"input": encoded[0]}, headers=h)
    assert one.status_code == 200 and one.json()["predictions"][0]["class"] == got[0]
    _delete(http, h, model_id)
