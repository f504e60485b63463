"""Every signal rule at its boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.models.signals import derive_signals


def test_value_is_close_times_exp_of_the_log_return() -> None:
    out = derive_signals(np.array([math.log(1.1), 0.0, math.log(0.5)]), np.array([100.0, 50.0, 10.0]), 0.01)
    np.testing.assert_allclose(out["value"], [110.0, 50.0, 5.0])
    np.testing.assert_array_equal(out["predicted_return"], [math.log(1.1), 0.0, math.log(0.5)])


def test_scalar_close_broadcasts() -> None:
    out = derive_signals([0.0, math.log(2.0)], 10.0, 0.01)
    np.testing.assert_allclose(out["value"], [10.0, 20.0])


def test_direction_threshold_boundaries() -> None:
    pred = np.array([0.0099, 0.01, -0.01, -0.0099, 0.5, -0.5, 0.0])
    out = derive_signals(pred, 1.0, scale=0.02, flat_threshold=0.01)
    assert out["direction"].tolist() == ["flat", "up", "down", "flat", "up", "down", "flat"]


def test_zero_threshold_only_zero_is_flat() -> None:
    out = derive_signals([1e-12, -1e-12, 0.0], 1.0, scale=0.02, flat_threshold=0.0)
    assert out["direction"].tolist() == ["up", "down", "flat"]


def test_signal_is_tanh_of_pred_over_scale_and_bounded() -> None:
    pred = np.array([0.02, -0.02, 0.0, 10.0, -10.0])
    out = derive_signals(pred, 1.0, scale=0.02)
    np.testing.assert_allclose(out["signal"][:3], [math.tanh(1.0), -math.tanh(1.0), 0.0])
    assert out["signal"][3] == pytest.approx(1.0) and out["signal"][4] == pytest.approx(-1.0)
    assert (np.abs(out["signal"]) <= 1.0).all()


def test_recommendation_boundaries_at_plus_minus_0_2() -> None:
    scale = 0.01
    at = math.atanh(0.2) * scale  # prediction whose signal is 0.2 up to rounding
    pred = np.array([at * 1.001, at * 0.999, -at * 0.999, -at * 1.001, 0.0])
    out = derive_signals(pred, 1.0, scale=scale)
    assert out["recommendation"].tolist() == ["BUY", "HOLD", "HOLD", "SELL", "HOLD"]


def test_recommendation_exactly_at_0_2_is_hold() -> None:
    # tanh(x) == 0.2 exactly is not reachable in floats, so check the rule on values around it.
    s = np.nextafter(0.2, 0.0)
    out = derive_signals(np.array([math.atanh(s), -math.atanh(s)]), 1.0, scale=1.0)
    assert (np.abs(out["signal"]) <= 0.2).all()
    assert out["recommendation"].tolist() == ["HOLD", "HOLD"]


def test_confidence_formula() -> None:
    """erf(|pred| / (err * sqrt 2)): 0 at 0, 0.6827 at one error std, 0.9545 at two; sign-symmetric."""
    out = derive_signals(np.array([0.0, 0.01, -0.01, 0.02, 1.0]), 1.0, scale=0.05, error_scale=0.01)
    np.testing.assert_allclose(out["confidence"][:4], [0.0, 0.682689492, 0.682689492, 0.954499736], rtol=1e-8)
    assert 0.999 < out["confidence"][4] <= 1.0


def test_confidence_falls_back_to_the_target_scale() -> None:
    out = derive_signals([0.01], 1.0, scale=0.01)
    assert out["confidence"][0] == pytest.approx(0.682689492)


def test_larger_errors_mean_less_confidence() -> None:
    tight = derive_signals([0.01], 1.0, scale=0.02, error_scale=0.01)["confidence"][0]
    loose = derive_signals([0.01], 1.0, scale=0.02, error_scale=0.03)["confidence"][0]
    assert tight > loose > 0.0


def test_nan_prediction_is_no_action() -> None:
    out = derive_signals([np.nan, 0.05], 100.0, scale=0.01, flat_threshold=0.001)
    assert np.isnan(out["value"][0]) and np.isnan(out["signal"][0]) and np.isnan(out["confidence"][0])
    assert out["direction"].tolist() == ["flat", "up"]
    assert out["recommendation"].tolist() == ["HOLD", "BUY"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": 0.0}, "scale must be a finite number > 0"),
        ({"scale": float("nan")}, "scale must be"),
        ({"scale": 0.01, "error_scale": -1.0}, "error_scale must be"),
        ({"scale": 0.01, "flat_threshold": -0.1}, "flat_threshold must be"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        derive_signals([0.1], 1.0, **kwargs)


def test_shape_mismatch() -> None:
    with pytest.raises(InvalidRequestError, match="last_close"):
        derive_signals([0.1, 0.2], [1.0, 2.0, 3.0], 0.01)
    with pytest.raises(InvalidRequestError, match="one-dimensional"):
        derive_signals([[0.1]], 1.0, 0.01)
