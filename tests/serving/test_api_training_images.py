"""The SDK flow on an image dataset: a ZIP of red and blue square pictures, a resnet18 trained by a
job, its detail, and predictions from base64-encoded PNGs (the dataset's folder names as classes)."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

from PIL import Image

from tests.image_support import squares, squares_zip
from tests.serving.learning_support import login, settle_training
from tests.serving_support import app_client, assert_envelope, served_settings

FAST = {"base_width": 8, "epochs": 4, "batch_size": 32, "learning_rate": 0.01}


def test_sdk_flow_images(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", image_height=24, image_width=24)
    with app_client(settings) as c:
        h = login(c, "painter")
        upload = c.post(
            "/datasets/upload",
            files={"file": ("shapes.zip", squares_zip(80))},
            data={"name": "shapes", "dataset_type": "image"},
            headers=h,
        )
        assert upload.status_code == 201, upload.text
        dataset_id = upload.json()["id"]
        deadline = time.monotonic() + 60
        while c.get(f"/datasets/{dataset_id}", headers=h).json()["status"] == "processing":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        table_type = {"dataset_id": dataset_id, "model_type": "lightgbm"}
        refused = assert_envelope(
            c.post("/training/start", json=table_type, headers=h), 400, "INVALID_REQUEST"
        )
        assert "resnet18" in refused["error"]["message"]  # the model types that fit the dataset

        body = {"dataset_id": dataset_id, "model_type": "resnet18", "hyperparameters": FAST}
        started = c.post("/training/start", json=body, headers=h)
        assert started.status_code == 201, started.text
        status, _ = settle_training(c, h, started.json()["job_id"], timeout=300)
        assert status["status"] == "completed" and status["total_epochs"] == 4, status
        model_id = c.get(f"/training/results/{status['job_id']}", headers=h).json()["model_id"]
        detail = c.get(f"/models/{model_id}", headers=h).json()
        assert detail["architecture"]["input_shape"] == [24, 24, 3] and detail["classes"] == ["blue", "red"]
        assert detail["architecture"]["parameters"] > 10_000

        images, labels = squares(20, size=24, seed=7)
        encoded = []
        for pixels in images:
            out = io.BytesIO()
            Image.fromarray(pixels).save(out, format="PNG")
            encoded.append(base64.b64encode(out.getvalue()).decode())
        answer = c.post(f"/models/{model_id}/predict", json={"inputs": encoded}, headers=h)
        assert answer.status_code == 200, answer.text
        got = [p["class"] for p in answer.json()["predictions"]]
        truth = ["red" if label == 0 else "blue" for label in labels]
        assert sum(g == t for g, t in zip(got, truth, strict=True)) >= 16
        assert all(0.0 <= p["confidence"] <= 1.0 for p in answer.json()["predictions"])
        numbers = c.post(f"/models/{model_id}/predict", json={"input": [0.1, 0.2]}, headers=h)
        assert "base64" in assert_envelope(numbers, 400, "INVALID_REQUEST")["error"]["message"]
        not_image = c.post(f"/models/{model_id}/predict", json={"input": "bm90IGFuIGltYWdl"}, headers=h)
        assert_envelope(not_image, 400, "INVALID_REQUEST")
