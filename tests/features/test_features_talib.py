"""Every indicator TA-Lib also has must match TA-Lib: values to 1e-9 and the same NaN warm-up."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.features import FeatureSet, IndicatorSpec, compute_features

talib = pytest.importorskip("talib", reason="TA-Lib (the `talib` package) is not installed")

Arrays = dict[str, np.ndarray]
# column of the default feature set -> how TA-Lib computes it from the bars
TALIB: dict[str, Callable[[Arrays], np.ndarray]] = {
    "sma_10": lambda a: talib.SMA(a["close"], 10),
    "sma_20": lambda a: talib.SMA(a["close"], 20),
    "sma_50": lambda a: talib.SMA(a["close"], 50),
    "sma_200": lambda a: talib.SMA(a["close"], 200),
    "ema_10": lambda a: talib.EMA(a["close"], 10),
    "ema_20": lambda a: talib.EMA(a["close"], 20),
    "ema_50": lambda a: talib.EMA(a["close"], 50),
    "wma_20": lambda a: talib.WMA(a["close"], 20),
    "dema_20": lambda a: talib.DEMA(a["close"], 20),
    "tema_20": lambda a: talib.TEMA(a["close"], 20),
    "trima_20": lambda a: talib.TRIMA(a["close"], 20),
    "kama_10": lambda a: talib.KAMA(a["close"], 10),
    "macd_12_26_9": lambda a: talib.MACD(a["close"], 12, 26, 9)[0],
    "macd_signal_12_26_9": lambda a: talib.MACD(a["close"], 12, 26, 9)[1],
    "macd_hist_12_26_9": lambda a: talib.MACD(a["close"], 12, 26, 9)[2],
    "adx_14": lambda a: talib.ADX(a["high"], a["low"], a["close"], 14),
    "plus_di_14": lambda a: talib.PLUS_DI(a["high"], a["low"], a["close"], 14),
    "minus_di_14": lambda a: talib.MINUS_DI(a["high"], a["low"], a["close"], 14),
    "dx_14": lambda a: talib.DX(a["high"], a["low"], a["close"], 14),
    "adxr_14": lambda a: talib.ADXR(a["high"], a["low"], a["close"], 14),
    "aroon_up_25": lambda a: talib.AROON(a["high"], a["low"], 25)[1],
    "aroon_down_25": lambda a: talib.AROON(a["high"], a["low"], 25)[0],
    "aroonosc_25": lambda a: talib.AROONOSC(a["high"], a["low"], 25),
    "ichimoku_tenkan_9_26_52": lambda a: talib.MIDPRICE(a["high"], a["low"], 9),
    "ichimoku_kijun_9_26_52": lambda a: talib.MIDPRICE(a["high"], a["low"], 26),
    "psar_0p02_0p2": lambda a: talib.SAR(a["high"], a["low"], 0.02, 0.2),
    "trix_15": lambda a: talib.TRIX(a["close"], 15),
    "linreg_slope_14": lambda a: talib.LINEARREG_SLOPE(a["close"], 14),
    "cci_20": lambda a: talib.CCI(a["high"], a["low"], a["close"], 20),
    "rsi_7": lambda a: talib.RSI(a["close"], 7),
    "rsi_14": lambda a: talib.RSI(a["close"], 14),
    "stoch_k_14_3": lambda a: talib.STOCH(a["high"], a["low"], a["close"], 14, 3, 0, 3, 0)[0],
    "stoch_d_14_3": lambda a: talib.STOCH(a["high"], a["low"], a["close"], 14, 3, 0, 3, 0)[1],
    "stochrsi_k_14_14_3": lambda a: talib.STOCHRSI(a["close"], 14, 14, 3, 0)[0],
    "stochrsi_d_14_14_3": lambda a: talib.STOCHRSI(a["close"], 14, 14, 3, 0)[1],
    "willr_14": lambda a: talib.WILLR(a["high"], a["low"], a["close"], 14),
    "roc_10": lambda a: talib.ROC(a["close"], 10),
    "mom_10": lambda a: talib.MOM(a["close"], 10),
    "mfi_14": lambda a: talib.MFI(a["high"], a["low"], a["close"], a["volume"], 14),
    "ultosc_7_14_28": lambda a: talib.ULTOSC(a["high"], a["low"], a["close"], 7, 14, 28),
    "ppo_12_26": lambda a: talib.PPO(a["close"], 12, 26, 1),  # matype 1: EMA
    "apo_12_26": lambda a: talib.APO(a["close"], 12, 26, 1),
    "cmo_14": lambda a: talib.CMO(a["close"], 14),
    "bop": lambda a: talib.BOP(a["open"], a["high"], a["low"], a["close"]),
    "atr_14": lambda a: talib.ATR(a["high"], a["low"], a["close"], 14),
    "natr_14": lambda a: talib.NATR(a["high"], a["low"], a["close"], 14),
    "trange": lambda a: talib.TRANGE(a["high"], a["low"], a["close"]),
    "bb_upper_20_2": lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, 0)[0],
    "bb_middle_20_2": lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, 0)[1],
    "bb_lower_20_2": lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, 0)[2],
    "stddev_20": lambda a: talib.STDDEV(a["close"], 20, 1.0),
    "dc_upper_20": lambda a: talib.MAX(a["high"], 20),
    "dc_lower_20": lambda a: talib.MIN(a["low"], 20),
    "dc_middle_20": lambda a: talib.MIDPRICE(a["high"], a["low"], 20),
    "obv": lambda a: talib.OBV(a["close"], a["volume"]),
    "ad": lambda a: talib.AD(a["high"], a["low"], a["close"], a["volume"]),
    "adosc_3_10": lambda a: talib.ADOSC(a["high"], a["low"], a["close"], a["volume"], 3, 10),
    "ret_1": lambda a: talib.ROCP(a["close"], 1),
    "ret_5": lambda a: talib.ROCP(a["close"], 5),
    "ret_20": lambda a: talib.ROCP(a["close"], 20),
}


@pytest.mark.parametrize("column", sorted(TALIB))
def test_matches_talib(column: str, features: pd.DataFrame, ohlcv: Arrays, ref: ModuleType) -> None:
    ref.assert_matches(features[column].to_numpy(), TALIB[column](ohlcv), name=column)


def test_distance_from_sma_uses_talib_sma(features: pd.DataFrame, ohlcv: Arrays, ref: ModuleType) -> None:
    for period in (20, 50):
        expected = ohlcv["close"] / talib.SMA(ohlcv["close"], period) - 1.0
        ref.assert_matches(features[f"dist_sma_{period}"].to_numpy(), expected, name=f"dist_sma_{period}")


def test_bollinger_width_and_percent_b(features: pd.DataFrame, ohlcv: Arrays, ref: ModuleType) -> None:
    upper, middle, lower = talib.BBANDS(ohlcv["close"], 20, 2.0, 2.0, 0)
    ref.assert_matches(
        features["bb_width_20_2"].to_numpy(), (upper - lower) / middle, name="bb_width", rtol=1e-7
    )
    pctb = (ohlcv["close"] - lower) / (upper - lower)
    ref.assert_matches(features["bb_pctb_20_2"].to_numpy(), pctb, name="bb_pctb", rtol=1e-7)


@pytest.mark.parametrize(
    ("spec", "column", "reference"),
    [
        (IndicatorSpec("rsi", {"period": 2}), "rsi_2", lambda a: talib.RSI(a["close"], 2)),
        (IndicatorSpec("ema", {"period": 1}), "ema_1", lambda a: talib.EMA(a["close"], 1)),
        (
            IndicatorSpec("adx", {"period": 5}),
            "adx_5",
            lambda a: talib.ADX(a["high"], a["low"], a["close"], 5),
        ),
        (IndicatorSpec("kama", {"period": 30}), "kama_30", lambda a: talib.KAMA(a["close"], 30)),
        (IndicatorSpec("trima", {"period": 9}), "trima_9", lambda a: talib.TRIMA(a["close"], 9)),
        (IndicatorSpec("wma", {"period": 3}), "wma_3", lambda a: talib.WMA(a["close"], 3)),
        (
            IndicatorSpec("cci", {"period": 7}),
            "cci_7",
            lambda a: talib.CCI(a["high"], a["low"], a["close"], 7),
        ),
        (
            IndicatorSpec("macd", {"fast": 5, "slow": 35, "signal": 5}),
            "macd_signal_5_35_5",
            lambda a: talib.MACD(a["close"], 5, 35, 5)[1],
        ),
        (
            IndicatorSpec("psar", {"accel": 0.05, "maximum": 0.5}),
            "psar_0p05_0p5",
            lambda a: talib.SAR(a["high"], a["low"], 0.05, 0.5),
        ),
        (
            IndicatorSpec("ultosc", {"short": 28, "medium": 3, "long": 9}),
            "ultosc_28_3_9",
            lambda a: talib.ULTOSC(a["high"], a["low"], a["close"], 3, 9, 28),
        ),
        (
            IndicatorSpec("stoch", {"k_period": 5, "d_period": 4}),
            "stoch_d_5_4",
            lambda a: talib.STOCH(a["high"], a["low"], a["close"], 5, 4, 0, 4, 0)[1],
        ),
        (
            IndicatorSpec("bb", {"period": 10, "nbdev": 1.5}),
            "bb_lower_10_1p5",
            lambda a: talib.BBANDS(a["close"], 10, 1.5, 1.5, 0)[2],
        ),
    ],
)
def test_other_parameters_match_talib(
    spec: IndicatorSpec, column: str, reference: Any, bars: pd.DataFrame, ref: ModuleType
) -> None:
    ours = compute_features(bars, FeatureSet("one", (spec,)))
    assert list(ours.columns[1:]) == spec.columns
    arrays = {c: bars[c].to_numpy() for c in ("open", "high", "low", "close", "volume")}
    ref.assert_matches(ours[column].to_numpy(), reference(arrays), name=column)


def test_long_series_matches_talib(make_bars: Callable[..., pd.DataFrame], ref: ModuleType) -> None:
    """Past the running-sum re-sync interval (1024 bars) values still match TA-Lib."""
    bars = make_bars(5000, seed=3, freq="5min")
    ours = compute_features(bars, "minimal")
    a = {c: bars[c].to_numpy() for c in ("high", "low", "close")}
    ref.assert_matches(ours["sma_20"].to_numpy(), talib.SMA(a["close"], 20), name="sma_20")
    ref.assert_matches(
        ours["bb_upper_20_2"].to_numpy(), talib.BBANDS(a["close"], 20, 2, 2, 0)[0], name="bb_upper"
    )
    ref.assert_matches(ours["adx_14"].to_numpy(), talib.ADX(a["high"], a["low"], a["close"], 14), name="adx")
    ref.assert_matches(
        ours["stoch_k_14_3"].to_numpy(),
        talib.STOCH(a["high"], a["low"], a["close"], 14, 3, 0, 3, 0)[0],
        name="stoch",
    )


def test_mfi_reads_typical_prices_a_rounding_apart_as_a_tie(
    make_bars: Callable[..., pd.DataFrame], ref: ModuleType
) -> None:
    """Cent prices whose typical prices are equal but round apart in the last bit (54812.59 +
    54773.55 + 54782.59 vs 54800.9 + 54776.71 + 54791.12): TA-Lib counts no money flow either way."""
    bars = make_bars(60, seed=5)
    for row, (high, low, close) in (
        (30, (54812.59, 54773.55, 54782.59)),
        (31, (54800.9, 54776.71, 54791.12)),
    ):
        bars.loc[row, ["open", "high", "low", "close"]] = (close, high, low, close)
    a = {c: bars[c].to_numpy() for c in ("high", "low", "close", "volume")}
    tp = (a["high"] + a["low"] + a["close"]) / 3.0
    assert tp[31] != tp[30] and abs(tp[31] - tp[30]) < 1e-8  # the near tie is really there
    ours = compute_features(bars, FeatureSet("one", (IndicatorSpec("mfi", {"period": 14}),)))
    theirs = talib.MFI(a["high"], a["low"], a["close"], a["volume"], 14)
    ref.assert_matches(ours["mfi_14"].to_numpy(), theirs, name="mfi_14")
