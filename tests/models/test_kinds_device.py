"""Device choice and the device each model records."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from pipelines.errors import InvalidRequestError
from pipelines.models.device import lightgbm_device, resolve_device
from pipelines.models.kinds import create_model

NAMES = ["a", "b"]
HAS_CUDA = torch.cuda.is_available()


def test_cpu_is_always_honoured() -> None:
    choice = resolve_device("cpu")
    assert choice.device == "cpu" and choice.note is None


@pytest.mark.skipif(HAS_CUDA, reason="checks the fallback on a machine without CUDA")
@pytest.mark.parametrize("requested", ["cuda", "GPU", "auto"])
def test_falls_back_to_cpu_with_a_note(requested: str) -> None:
    choice = resolve_device(requested)
    assert choice.device == "cpu"
    assert choice.note is not None and "CUDA" in choice.note


@pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA")
def test_auto_picks_cuda_when_present() -> None:
    assert resolve_device("auto").device == "cuda"


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(
        InvalidRequestError, match="unknown device 'tpu'; valid devices: auto, cpu, cuda, gpu"
    ):
        resolve_device("tpu")


def test_lightgbm_probe_is_cached_and_consistent() -> None:
    first = lightgbm_device()
    assert first in ("cpu", "gpu", "cuda")
    assert lightgbm_device() is first


def test_create_model_rejects_an_unknown_device() -> None:
    with pytest.raises(InvalidRequestError, match="device must be one of cpu, cuda"):
        create_model("simple", {}, NAMES, "tpu")


@pytest.mark.skipif(HAS_CUDA, reason="checks the recorded fallback on a machine without CUDA")
@pytest.mark.parametrize("kind", ["lightgbm", "xgboost", "lstm"])
def test_a_cuda_request_without_cuda_records_the_cpu(kind: str) -> None:
    """Asked for cuda where it cannot run, a model trains on the CPU and says so."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 2)), rng.normal(size=80)
    params = {
        "lightgbm": {"n_estimators": 5},
        "xgboost": {"n_estimators": 5},
        "lstm": {"epochs": 1, "seq_len": 2},
    }
    model = create_model(kind, params[kind], NAMES, "cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XGBoost warns that it found no GPU
        model.fit(x, y)
    if kind == "lightgbm" and lightgbm_device() != "cpu":
        pytest.skip("this LightGBM build has a GPU learner")
    assert model.device == "cpu"
    assert "device_note" in model.fit_info


def test_sklearn_kinds_always_record_cpu() -> None:
    for kind in ("simple", "random_forest"):
        assert create_model(kind, {}, NAMES, "cuda").device == "cpu"
