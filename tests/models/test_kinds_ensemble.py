"""The ensemble kind: normalized weights, member references on disk, members reading their own columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.models.base import Regressor
from pipelines.models.evaluation import regression_metrics
from pipelines.models.kinds import BaseRegressor, EnsembleRegressor, create_model, load_model

NAMES = ["f0", "f1", "f2", "f3"]


def signal_data(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(NAMES)))
    return x, 0.5 * x[:, 0] + 0.25 * rng.normal(size=n)


@pytest.fixture(scope="module")
def members() -> dict[str, BaseRegressor]:
    x, y = signal_data()
    ridge = create_model("simple", {}, NAMES, "cpu")
    ridge.fit(x, y)
    boost = create_model("lightgbm", {"n_estimators": 60, "num_leaves": 8}, NAMES, "cpu")
    boost.fit(x, y)
    narrow = create_model("simple", {}, ["f2", "f0"], "cpu")  # a member with fewer, reordered columns
    narrow.fit(x[:, [2, 0]], y)
    return {"ridge": ridge, "boost": boost, "narrow": narrow}


def test_weighted_average_with_normalized_weights(members: dict[str, BaseRegressor]) -> None:
    ens = EnsembleRegressor([("ridge", "1", 3.0, members["ridge"]), ("boost", "2", 1.0, members["boost"])])
    np.testing.assert_allclose(ens.weights, [0.75, 0.25])
    x, y = signal_data(100, seed=1)
    expected = 0.75 * members["ridge"].predict(x) + 0.25 * members["boost"].predict(x)
    np.testing.assert_allclose(ens.predict(x), expected, rtol=1e-12)
    assert regression_metrics(y, ens.predict(x))["r2"] > 0.5
    assert isinstance(ens, Regressor)
    assert ens.device == "cpu"


def test_member_reads_its_own_columns(members: dict[str, BaseRegressor]) -> None:
    ens = EnsembleRegressor([("ridge", "1", 1.0, members["ridge"]), ("narrow", "1", 1.0, members["narrow"])])
    assert ens.feature_names == NAMES
    x, _ = signal_data(50, seed=2)
    expected = 0.5 * members["ridge"].predict(x) + 0.5 * members["narrow"].predict(x[:, [2, 0]])
    np.testing.assert_allclose(ens.predict(x), expected, rtol=1e-12)


def test_fit_checks_feature_compatibility(members: dict[str, BaseRegressor]) -> None:
    ens = EnsembleRegressor([("ridge", "1", 1.0, members["ridge"])])
    x, y = signal_data(20)
    ens.fit(x, y)  # trains nothing
    with pytest.raises(InvalidRequestError, match="shape"):
        ens.fit(x[:, :3], y)
    with pytest.raises(InvalidRequestError, match="lacks"):
        EnsembleRegressor([("ridge", "1", 1.0, members["ridge"])], feature_names=["f0", "f1"])


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_weights_are_rejected(members: dict[str, BaseRegressor], weight: float) -> None:
    with pytest.raises(InvalidRequestError, match="weight > 0"):
        EnsembleRegressor([("ridge", "1", 1.0, members["ridge"]), ("boost", "1", weight, members["boost"])])


def test_empty_and_multi_output_members_are_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="at least one member"):
        EnsembleRegressor([])
    rng = np.random.default_rng(0)
    multi = create_model("multi_ohlc", {"n_steps": 1, "n_estimators": 5}, NAMES, "cpu")
    multi.fit(rng.normal(size=(60, 4)), rng.normal(size=(60, 4)))
    with pytest.raises(InvalidRequestError, match="multi-output"):
        EnsembleRegressor([("m", "1", 1.0, multi)])


def test_saves_references_and_loads_through_the_loader(
    members: dict[str, BaseRegressor], tmp_path: Path
) -> None:
    ens = EnsembleRegressor(
        [("ridge", "3", 1.0, members["ridge"]), ("boost", "champion", 3.0, members["boost"])]
    )
    ens.save(tmp_path / "ens")
    files = sorted(p.name for p in (tmp_path / "ens").iterdir())
    assert files == ["model.json"]  # references only, no member files
    state = json.loads((tmp_path / "ens" / "model.json").read_text())["state"]
    assert state["members"] == [
        {"model_name": "ridge", "version": "3", "weight": 0.25},
        {"model_name": "boost", "version": "champion", "weight": 0.75},
    ]
    asked: list[tuple[str, str]] = []

    def loader(name: str, version: str) -> Regressor:
        asked.append((name, version))
        return members[name]

    loaded = load_model(tmp_path / "ens", member_loader=loader)
    assert asked == [("ridge", "3"), ("boost", "champion")]
    x, _ = signal_data(40, seed=3)
    np.testing.assert_array_equal(loaded.predict(x), ens.predict(x))
    with pytest.raises(InvalidRequestError, match="member_loader"):
        load_model(tmp_path / "ens")


def test_create_model_builds_from_params(members: dict[str, BaseRegressor]) -> None:
    params = {"members": [{"model_name": "ridge", "version": 2, "weight": 1}, {"model_name": "boost"}]}
    ens = create_model("ensemble", params, NAMES, "cpu", member_loader=lambda name, version: members[name])
    assert isinstance(ens, EnsembleRegressor)
    assert [(n, v) for n, v, _, _ in ens.members] == [("ridge", "2"), ("boost", "champion")]
    np.testing.assert_allclose(ens.weights, [0.5, 0.5])
    with pytest.raises(InvalidRequestError, match="member_loader"):
        create_model("ensemble", params, NAMES, "cpu")


def test_importance_is_the_weighted_member_average(members: dict[str, BaseRegressor]) -> None:
    ens = EnsembleRegressor([("ridge", "1", 1.0, members["ridge"]), ("boost", "1", 1.0, members["boost"])])
    imp = ens.feature_importance()
    assert imp is not None
    ridge, boost = members["ridge"].feature_importance(), members["boost"].feature_importance()
    assert ridge is not None and boost is not None
    assert imp["f1"] == pytest.approx(0.5 * ridge["f1"] + 0.5 * boost["f1"])
    assert max(imp, key=lambda k: imp[k]) == "f0"
