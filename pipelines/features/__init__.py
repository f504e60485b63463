"""Technical-indicator features, feature sets and labels over canonical bars.

``compute_features(bars, "default")`` returns ``timestamp`` plus ~100 float64 feature columns named
``{indicator}_{params}`` (``sma_20``, ``macd_signal_12_26_9``, ``psar_0p02_0p2``); each is computed
as TA-Lib does where TA-Lib has the indicator, and a value at row t uses bars 0..t only.
``make_labels`` builds the forward-looking targets, which are never part of a feature set.
"""

from __future__ import annotations

# Importing the indicator modules registers their indicators.
from pipelines.features import averages, calendar, momentum, returns, trend, volatility, volume  # noqa: F401
from pipelines.features.compute import compute_features, feature_columns, resolve_feature_set, warmup
from pipelines.features.indicators import (
    CATEGORIES,
    FeatureSet,
    Indicator,
    IndicatorSpec,
    get_indicator,
    indicator,
    list_indicators,
)
from pipelines.features.inputs import REQUIRED_COLUMNS, BarData
from pipelines.features.labels import label_columns, make_labels
from pipelines.features.sets import FEATURE_SETS, get_feature_set

__all__ = [
    "CATEGORIES",
    "FEATURE_SETS",
    "REQUIRED_COLUMNS",
    "BarData",
    "FeatureSet",
    "Indicator",
    "IndicatorSpec",
    "compute_features",
    "feature_columns",
    "get_feature_set",
    "get_indicator",
    "indicator",
    "label_columns",
    "list_indicators",
    "make_labels",
    "resolve_feature_set",
    "warmup",
]
