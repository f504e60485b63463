"""The Deep Learning Platform document's SDK flow on the real app: register, log in, upload a
dataset, start training, poll its status, read the results, list and read the model, predict one
row and many, delete; for a classification and a regression table. Progress reaches the status
route, the task-event stream's job events and the ``training.*`` webhooks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from pipelines.db import Job, TrainedModel, WebhookDelivery
from pipelines.models.tracking import open_tracker
from serving.responses import learning as shapes
from tests.serving.learning_support import (
    classification_csv,
    login,
    regression_csv,
    settle_training,
    upload_ready,
)
from tests.serving_support import app_client, assert_envelope, served_settings
from tests.shape_support import decode_strict
from tests.webhooks.support import running_receiver

LGBM = {"n_estimators": 60, "rounds_per_epoch": 10, "num_leaves": 7, "min_child_samples": 5}


def _start(c: Any, h: dict[str, str], dataset_id: str, **extra: Any) -> Any:
    body = {"dataset_id": dataset_id, "model_type": "lightgbm", "hyperparameters": LGBM, **extra}
    return c.post("/training/start", json=body, headers=h)


def test_sdk_flow_classification_with_progress_events_and_webhooks(tmp_path: Path) -> None:
    """Long because it is the document's whole flow, checked step by step."""
    settings = served_settings(tmp_path / "home", webhook_allow_private_urls=True, max_predict_batch=300)
    csv, x = classification_csv()
    with running_receiver() as receiver, app_client(settings) as c:
        h, other = login(c, "sdkuser"), login(c, "stranger")
        job_events: list[dict[str, Any]] = []  # the bus that feeds /api/system/task-events
        c.app.state.container.jobs.subscribe(job_events.append)
        events = ["training.started", "training.progress", "training.completed", "training.failed"]
        hook = c.post("/api/v1/webhooks", json={"url": receiver.url(), "events": events}, headers=h)
        assert hook.status_code == 201, hook.text
        root = c.get("/").json()
        assert root["message"] == "Welcome to the Deep Learning Platform" and root["name"] == "Tradeforge API"
        dataset_id = upload_ready(c, h, "pets", csv, "classification")

        started = _start(c, h, dataset_id, validation_split=0.25)
        assert started.status_code == 201, started.text
        accepted = decode_strict(started.json(), shapes.TrainingStarted)
        assert accepted.status == "queued" and accepted.estimated_time >= 1
        status, seen = settle_training(c, h, accepted.job_id)
        assert status["status"] == "completed" and status["progress"] == 100.0, status
        decode_strict(status, shapes.TrainingStatus)
        progress = [s["progress"] for s in seen]
        assert progress == sorted(progress)  # never backwards
        assert status["current_epoch"] == status["total_epochs"] == 6
        assert set(status["metrics"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert status["elapsed_time"] is not None and status["started_at"]

        results = decode_strict(
            c.get(f"/training/results/{accepted.job_id}", headers=h).json(), shapes.TrainingResults
        )
        assert results.model_id and results.best_epoch >= 1 and results.stopped_epoch is None
        assert len(results.training_history["val_accuracy"]) == 6
        assert set(results.final_metrics) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
        assert results.performance["accuracy"] is not None and results.performance["accuracy"] >= 0.95
        assert results.duration is not None and results.completed_at

        listed = decode_strict(c.get("/models", headers=h).json(), shapes.ModelList)
        assert listed.total == 1 and listed.models[0].id == results.model_id
        assert listed.models[0].model_type == "lightgbm" and listed.models[0].size_mb > 0
        detail = decode_strict(c.get(f"/models/{results.model_id}", headers=h).json(), shapes.ModelDetail)
        assert detail.architecture["input_shape"] == [4] and detail.architecture["output_classes"] == 2
        assert detail.architecture["parameters"] > 0 and detail.training_config["dataset_id"] == dataset_id
        assert {"accuracy", "precision", "recall", "f1_score"} <= set(detail.performance)
        assert detail.classes == ["cat", "dog"]

        one = c.post(f"/models/{results.model_id}/predict", json={"input": x[0].tolist()}, headers=h)
        assert one.status_code == 200, one.text
        [prediction] = one.json()["predictions"]
        assert prediction["class"] == ("cat" if x[0, 0] + x[0, 1] > 0 else "dog")
        assert 0.5 <= prediction["confidence"] <= 1.0
        many = c.post(f"/models/{results.model_id}/predict", json={"inputs": x[:200].tolist()}, headers=h)
        got = np.array([p["class"] for p in many.json()["predictions"]])
        truth = np.where(x[:200, 0] + x[:200, 1] > 0, "cat", "dog")
        assert (got == truth).mean() >= 0.95
        _refused_predictions(c, h, other, results.model_id)
        updates = [e["data"] for e in job_events if e["data"].get("task_id") == accepted.job_id]
        epochs = [u["detail"]["current_epoch"] for u in updates if "detail" in u]
        assert epochs and epochs == sorted(epochs) and epochs[-1] == 6

        # The run in MLflow: per-epoch step metrics, the dataset, the owner tag, the signature.
        tracker = open_tracker(settings)
        with c.app.state.container.database.session() as s:
            row = s.get(TrainedModel, results.model_id)
            assert row is not None
            name, run_id = row.registered_name, row.run_id
        run = tracker.client.get_run(run_id)
        assert run.data.params["dataset_id"] == dataset_id
        assert len(tracker.client.get_metric_history(run_id, "val_accuracy")) == 6
        assert (tracker.model_tags(name) or {})["tradeforge.owner"] == row.user_id

        with receiver.arrived:  # the completed event is sent after the job's row is written
            receiver.arrived.wait_for(
                lambda: any(b"training.completed" in r.body for r in receiver.requests), 30
            )
        with c.app.state.container.database.session() as s:  # every delivery made, then all of them in
            made = s.scalar(select(func.count()).select_from(WebhookDelivery))
        with receiver.arrived:
            assert receiver.arrived.wait_for(lambda: len(receiver.requests) >= (made or 0), 30), made
        # Deliveries are sent by parallel threads, so they may arrive out of order: each carries
        # the time of its event.
        bodies = sorted(
            (json.loads(r.body) for r in receiver.requests),
            key=lambda b: dt.datetime.fromisoformat(b["timestamp"]),
        )
        names = [b["event"] for b in bodies]
        assert names[0] == "training.started" and names[-1] == "training.completed", names
        completed = bodies[-1]["data"]
        assert completed["model_id"] == results.model_id and completed["job_id"] == accepted.job_id
        assert completed["accuracy"] >= 0.95
        steps = [b["data"]["progress"] for b in bodies if b["event"] == "training.progress"]
        assert steps and steps == sorted(steps) and len(steps) == len({int(p // 10) for p in steps})
        assert all(b["data"]["total_epochs"] == 6 for b in bodies if b["event"] == "training.progress")

        removed = c.delete(f"/models/{results.model_id}", headers=h)
        assert removed.status_code == 204
        assert_envelope(c.get(f"/models/{results.model_id}", headers=h), 404, "NOT_FOUND")
        assert tracker.model_tags(name) is None and c.get("/models", headers=h).json()["total"] == 0


def _refused_predictions(c: Any, h: dict[str, str], other: dict[str, str], model_id: str) -> None:
    """Wrong width, text, too many rows, both or neither field: 400 naming it; a stranger: 404."""
    url = f"/models/{model_id}/predict"
    narrow = assert_envelope(c.post(url, json={"input": [1.0, 2.0]}, headers=h), 400, "INVALID_REQUEST")
    assert "2 values" in narrow["error"]["message"] and "f0, f1, f2, f3" in narrow["error"]["message"]
    text = c.post(url, json={"inputs": [[1.0, 2.0, 3.0, 4.0], [1.0, "x", 3.0, 4.0]]}, headers=h)
    assert "input 1, feature 'f1'" in assert_envelope(text, 400, "INVALID_REQUEST")["error"]["message"]
    many = assert_envelope(c.post(url, json={"inputs": [[0.0] * 4] * 301}, headers=h), 400, "INVALID_REQUEST")
    assert "301 rows" in many["error"]["message"] and "300" in many["error"]["message"]
    both = {"input": [0.0] * 4, "inputs": [[0.0] * 4]}
    assert_envelope(c.post(url, json=both, headers=h), 400, "VALIDATION_ERROR")
    assert_envelope(c.post(url, json={}, headers=h), 400, "VALIDATION_ERROR")
    assert_envelope(c.post(url, json={"input": [0.0] * 4}, headers=other), 404, "NOT_FOUND")
    assert_envelope(c.get(f"/models/{model_id}", headers=other), 404, "NOT_FOUND")
    assert_envelope(c.delete(f"/models/{model_id}", headers=other), 404, "NOT_FOUND")
    assert c.get("/models", headers=other).json()["total"] == 0


def test_sdk_flow_regression(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home")
    csv, x = regression_csv()
    with app_client(settings) as c:
        h = login(c, "regressor")
        dataset_id = upload_ready(c, h, "line", csv, "regression")
        stopping = {"enabled": True, "patience": 2, "monitor": "val_loss"}
        started = _start(c, h, dataset_id, early_stopping=stopping)
        assert started.status_code == 201, started.text
        status, _ = settle_training(c, h, started.json()["job_id"])
        assert status["status"] == "completed", status
        assert set(status["metrics"]) == {"loss", "mae", "val_loss", "val_mae"}
        results = c.get(f"/training/results/{status['job_id']}", headers=h).json()
        assert set(results["final_metrics"]) == {"train_loss", "train_mae", "val_loss", "val_mae"}
        assert results["performance"]["r2"] > 0.8
        model_id = results["model_id"]
        detail = c.get(f"/models/{model_id}", headers=h).json()
        assert {"mae", "mse", "r2"} <= set(detail["performance"]) and detail["accuracy"] is None
        answer = c.post(f"/models/{model_id}/predict", json={"inputs": x[:50].tolist()}, headers=h)
        assert answer.status_code == 200, answer.text
        values = np.array([p["value"] for p in answer.json()["predictions"]])
        truth = 3 * x[:50, 0] - 2 * x[:50, 1] + 0.5
        assert np.abs(values - truth).mean() < 0.5
        with c.app.state.container.database.session() as s:
            job = s.get(Job, status["job_id"])
            assert job is not None and job.detail is not None and job.detail["current_epoch"] >= 1
