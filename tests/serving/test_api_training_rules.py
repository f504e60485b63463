"""The training platform's refusals: every bad input is a 4xx naming the problem with nothing queued
or stored; stopping a training; 409 before results and after the end; the per-user limit (429);
another user's jobs and models read as not found; X-API-Key works as the bearer token does."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select

from pipelines.db import Job, TrainedModel
from pipelines.models.tracking import open_tracker
from tests.serving.learning_support import classification_csv, login, upload_ready
from tests.serving_support import app_client, assert_envelope, served_settings

LONG = {"n_estimators": 10_000, "rounds_per_epoch": 1, "num_leaves": 31, "min_child_samples": 1}


def _count(c: Any, model: type[Any], **where: Any) -> int:
    with c.app.state.container.database.session() as s:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(s.scalar(query) or 0)


def test_bad_training_requests_are_refused_and_queue_nothing(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home")
    csv, _ = classification_csv(rows=200)
    with app_client(settings) as c:
        h, other = login(c, "alice"), login(c, "bob")
        dataset_id = upload_ready(c, h, "pets", csv, "classification")
        theirs = upload_ready(c, other, "theirs", csv, "classification")

        def start(**body: Any) -> Any:
            return c.post(
                "/training/start",
                json={"dataset_id": dataset_id, "model_type": "lightgbm", **body},
                headers=h,
            )

        unknown = assert_envelope(start(model_type="alexnet"), 400, "INVALID_REQUEST")
        assert "alexnet" in unknown["error"]["message"] and "lightgbm" in unknown["error"]["message"]
        bad = assert_envelope(
            start(hyperparameters={"learning_rate": 5, "num_leaves": 1}), 400, "VALIDATION_ERROR"
        )
        fields = {d["field"] for d in bad["details"]}
        assert fields == {"hyperparameters.learning_rate", "hyperparameters.num_leaves"}
        assert (
            all(d["message"] for d in bad["details"]) and bad["error"]["details"]["errors"] == bad["details"]
        )
        split = assert_envelope(start(validation_split=2), 400, "VALIDATION_ERROR")
        assert [d["field"] for d in split["details"]] == ["validation_split"]
        monitor = assert_envelope(start(early_stopping={"monitor": "val_mae"}), 400, "VALIDATION_ERROR")
        assert [d["field"] for d in monitor["details"]] == ["early_stopping.monitor"]
        assert_envelope(start(epochs_please=3), 400, "VALIDATION_ERROR")  # an unknown field
        assert_envelope(start(hyperparameters=[1, 2]), 400, "VALIDATION_ERROR")
        missing = c.post("/training/start", json={"model_type": "lightgbm"}, headers=h)
        assert "dataset_id" in assert_envelope(missing, 400, "VALIDATION_ERROR")["error"]["message"]
        assert_envelope(start(dataset_id=theirs), 404, "NOT_FOUND")  # another user's dataset
        assert_envelope(start(dataset_id="0f6d1c62-54a1-4d4b-9c59-7d8b2f8e5a10"), 404, "NOT_FOUND")
        assert_envelope(c.post("/training/start", json={"dataset_id": dataset_id}), 401, "UNAUTHORIZED")
        huge = c.post("/training/start", content=b'{"dataset_id": "' + b"x" * 70_000 + b'"}', headers=h)
        assert huge.status_code == 413, huge.text
        assert _count(c, Job, kind="dl_training") == 0 and _count(c, TrainedModel) == 0

        key = c.post("/api/v1/auth/keys", json={"name": "sdk"}, headers=h).json()["key"]
        by_key = c.get("/models?sort_by=accuracy", headers={"X-API-Key": key})
        assert by_key.status_code == 200 and by_key.json()["total"] == 0
        assert_envelope(c.get("/models?sort_by=size", headers=h), 400, "VALIDATION_ERROR")
        assert_envelope(c.get("/models?model_type=alexnet", headers=h), 400, "INVALID_REQUEST")
        assert_envelope(c.get("/training/status/nope", headers=h), 404, "NOT_FOUND")
        assert_envelope(c.post("/models/nope/predict", json={"input": [1.0]}, headers=h), 404, "NOT_FOUND")


def test_stop_conflicts_limit_and_other_users(tmp_path: Path) -> None:
    """Long because the limit, the stop and the other user's view share two running jobs."""
    settings = served_settings(tmp_path / "home", max_training_jobs_per_user=2)
    csv, _ = classification_csv(rows=3000)
    with app_client(settings) as c:
        h, other = login(c, "carol"), login(c, "dave")
        dataset_id = upload_ready(c, h, "pets", csv, "classification")
        body = {"dataset_id": dataset_id, "model_type": "lightgbm", "hyperparameters": LONG}
        first = c.post("/training/start", json=body, headers=h).json()["job_id"]
        second = c.post("/training/start", json=body, headers=h).json()["job_id"]
        third = assert_envelope(c.post("/training/start", json=body, headers=h), 429, "RATE_LIMITED")
        assert "2 training jobs" in third["error"]["message"]
        assert _count(c, Job, kind="dl_training") == 2

        for path in (f"/training/status/{first}", f"/training/results/{first}"):
            assert_envelope(c.get(path, headers=other), 404, "NOT_FOUND")
        assert_envelope(c.post(f"/training/stop/{first}", headers=other), 404, "NOT_FOUND")
        assert_envelope(c.get(f"/training/results/{first}", headers=h), 409, "CONFLICT")

        deadline = time.monotonic() + 90
        while (status := c.get(f"/training/status/{first}", headers=h).json())["current_epoch"] < 2:
            assert time.monotonic() < deadline and status["status"] in ("queued", "running"), status
            time.sleep(0.1)
        assert status["total_epochs"] == 10_000 and 0 <= status["progress"] < 50
        with c.app.state.container.database.session() as s:
            job = s.get(Job, first)
            assert job is not None
            pid = job.worker_pid
        assert pid is not None
        stopped = c.post(f"/training/stop/{first}", headers=h)
        assert stopped.status_code == 200, stopped.text
        assert stopped.json() == {
            "job_id": first,
            "status": "stopped",
            "message": "Training job stopped successfully",
        }
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert c.get(f"/training/status/{first}", headers=h).json()["status"] == "stopped"
        assert_envelope(c.post(f"/training/stop/{first}", headers=h), 409, "CONFLICT")
        assert_envelope(c.get(f"/training/results/{first}", headers=h), 409, "CONFLICT")

        again = c.post("/training/start", json=body, headers=h)  # one slot is free again
        assert again.status_code == 201, again.text
        for job_id in (second, again.json()["job_id"]):
            assert c.post(f"/training/stop/{job_id}", headers=h).status_code == 200
        assert _count(c, TrainedModel) == 0 and c.get("/models", headers=h).json()["total"] == 0
        registered = [name for name, _ in open_tracker(settings).list_models()]
        assert not [n for n in registered if n.startswith("learning-")]
