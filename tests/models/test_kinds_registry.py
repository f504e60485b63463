"""create_model / load_model dispatch and the saved directory's contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.models.base import ModelKind
from pipelines.models.kinds import create_model, kind_class, load_model


def test_every_kind_has_a_class() -> None:
    assert all(kind_class(kind).kind is kind for kind in ModelKind)
    assert kind_class("lstm").__name__ == "LSTMRegressor"


def test_importing_the_kinds_does_not_import_torch() -> None:
    code = (
        "import sys, pipelines.models.kinds, pipelines.models.training_matrix; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_create_model_validates_kind_and_params() -> None:
    with pytest.raises(InvalidRequestError, match="unknown model kind 'svm'"):
        create_model("svm", {}, ["a"], "cpu")
    with pytest.raises(InvalidRequestError, match="unknown parameter 'depth'"):
        create_model("xgboost", {"depth": 3}, ["a"], "cpu")
    with pytest.raises(InvalidRequestError, match="distinct"):
        create_model("simple", {}, ["a", "a"], "cpu")
    model = create_model("lightgbm", {"n_estimators": 7}, ["a"], "cpu")
    assert model.params["n_estimators"] == 7 and model.params["num_leaves"] == 31


def test_saved_metadata_records_what_serving_needs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 2)), rng.normal(size=100)
    model = create_model("simple", {"alpha": 2.0}, ["a", "b"], "cpu")
    model.fit(x[:80], y[:80], x[80:], y[80:])
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["kind"] == "simple" and meta["device"] == "cpu"
    assert meta["params"] == {"alpha": 2.0, "random_state": 42}
    assert meta["feature_names"] == ["a", "b"] and meta["context_rows"] == 1
    assert meta["target_scale"] == pytest.approx(float(np.std(y[:80])))
    assert meta["error_scale"] > 0
    assert "sklearn" in meta["libraries"]


def test_load_model_rejects_what_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match=r"model.json is missing"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"format_version": 1, "kind": "svm"}))
    with pytest.raises(InvalidRequestError, match="unknown model kind 'svm'"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"format_version": 99, "kind": "simple"}))
    with pytest.raises(InvalidRequestError, match="unsupported model format 99"):
        load_model(tmp_path)
