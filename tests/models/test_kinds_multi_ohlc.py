"""The multi_ohlc kind: (n, 4*n_steps) log-ratio forecasts through principal components of the path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.models.evaluation import regression_metrics
from pipelines.models.kinds import MultiOHLCRegressor, create_model, load_model, ohlc_output_names

NAMES = ["f0", "f1", "f2", "f3"]


def path_data(n: int, n_steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each step's OHLC log-ratios drift by 0.01 * k * f0, plus noise: a predictable path."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(NAMES)))
    steps = np.repeat(np.arange(1, n_steps + 1), 4)
    y = 0.01 * x[:, [0]] * steps + 0.004 * rng.normal(size=(n, 4 * n_steps))
    return x, y


def test_output_names_are_step_major() -> None:
    assert ohlc_output_names(2) == [
        "open_t+1",
        "high_t+1",
        "low_t+1",
        "close_t+1",
        "open_t+2",
        "high_t+2",
        "low_t+2",
        "close_t+2",
    ]


def test_learns_fits_shapes_and_round_trips(tmp_path: Path) -> None:
    x, y = path_data(500, 3)
    model = create_model(
        "multi_ohlc", {"n_steps": 3, "n_estimators": 60, "target_components": 4}, NAMES, "cpu"
    )
    assert isinstance(model, MultiOHLCRegressor)
    model.fit(x[:380], y[:380], x[390:], y[390:])
    assert model.fit_info["components"] == 4
    assert model.fit_info["explained_variance"] > 0.5
    xt, yt = path_data(200, 3, seed=1)
    pred = model.predict(xt)
    assert pred.shape == (200, 12)
    assert regression_metrics(yt, pred)["r2"] > 0.3
    # The furthest close is the most predictable column here (largest drift).
    assert regression_metrics(yt[:, -1], pred[:, -1])["r2"] > 0.5
    assert model.predict(xt[:1]).shape == (1, 12)
    imp = model.feature_importance()
    assert imp is not None and max(imp, key=lambda k: imp[k]) == "f0"
    assert model.device == "cpu"
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(xt), pred)
    assert loaded.params["n_steps"] == 3


def test_full_rank_reconstructs_the_targets_exactly() -> None:
    """With as many components as outputs the rotation loses nothing: a perfect fit on train."""
    x, y = path_data(200, 1)
    model = create_model(
        "multi_ohlc",
        {"n_steps": 1, "n_estimators": 1, "learning_rate": 1.0, "target_components": 4},
        NAMES,
        "cpu",
    )
    model.fit(x, y)
    assert isinstance(model, MultiOHLCRegressor)
    assert model.components.shape == (4, 4)
    np.testing.assert_allclose(model.components @ model.components.T, np.eye(4), atol=1e-10)


def test_nan_features_and_bad_target_shape() -> None:
    x, y = path_data(120, 2)
    model = create_model("multi_ohlc", {"n_steps": 2, "n_estimators": 10}, NAMES, "cpu")
    with pytest.raises(InvalidRequestError, match=r"y must have shape \(120, 8\)"):
        model.fit(x, y[:, :4])
    model.fit(x, y)
    x[0, 1] = np.nan
    assert np.isfinite(model.predict(x[:5])).all()
