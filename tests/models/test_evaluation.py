"""Metrics against values computed by hand on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.models.evaluation import METRIC_NAMES, prefixed, regression_metrics


def test_hand_computed_values() -> None:
    y = np.array([1.0, -1.0, 2.0, 0.0])
    p = np.array([0.5, -0.5, -1.0, 1.0])
    m = regression_metrics(y, p)
    # errors: -0.5, 0.5, -3, 1 -> mae 5/4, mse (0.25+0.25+9+1)/4 = 2.625
    assert m["mae"] == pytest.approx(1.25)
    assert m["rmse"] == pytest.approx(math.sqrt(2.625))
    # mean y = 0.5, ss_tot = 0.25+2.25+2.25+0.25 = 5, ss_res = 10.5
    assert m["r2"] == pytest.approx(1.0 - 10.5 / 5.0)
    # non-zero targets: 1,-1,2 vs 0.5,-0.5,-1 -> 2 of 3 signs agree
    assert m["directional_accuracy"] == pytest.approx(2.0 / 3.0)
    # up calls: true [T,F,T,F], pred [T,F,F,T] -> tp 1, fp 1, fn 1, tn 1
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    # ranks y: [3,1,4,2], p: [3,2,1,4]; d = [0,-1,3,-2]; rho = 1 - 6*14/(4*15) = -0.4
    assert m["ic"] == pytest.approx(-0.4)
    assert m["count"] == 4.0
    assert set(m) == set(METRIC_NAMES)


def test_perfect_predictions() -> None:
    y = np.array([0.1, -0.2, 0.3, -0.05])
    m = regression_metrics(y, y)
    assert m["r2"] == 1.0 and m["mae"] == 0.0 and m["rmse"] == 0.0
    assert m["directional_accuracy"] == 1.0 and m["ic"] == pytest.approx(1.0) and m["f1"] == 1.0


def test_spearman_handles_ties_like_scipy() -> None:
    from scipy.stats import spearmanr  # type: ignore[import-untyped]

    y = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 4.0])
    p = np.array([1.0, 1.0, 3.0, 2.0, 6.0, 6.0])
    assert regression_metrics(y, p)["ic"] == pytest.approx(spearmanr(y, p).statistic)


def test_nan_pairs_are_dropped() -> None:
    y = np.array([1.0, np.nan, -1.0, 2.0])
    p = np.array([1.0, 5.0, np.nan, 2.0])
    m = regression_metrics(y, p)
    assert m["count"] == 2.0 and m["mae"] == 0.0 and m["r2"] == 1.0


def test_undefined_metrics_are_nan_not_errors() -> None:
    empty = regression_metrics(np.array([np.nan]), np.array([1.0]))
    assert empty["count"] == 0.0 and math.isnan(empty["r2"]) and math.isnan(empty["mae"])
    flat = regression_metrics(np.zeros(3), np.array([0.1, 0.2, 0.3]))
    assert math.isnan(flat["r2"]) and math.isnan(flat["ic"]) and math.isnan(flat["directional_accuracy"])
    # no true ups and no predicted ups: precision and recall have nothing to divide by -> 0
    down = regression_metrics(np.array([-1.0, -2.0]), np.array([-1.0, -1.0]))
    assert (
        down["precision"] == 0.0 and down["recall"] == 0.0 and down["f1"] == 0.0 and down["accuracy"] == 1.0
    )


def test_zero_prediction_is_a_wrong_direction() -> None:
    assert regression_metrics(np.array([1.0, -1.0]), np.array([0.0, -1.0]))["directional_accuracy"] == 0.5


def test_two_dimensional_targets_average_column_r2() -> None:
    y = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    p = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 0.0]])
    m = regression_metrics(y, p)
    # column 0 perfect (r2 1); column 1: ss_res 900, ss_tot 200 -> r2 -3.5; mean -1.25
    assert m["r2"] == pytest.approx(-1.25)
    assert m["mae"] == pytest.approx((0.0 + 10.0) / 2)
    assert m["rmse"] == pytest.approx((0.0 + math.sqrt(300.0)) / 2)
    assert m["count"] == 6.0


def test_two_dimensional_direction_is_judged_per_column() -> None:
    """A "high" column that is always up cannot lift direction or IC above the real skill."""
    rng = np.random.default_rng(0)
    close = rng.normal(size=200)
    y = np.column_stack([close, np.abs(close) + 0.1])
    p = np.column_stack([-close, np.full(200, 0.5)])  # wrong on close, trivially right on high
    m = regression_metrics(y, p)
    assert m["directional_accuracy"] == pytest.approx(0.5)
    assert m["ic"] == pytest.approx(-1.0)  # the constant column has no IC and is left out


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="shape"):
        regression_metrics(np.zeros(3), np.zeros(4))


def test_prefixed_uses_the_api_names() -> None:
    m = regression_metrics(np.array([1.0, -1.0, 2.0]), np.array([1.0, -0.5, 1.0]))
    val = prefixed(m, "val_")
    assert val["val_r2"] == m["r2"] and val["val_mae"] == m["mae"] and val["val_rmse"] == m["rmse"]
    assert set(prefixed(m, "train_")) == {f"train_{k}" for k in METRIC_NAMES}
