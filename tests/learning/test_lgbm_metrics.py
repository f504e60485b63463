"""LightGBM's per-epoch metrics come from its own evaluation of the validation rows and the training
sample (scores kept up to date round by round), not from predicting with the model so far: each
epoch's figures must still be those of the model as that epoch ended."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipelines.learning.base import EarlyStopping, TrainData
from pipelines.learning.lgbm import LightGBMPredictor, train_lightgbm
from pipelines.learning.metrics import epoch_metrics, train_sample
from tests.learning.support import Case, make_case

HP = {"n_estimators": 25, "rounds_per_epoch": 10}  # three epochs, the last one of five rounds


def _epochs(data: TrainData) -> tuple[LightGBMPredictor, list[dict[str, float]]]:
    seen: list[dict[str, float]] = []
    fitted = train_lightgbm(data, HP, EarlyStopping(), lambda e, t, m: seen.append(dict(m)))
    assert isinstance(fitted.predictor, LightGBMPredictor)
    return fitted.predictor, seen


def _as_predicted(predictor: LightGBMPredictor, data: TrainData, rounds: int) -> dict[str, float]:
    """The four metrics from the model's predictions with its first ``rounds`` rounds."""
    sample_x, sample_y = train_sample(data)

    def proba(x: np.ndarray) -> np.ndarray:
        raw = predictor.booster.predict(x, num_iteration=rounds)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 and data.task == "classification" else raw

    return epoch_metrics(data.task, (sample_y, proba(sample_x)), (data.y_val, proba(data.x_val)))


@pytest.mark.parametrize("kind", ["three classes", "two classes", "regression"])
def test_each_epochs_metrics_are_the_models_as_the_epoch_ended(
    kind: str, classification: Case, regression: Case
) -> None:
    data = regression.data if kind == "regression" else classification.data
    if kind == "two classes":  # the binary objective: class 0 against the rest
        binary = {"y_train": (data.y_train > 0).astype(np.int64), "y_val": (data.y_val > 0).astype(np.int64)}
        data = replace(data, **binary, classes=("no", "yes"))
    predictor, seen = _epochs(data)
    assert len(seen) == 3
    for epoch, metrics in enumerate(seen, 1):
        expected = _as_predicted(predictor, data, min(10 * epoch, 25))
        assert metrics.keys() == expected.keys()
        assert metrics == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert seen[0]["val_loss"] > seen[-1]["val_loss"]  # the figures move as the model learns


def test_the_training_sample_is_measured_when_it_is_a_subset() -> None:
    """More training rows than the sample holds: ``loss`` is measured on the evenly spaced sample."""
    case = make_case("regression", rows=1500)
    many = replace(
        case.data, x_train=np.tile(case.data.x_train, (20, 1)), y_train=np.tile(case.data.y_train, 20)
    )
    assert len(many.y_train) > len(train_sample(many)[1])
    predictor, seen = _epochs(many)
    assert seen[-1] == pytest.approx(_as_predicted(predictor, many, 25), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("stopping", [False, True])
def test_the_kept_models_validation_predictions_come_with_it(stopping: bool, classification: Case) -> None:
    """The held-out figures reuse LightGBM's validation predictions of the kept epoch: they are the
    kept model's own predictions, early stopping or not."""
    data = classification.data
    if stopping:  # shuffled labels overfit: the kept epoch is before the last one
        rng = np.random.default_rng(0)
        data = replace(data, y_train=rng.permutation(data.y_train), y_val=rng.permutation(data.y_val))
    hp = {"n_estimators": 300, "rounds_per_epoch": 5, "learning_rate": 0.3, "min_child_samples": 2}
    fitted = train_lightgbm(data, hp, EarlyStopping(enabled=stopping, patience=3), lambda *_: None)
    assert (fitted.stopped_epoch is not None) == stopping
    assert fitted.val_output is not None
    expected = fitted.predictor.predict_proba(data.x_val)
    assert fitted.val_output.shape == expected.shape
    np.testing.assert_allclose(fitted.val_output, expected, rtol=1e-9, atol=1e-12)
