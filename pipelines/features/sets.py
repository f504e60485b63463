"""The named feature sets: ``default`` (every indicator, ~100 columns) and ``minimal`` (DESIGN.md's list)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pipelines.errors import InvalidRequestError
from pipelines.features.indicators import FeatureSet, IndicatorSpec

__all__ = ["DEFAULT", "FEATURE_SETS", "MINIMAL", "get_feature_set"]


def _specs(*items: tuple[str, Mapping[str, Any]] | str) -> tuple[IndicatorSpec, ...]:
    return tuple(IndicatorSpec(i) if isinstance(i, str) else IndicatorSpec(i[0], dict(i[1])) for i in items)


MINIMAL = FeatureSet(
    "minimal",
    _specs(
        ("sma", {"period": 20}),
        ("ema", {"period": 20}),
        ("rsi", {"period": 14}),
        ("atr", {"period": 14}),
        ("adx", {"period": 14}),
        ("macd", {"fast": 12, "slow": 26, "signal": 9}),
        ("bb", {"period": 20, "nbdev": 2.0}),
        ("stoch", {"k_period": 14, "d_period": 3}),
        "obv",
        "vwap",
    ),
)

DEFAULT = FeatureSet(
    "default",
    _specs(
        # trend: moving averages
        *(("sma", {"period": p}) for p in (10, 20, 50, 200)),
        *(("ema", {"period": p}) for p in (10, 20, 50)),
        ("wma", {"period": 20}),
        ("dema", {"period": 20}),
        ("tema", {"period": 20}),
        ("trima", {"period": 20}),
        ("kama", {"period": 10}),
        ("hma", {"period": 20}),
        ("macd", {"fast": 12, "slow": 26, "signal": 9}),
        # trend: direction and strength
        ("adx", {"period": 14}),
        ("dmi", {"period": 14}),
        ("dx", {"period": 14}),
        ("adxr", {"period": 14}),
        ("aroon", {"period": 25}),
        ("aroonosc", {"period": 25}),
        ("ichimoku", {"tenkan": 9, "kijun": 26, "senkou": 52}),
        ("psar", {"accel": 0.02, "maximum": 0.2}),
        ("trix", {"period": 15}),
        ("vortex", {"period": 14}),
        ("mass_index", {"fast": 9, "slow": 25}),
        ("linreg_slope", {"period": 14}),
        ("cci", {"period": 20}),
        # momentum
        *(("rsi", {"period": p}) for p in (7, 14)),
        ("stoch", {"k_period": 14, "d_period": 3}),
        ("stochrsi", {"period": 14, "k_period": 14, "d_period": 3}),
        ("willr", {"period": 14}),
        ("roc", {"period": 10}),
        ("mom", {"period": 10}),
        ("mfi", {"period": 14}),
        ("tsi", {"long": 25, "short": 13}),
        ("ultosc", {"short": 7, "medium": 14, "long": 28}),
        ("ppo", {"fast": 12, "slow": 26}),
        ("apo", {"fast": 12, "slow": 26}),
        ("cmo", {"period": 14}),
        "bop",
        ("ao", {"fast": 5, "slow": 34}),
        # volatility
        ("atr", {"period": 14}),
        ("natr", {"period": 14}),
        "trange",
        ("stddev", {"period": 20}),  # before bb: bb then reuses its rolling std
        ("bb", {"period": 20, "nbdev": 2.0}),
        ("bb_width", {"period": 20, "nbdev": 2.0}),
        ("bb_pctb", {"period": 20, "nbdev": 2.0}),
        ("kc", {"period": 20, "mult": 2.0}),
        ("donchian", {"period": 20}),
        ("realized_vol", {"period": 20}),
        ("parkinson", {"period": 20}),
        ("garman_klass", {"period": 20}),
        ("rogers_satchell", {"period": 20}),
        ("ulcer", {"period": 14}),
        # volume
        "obv",
        "vwap",
        "ad",
        ("adosc", {"fast": 3, "slow": 10}),
        ("cmf", {"period": 20}),
        ("force_index", {"period": 13}),
        ("eom", {"period": 14}),
        "vpt",
        ("rvol", {"period": 20}),
        # returns
        *(("ret", {"period": p}) for p in (1, 5, 20)),
        ("log_ret", {"period": 1}),
        ("ret_lag", {"period": 1, "lags": 5}),
        ("zscore", {"period": 20}),
        *(("dist_sma", {"period": p}) for p in (20, 50)),
        # calendar
        "hour",
        "day_of_week",
        "day_of_month",
        "month",
        "hour_cyclic",
        "dow_cyclic",
    ),
)

FEATURE_SETS: Mapping[str, FeatureSet] = MappingProxyType({fs.name: fs for fs in (DEFAULT, MINIMAL)})


def get_feature_set(name: str) -> FeatureSet:
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise InvalidRequestError(
            f"unknown feature set {name!r}; valid feature sets: {', '.join(sorted(FEATURE_SETS))}"
        ) from None
