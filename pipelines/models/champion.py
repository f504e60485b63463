"""Whether a new model version takes the ``champion`` alias.

The champion alias moves to a new version only when it beats the current champion on the
selection metric, both scored on the new run's validation window: metrics recorded on different
periods are not comparable. When the two versions read different features, the champion's score
is the one its own run recorded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from pipelines.models.evaluation import prefixed, regression_metrics
from pipelines.models.kinds import MemberLoader, load_model
from pipelines.models.mlflow_model import read_meta
from pipelines.models.tracking import Tracker
from pipelines.models.training_matrix import PreparedData

__all__ = ["SELECTION_METRICS", "decide_champion"]

# metric -> True when higher is better
SELECTION_METRICS = {"val_ic": True, "val_directional_accuracy": True, "val_r2": True, "val_rmse": False}


def _champion_score(
    tracker: Tracker,
    source: str,
    data: PreparedData,
    metric: str,
    recorded: dict[str, float],
    member_loader: MemberLoader | None,
) -> tuple[float, str]:
    """The champion's ``metric``: rescored on this run's validation rows when it reads the same
    features and outputs, else as its own run recorded it."""
    with tempfile.TemporaryDirectory(prefix="tradeforge-champion-") as tmp:
        folder = tracker.download(source, Path(tmp))
        regressor_dir = folder / "artifacts" / "regressor"
        old_meta = read_meta(regressor_dir)
        if old_meta.feature_names == list(data.feature_names) and old_meta.outputs == data.outputs:
            old_model = load_model(regressor_dir, member_loader=member_loader)
            scored = prefixed(regression_metrics(data.y_val, old_model.predict(data.x_val)), "val_")
            return scored[metric], "on this run's validation window"
    return recorded.get(metric, float("nan")), "as recorded (the feature sets differ)"


def decide_champion(
    tracker: Tracker,
    model_name: str,
    metric: str,
    data: PreparedData,
    metrics: dict[str, float],
    member_loader: MemberLoader | None,
) -> tuple[bool, str, dict[str, float]]:
    """(won, the decision in words, the scores to log) for the version just trained on ``data``."""
    name = metric
    higher = SELECTION_METRICS[metric]
    new_score = metrics.get(metric, float("nan"))
    current = tracker.alias_version(model_name, "champion")
    if current is None:
        return True, "first version: promoted to champion", {"selection_new": new_score}
    old_score, basis = _champion_score(tracker, current.source, data, metric, current.metrics, member_loader)
    if np.isnan(new_score):
        won = False
    elif np.isnan(old_score):
        won = True
    else:
        won = new_score > old_score if higher else new_score < old_score
    verdict = "promoted to champion" if won else f"champion stays version {current.version}"
    decision = f"{name} {new_score:.6g} vs champion v{current.version} {old_score:.6g} {basis}: {verdict}"
    return won, decision, {"selection_new": new_score, "selection_champion": old_score}
