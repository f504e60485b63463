"""The BentoML inference tier: a real ``bentoml serve`` process over a home with a trained champion;
the API sends its model calls there when ``TRADEFORGE_INFERENCE_URL`` is set, with answers equal to
in-process predictions bit for bit, a moved champion picked up, and a 503 when the service is down."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from pipelines.app.train import plan_training, train_model
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.prediction import Predictor
from pipelines.prediction.wire import decode_matrix, encode_matrix
from pipelines.settings import Settings
from serving.inference import HttpModelCaller
from tests.net_support import bento_batches, free_port, wait_http
from tests.serving_support import app_client, assert_envelope, make_user, served_settings

pytestmark = pytest.mark.slow

MODEL = "lgbm_bento"
ROOT = Path(__file__).resolve().parents[2]


def _train(settings: Settings, n_estimators: int) -> None:
    params = {"n_estimators": n_estimators, "num_leaves": 7}
    plan = plan_training(settings, model_type="lightgbm", model_name=MODEL, symbol="AAPL", params=params)
    train_model(settings, plan, open_tracker(settings))


def _bento(settings: Settings, port: int, **env: str) -> subprocess.Popen[bytes]:
    cmd = [
        str(Path(sys.executable).with_name("bentoml")),
        "serve",
        "serving.bento.service:TradeforgeInference",
    ]
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRADEFORGE_HOME": str(settings.home),
        "TRADEFORGE_INFERENCE_ALIAS_SECONDS": "0.2",
        **env,
    }
    args = ["--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        cmd + args, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    """A home with two versions of one model (v1 champion) and the inference service over it."""
    settings = served_settings(tmp_path_factory.mktemp("bento") / "home")
    open_tracker(settings)  # the registry exists before two processes open it
    port = free_port()
    proc = _bento(settings, port)
    try:
        _train(settings, 30)  # while the service starts
        _train(settings, 10)
        open_tracker(settings).set_alias(MODEL, "champion", "1")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while wait_http(f"{url}/readyz", proc, timeout=120).status_code != 200:
            assert time.monotonic() < deadline, "the inference service never became ready"
            time.sleep(0.3)
        yield settings, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _direct(url: str, ref: str, x: np.ndarray) -> dict[str, Any]:
    body = {"calls": [{"model": MODEL, "ref": ref, **encode_matrix(x)}]}
    answer = httpx.post(f"{url}/predict", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()[0]
    return result


def test_predictions_through_the_service_equal_in_process_bit_for_bit(served: tuple[Settings, str]) -> None:
    settings, url = served
    registry = ModelRegistry(open_tracker(settings), settings.models_cache_dir)
    local = Predictor(settings, registry)
    remote = Predictor(settings, registry, caller=HttpModelCaller(url))
    try:
        here, there = local.predict(MODEL), remote.predict(MODEL)
        assert (here.model_version, there.model_version) == ("1", "1")
        assert there.predicted_return == here.predicted_return and there.signal == here.signal
        history = [p.predicted_return for p in local.signal_history(MODEL, days=200).points]
        assert [p.predicted_return for p in remote.signal_history(MODEL, days=200).points] == history
        # Single rows called at once are batched by the service; each answer is still its own row's.
        loaded = registry.load(MODEL, "1")
        rows = np.random.default_rng(7).normal(size=(48, len(loaded.meta.feature_names)))
        rows[3, 5] = np.nan  # NaN features travel as they are
        with ThreadPoolExecutor(16) as pool:
            outs = list(pool.map(lambda r: remote.caller(loaded, r[None, :]), rows))
        expected = loaded.model.predict(rows)
        assert all(out.tolist() == [e] for out, e in zip(outs, expected.tolist(), strict=True))
    finally:
        remote.close()
    metrics = httpx.get(f"{url}/metrics", timeout=10)
    assert metrics.status_code == 200 and "bentoml_service_adaptive_batch_size_count" in metrics.text
    assert httpx.get(f"{url}/livez", timeout=10).status_code == 200


def test_the_api_sends_model_calls_to_the_service(served: tuple[Settings, str]) -> None:
    settings, url = served
    local = Predictor(settings, ModelRegistry(open_tracker(settings), settings.models_cache_dir))
    before = bento_batches(url)
    with app_client(settings.model_copy(update={"inference_url": url})) as client:
        assert isinstance(client.app.state.container.predictions.caller, HttpModelCaller)
        user = make_user(client)
        answer = client.post(
            "/api/v1/predictions/predict", json={"model_name": MODEL}, headers=user["headers"]
        )
        assert answer.status_code == 200, answer.text
    assert bento_batches(url) > before, "the service ran no model call"
    assert answer.json()["predicted_return"] == local.predict(MODEL).predicted_return


def test_a_moved_champion_is_picked_up(served: tuple[Settings, str]) -> None:
    settings, url = served
    tracker = open_tracker(settings)
    x = np.zeros((1, 101))
    assert _direct(url, "champion", x)["version"] == "1"
    tracker.set_alias(MODEL, "champion", "2")
    try:
        deadline = time.monotonic() + 10
        while (moved := _direct(url, "champion", x))["version"] != "2":
            assert time.monotonic() < deadline, "the service kept the old champion"
            time.sleep(0.1)
        assert moved["data"] == _direct(url, "2", x)["data"]
        first = _direct(url, "1", x)
        assert moved["data"] != first["data"], "the two versions answer alike: the test proves nothing"
        assert decode_matrix(moved["shape"], moved["data"]).shape == (1,)
    finally:
        tracker.set_alias(MODEL, "champion", "1")


def test_bad_calls_get_their_own_errors(served: tuple[Settings, str]) -> None:
    _, url = served
    body = {
        "calls": [
            {"model": "no_such_model", "ref": "champion", **encode_matrix(np.zeros((1, 3)))},
            {"model": MODEL, "ref": "1", "shape": [2, 2], "data": "AAAA"},
            {"model": MODEL, "ref": "1", **encode_matrix(np.zeros((1, 101)))},
        ]
    }
    answers = httpx.post(f"{url}/predict", json=body, timeout=30).json()
    assert [a["code"] for a in answers] == ["NOT_FOUND", "INVALID_REQUEST", None]
    assert answers[2]["version"] == "1" and answers[2]["shape"] == [1]


def test_the_service_down_answers_503_naming_it(served: tuple[Settings, str]) -> None:
    settings, _ = served
    gone = f"http://127.0.0.1:{free_port()}"
    down = settings.model_copy(update={"inference_url": gone, "inference_retries": 1})
    with app_client(down) as client:
        user = make_user(client)
        answer = client.post(
            "/api/v1/predictions/predict", json={"model_name": MODEL}, headers=user["headers"]
        )
    body = assert_envelope(answer, 503, "SERVICE_UNAVAILABLE")
    assert "inference service" in body["error"]["message"] and gone in body["error"]["message"]


def test_not_ready_until_the_registry_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.settings import get_settings
    from serving.bento.service import TradeforgeInference

    monkeypatch.setenv("TRADEFORGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////proc/no-such-folder/mlflow.db")
    get_settings.cache_clear()
    service = TradeforgeInference.inner()
    try:
        time.sleep(0.5)
        assert service.__is_ready__() is False
    finally:
        service.close()
        get_settings.cache_clear()
