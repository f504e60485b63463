"""Generic hyperparameters on tables: tree model types take ``epochs`` (and refuse the settings of
networks), a table whose dates are text is a time series for lstm / gru, and image-only settings
are refused on a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.serving.learning_support import classification_csv, login, settle_training, upload_ready
from tests.serving_support import app_client, assert_envelope, served_settings


def _dated_csv(rows: int = 120) -> bytes:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(rows, 2))
    frame = pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "a": x[:, 0],
            "b": x[:, 1],
            "label": np.where(x[:, 0] > 0, "up", "down"),
        }
    )
    return frame.to_csv(index=False).encode()


def test_tree_epochs_and_text_dates(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home")
    csv, _ = classification_csv(rows=200)
    with app_client(settings) as c:
        h = login(c, "trees")
        table = upload_ready(c, h, "pets", csv, "classification")

        def start(dataset_id: str, model_type: str, **hp: Any) -> Any:
            body = {"dataset_id": dataset_id, "model_type": model_type, "hyperparameters": hp}
            return c.post("/training/start", json=body, headers=h)

        both = assert_envelope(start(table, "lightgbm", epochs=3, n_estimators=50), 400, "VALIDATION_ERROR")
        message = both["details"][0]["message"]
        assert both["details"][0]["field"] == "hyperparameters.epochs"
        assert "epochs 3" in message and "n_estimators 50" in message
        unused = assert_envelope(
            start(table, "random_forest", epochs=3, batch_size=32, optimizer="adam"), 400, "VALIDATION_ERROR"
        )
        assert {d["field"] for d in unused["details"]} == {
            "hyperparameters.batch_size",
            "hyperparameters.optimizer",
        }
        assert all("random_forest model type does not use" in d["message"] for d in unused["details"])
        flips = assert_envelope(start(table, "resnet18", augment="flip"), 400, "VALIDATION_ERROR")
        assert flips["details"][0]["field"] == "hyperparameters.augment"
        assert "lstm" not in start(table, "lstm").json()["error"]["message"].split(";")[1]

        started = start(table, "lightgbm", epochs=3)
        assert started.status_code == 201, started.text
        status, _ = settle_training(c, h, started.json()["job_id"])
        assert status["status"] == "completed" and status["total_epochs"] == 3, status

        dated = upload_ready(c, h, "days", _dated_csv(), "classification")
        types = c.get(f"/datasets/{dated}", headers=h).json()["metadata"]["column_types"]
        assert types["day"] != "datetime"  # text dates: the rule of training reads them
        started = start(dated, "lstm", epochs=2, sequence_length=5, batch_size=16)
        assert started.status_code == 201, started.text
        status, _ = settle_training(c, h, started.json()["job_id"])
        assert status["status"] == "completed", status
        detail = c.get(f"/models/{status['model_id']}", headers=h).json()
        assert detail["architecture"]["network"] == "lstm"
