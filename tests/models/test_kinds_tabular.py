"""The tabular kinds (simple, random_forest, lightgbm, xgboost) on data with a known signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.models.base import ModelKind, Regressor
from pipelines.models.evaluation import regression_metrics
from pipelines.models.kinds import BaseRegressor, create_model, load_model, native_predict_fn
from pipelines.models.kinds._common import META_FILE

NAMES = ["f0", "f1", "f2", "f3", "f4", "f5"]
FAST = {
    "simple": {},
    "random_forest": {"n_estimators": 30, "max_depth": 6},
    "lightgbm": {"n_estimators": 80, "num_leaves": 8},
    "xgboost": {"n_estimators": 80, "max_depth": 3},
}
KINDS = list(FAST)


def signal_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = 0.5 * x0 + noise: a model that learns anything beats predicting zero."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(NAMES)))
    y = 0.5 * x[:, 0] + 0.25 * rng.normal(size=n)
    return x, y


@pytest.fixture(scope="module")
def fitted() -> dict[str, BaseRegressor]:
    x, y = signal_data()
    models: dict[str, BaseRegressor] = {}
    for kind in KINDS:
        model = create_model(kind, FAST[kind], NAMES, "cpu")
        model.fit(x[:450], y[:450], x[460:], y[460:])
        models[kind] = model
    return models


@pytest.mark.parametrize("kind", KINDS)
def test_learns_the_signal_and_beats_zero(fitted: dict[str, BaseRegressor], kind: str) -> None:
    x, y = signal_data(300, seed=1)  # fresh data from the same process
    pred = fitted[kind].predict(x)
    assert pred.shape == (300,)
    assert pred.dtype == np.float64
    r2 = regression_metrics(y, pred)["r2"]
    assert r2 > 0.5, f"{kind} r2 {r2}"


@pytest.mark.parametrize("kind", KINDS)
def test_predicts_one_row_and_reports_cpu(fitted: dict[str, BaseRegressor], kind: str) -> None:
    model = fitted[kind]
    x, _ = signal_data(1, seed=2)
    assert model.predict(x).shape == (1,)
    assert model.device == "cpu"
    assert model.kind is ModelKind(kind)
    assert model.context_rows == 1
    assert isinstance(model, Regressor)


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_small_inputs_predict_single_threaded_with_the_same_values(
    fitted: dict[str, BaseRegressor], kind: str
) -> None:
    """A few rows (a serving request) skip the OpenMP team; a batch keeps it. Same trees, same sums."""
    model = fitted[kind]
    x, _ = signal_data(600, seed=3)  # over both kinds' serial limits: the threaded path
    batch = model.predict(x)
    one_by_one = np.concatenate([model.predict(x[i : i + 1]) for i in range(0, 600, 97)])
    np.testing.assert_array_equal(one_by_one, batch[::97])
    if kind == "xgboost":  # the single-threaded copy is made once, on the first small input
        serial = model._serial  # type: ignore[attr-defined]
        assert serial is not None and serial is not model.booster  # type: ignore[attr-defined]
        model.predict(x[:3])
        assert model._serial is serial  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_feature_importance_ranks_the_signal_first(fitted: dict[str, BaseRegressor], kind: str) -> None:
    imp = fitted[kind].feature_importance()
    assert imp is not None
    assert set(imp) == set(NAMES)
    assert max(imp, key=lambda k: imp[k]) == "f0"
    assert sum(imp.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_predicts_identically(
    fitted: dict[str, BaseRegressor], kind: str, tmp_path: Path
) -> None:
    model = fitted[kind]
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / META_FILE).is_file()
    loaded = load_model(tmp_path / "m")
    x, _ = signal_data(200, seed=3)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.kind is model.kind
    assert loaded.params == model.params
    assert loaded.device == "cpu"
    assert loaded.feature_names == NAMES
    assert loaded.feature_importance() == pytest.approx(model.feature_importance())
    assert loaded.target_scale == model.target_scale


@pytest.mark.parametrize("kind", KINDS)
def test_predict_survives_nan_features(fitted: dict[str, BaseRegressor], kind: str) -> None:
    x, _ = signal_data(20, seed=4)
    x[3, 2] = np.nan
    x[7, :] = np.nan
    pred = fitted[kind].predict(x)
    assert np.isfinite(pred).all()


@pytest.mark.parametrize("kind", KINDS)
def test_native_predict_agrees(fitted: dict[str, BaseRegressor], kind: str) -> None:
    model = fitted[kind]
    x, _ = signal_data(50, seed=5)
    native = np.asarray(native_predict_fn(model)(x), dtype=np.float64)
    np.testing.assert_allclose(model.predict(x), native, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_shapes_are_rejected(fitted: dict[str, BaseRegressor], kind: str) -> None:
    model = fitted[kind]
    with pytest.raises(InvalidRequestError, match=r"shape \(rows, 6\)"):
        model.predict(np.zeros((3, 5)))
    with pytest.raises(InvalidRequestError, match="shape"):
        model.predict(np.zeros(6))


def test_fit_rejects_bad_targets_and_half_validation() -> None:
    x, y = signal_data(50)
    model = create_model("lightgbm", FAST["lightgbm"], NAMES, "cpu")
    y_bad = y.copy()
    y_bad[3] = np.nan
    with pytest.raises(InvalidRequestError, match="NaN or infinite targets"):
        model.fit(x, y_bad)
    with pytest.raises(InvalidRequestError, match="both x_val and y_val"):
        model.fit(x, y, x_val=x)
    with pytest.raises(InvalidRequestError, match="y must have shape"):
        model.fit(x, y[:-1])


def test_unfitted_model_cannot_predict_or_save(tmp_path: Path) -> None:
    model = create_model("xgboost", FAST["xgboost"], NAMES, "cpu")
    with pytest.raises(InvalidRequestError, match="not fitted"):
        model.predict(np.zeros((1, 6)))
    with pytest.raises(InvalidRequestError, match="unfitted"):
        model.save(tmp_path / "m")


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_early_stopping_keeps_the_best_trees(kind: str) -> None:
    """Pure-noise validation targets stop boosting long before n_estimators."""
    x, _ = signal_data(400)
    rng = np.random.default_rng(9)
    model = create_model(kind, {"n_estimators": 500, "early_stopping_rounds": 10}, NAMES, "cpu")
    model.fit(x[:300], rng.normal(size=300), x[300:], rng.normal(size=100))
    trees = model.fit_info["trees"]
    assert 1 <= trees < 100


@pytest.mark.parametrize("kind", KINDS)
def test_training_is_reproducible_with_a_seed(kind: str) -> None:
    x, y = signal_data(300)
    params = {**FAST[kind], "seed": 7, **({"subsample": 0.7} if kind in ("lightgbm", "xgboost") else {})}
    a = create_model(kind, params, NAMES, "cpu")
    b = create_model(kind, params, NAMES, "cpu")
    a.fit(x, y)
    b.fit(x, y)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert a.params["random_state"] == 7


def test_records_target_and_error_scale(fitted: dict[str, BaseRegressor]) -> None:
    x, y = signal_data()
    model = fitted["simple"]
    assert model.target_scale == pytest.approx(float(np.std(y[:450])))
    rmse = regression_metrics(y[460:], model.predict(x[460:]))["rmse"]
    assert model.error_scale == pytest.approx(rmse)
