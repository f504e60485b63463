"""The equity-curve figure of the backtest and walk-forward reports (their MLflow ``equity_curve.png``)
draws buy and hold of the symbol beside the result: the very curve of the report's benchmark block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.app import reports
from pipelines.features.store import build_features
from pipelines.models.specs import ModelSpec
from pipelines.models.tracking import open_tracker
from tests.serving_support import served_settings, train_models


def _lines(figure: Any) -> dict[str, np.ndarray]:
    """Each drawn line's legend label (spaces for underscores) and its y values."""
    (ax,) = figure.axes
    return {line.get_label().replace("_", " "): np.asarray(line.get_ydata()) for line in ax.get_lines()}


@pytest.mark.slow
def test_both_reports_draw_buy_and_hold_beside_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = served_settings(tmp_path / "home")
    train_models(settings)
    build_features(settings, source="synthetic", symbol="AAPL", timeframe="1d")  # the reports' bars
    tracker = open_tracker(settings)
    drawn: list[Any] = []
    real = reports.equity_figure

    def recorded(curves: dict[str, Any], title: str) -> Any:
        drawn.append(real(curves, title))
        return drawn[-1]

    monkeypatch.setattr(reports, "equity_figure", recorded)
    backtest = reports.backtest_report(settings, tracker, "lgbm_aapl")
    spec = ModelSpec(kind="lightgbm", symbol="AAPL", timeframe="1d", model_name="lgbm_aapl")
    walk = reports.walk_forward_report(settings, tracker, spec, years=2)
    assert len(drawn) == 2
    for report, figure, result in zip((backtest, walk), drawn, ("model", "out of sample"), strict=True):
        lines = _lines(figure)
        assert {result, "buy and hold"} <= set(lines)
        hold = lines["buy and hold"]
        # the benchmark block's buy and hold, from its first bar to its final equity
        assert hold[-1] == pytest.approx(report.honest["benchmark"]["final_equity"])
        assert hold[0] == pytest.approx(lines[result][0], rel=0.01)  # both start from the capital
        artifacts = {a.path for a in tracker.client.list_artifacts(report.run_id)}
        assert "equity_curve.png" in artifacts
