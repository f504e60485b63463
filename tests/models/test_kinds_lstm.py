"""The LSTM kind: windows of consecutive rows, standardization saved with the model, early stopping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.errors import InvalidRequestError
from pipelines.models.evaluation import regression_metrics
from pipelines.models.kinds import BaseRegressor, LSTMRegressor, create_model, load_model, native_predict_fn

NAMES = ["f0", "f1", "f2"]
PARAMS = {
    "seq_len": 4,
    "hidden_size": 16,
    "epochs": 40,
    "batch_size": 32,
    "learning_rate": 0.01,
    "patience": 8,
}


def lagged_data(n: int = 700, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y[t] = 0.8 * f0[t-2] + noise: visible only to a model that reads earlier rows. The features
    are on a large, shifted scale so that standardization matters."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(NAMES)))
    y = np.zeros(n)
    y[2:] = 0.8 * z[:-2, 0]
    y += 0.2 * rng.normal(size=n)
    return 1000.0 + 50.0 * z, y


@pytest.fixture(scope="module")
def model() -> BaseRegressor:
    x, y = lagged_data()
    m = create_model("lstm", PARAMS, NAMES, "cpu")
    m.fit(x[:500], y[:500], x[500:], y[500:])
    return m


def test_learns_from_earlier_rows(model: BaseRegressor) -> None:
    x, y = lagged_data(300, seed=1)
    pred = model.predict(x)
    assert pred.shape == (300,)
    assert np.isnan(pred[:3]).all() and np.isfinite(pred[3:]).all()
    r2 = regression_metrics(y, pred)["r2"]  # NaN rows are skipped
    assert r2 > 0.3, r2


def test_context_rows_and_short_inputs(model: BaseRegressor) -> None:
    assert model.context_rows == 4
    x, _ = lagged_data(10, seed=2)
    assert np.isnan(model.predict(x[:3])).all()
    one = model.predict(x[:4])
    assert np.isnan(one[:3]).all() and np.isfinite(one[3])
    # The prediction for a row depends only on its own window.
    assert model.predict(x)[3] == pytest.approx(one[3], abs=1e-6)


def test_round_trip_is_identical(model: BaseRegressor, tmp_path: Path) -> None:
    model.save(tmp_path / "lstm")
    assert (tmp_path / "lstm" / "lstm.pt").is_file()
    loaded = load_model(tmp_path / "lstm")
    assert isinstance(loaded, LSTMRegressor)
    x, _ = lagged_data(100, seed=3)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.device == "cpu"
    assert loaded.context_rows == 4
    assert loaded.feature_importance() is None


def test_nan_features_do_not_crash(model: BaseRegressor) -> None:
    x, _ = lagged_data(20, seed=4)
    x[5, 1] = np.nan
    assert np.isfinite(model.predict(x)[3:]).all()


def test_early_stopping_on_noise_stops_early() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 3))
    m = create_model("lstm", {**PARAMS, "epochs": 200, "patience": 2}, NAMES, "cpu")
    m.fit(x[:200], rng.normal(size=200), x[200:], rng.normal(size=100))
    assert m.fit_info["epochs_run"] < 200
    assert m.fit_info["best_epoch"] <= m.fit_info["epochs_run"]


def test_seeded_training_repeats_and_leaves_global_rng_alone() -> None:
    x, y = lagged_data(200)
    params = {**PARAMS, "epochs": 3, "seed": 11}
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = create_model("lstm", params, NAMES, "cpu")
    a.fit(x, y)
    after = torch.rand(3)
    b = create_model("lstm", params, NAMES, "cpu")
    b.fit(x, y)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert torch.equal(after, expected)


def test_too_few_rows_for_a_window() -> None:
    m = create_model("lstm", PARAMS, NAMES, "cpu")
    with pytest.raises(InvalidRequestError, match="at least 4 needed"):
        m.fit(np.zeros((3, 3)), np.zeros(3))


def test_no_single_native_predict(model: BaseRegressor) -> None:
    with pytest.raises(InvalidRequestError, match="no single native predict"):
        native_predict_fn(model)
