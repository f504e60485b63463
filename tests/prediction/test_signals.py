"""The scalar signal path gives what derive_signals gives."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from pipelines.errors import ModelError
from pipelines.models.mlflow_model import ServingMeta
from pipelines.models.signals import derive_signals
from pipelines.prediction import SignalRule

META = ServingMeta(
    model_name="m",
    kind="lightgbm",
    symbol="AAPL",
    timeframe="1d",
    source="synthetic",
    feature_set="default",
    feature_names=["sma_20"],
    horizon=1,
    scale=0.01,
    flat_threshold=0.001,
    device="cpu",
    context_rows=1,
    error_scale=0.02,
)


@pytest.mark.parametrize("error_scale", [0.02, 0.0])
def test_scalar_path_matches_derive_signals(error_scale: float) -> None:
    meta = replace(META, error_scale=error_scale)
    rule = SignalRule.from_meta(meta)
    preds = np.array([0.0, 0.001, -0.001, 0.0009999, 0.002, -0.002, 0.05, -0.3, 1e-9, np.nan])
    want = derive_signals(preds, 150.0, meta.scale, meta.flat_threshold, meta.error_scale or None)
    for i, p in enumerate(preds):
        value, direction, signal, confidence, rec = rule.one(float(p), 150.0)
        assert direction == want["direction"][i] and rec == want["recommendation"][i], p
        for got, ref in (
            (value, want["value"][i]),
            (signal, want["signal"][i]),
            (confidence, want["confidence"][i]),
        ):
            assert (math.isnan(got) and math.isnan(ref)) or got == pytest.approx(ref, rel=1e-12, abs=1e-300)
    many = rule.many(preds, 150.0)
    np.testing.assert_array_equal(many["signal"], want["signal"])


@pytest.mark.parametrize(
    "change", [{"scale": 0.0}, {"scale": math.nan}, {"flat_threshold": -1.0}, {"error_scale": math.inf}]
)
def test_broken_metadata_is_a_model_error(change: dict[str, float]) -> None:
    with pytest.raises(ModelError, match="'m'"):
        SignalRule.from_meta(replace(META, **change))  # type: ignore[arg-type]
