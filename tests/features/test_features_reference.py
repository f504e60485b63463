"""Indicators against references written in the test: plain-Python loops for DESIGN.md's core list,
pandas for the indicators TA-Lib does not have."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from pipelines.features import FeatureSet, IndicatorSpec, compute_features

LN2 = math.log(2.0)


def _lists(bars: pd.DataFrame) -> tuple[list[float], ...]:
    return tuple(bars[c].astype(float).tolist() for c in ("open", "high", "low", "close", "volume"))


# --- DESIGN.md's core indicators, plain Python loops ----------------------------------------------


def test_sma_ema_loops(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    close = _lists(bars)[3]
    for period in (10, 20, 50):
        ref.assert_matches(features[f"sma_{period}"], ref.sma(close, period), name=f"sma_{period}")
        ref.assert_matches(features[f"ema_{period}"], ref.ema(close, period), name=f"ema_{period}")


def test_rsi_loop(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    close = _lists(bars)[3]
    for period in (7, 14):
        ref.assert_matches(features[f"rsi_{period}"], ref.rsi(close, period), name=f"rsi_{period}")


def test_atr_loop(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    _, high, low, close, _ = _lists(bars)
    ref.assert_matches(features["atr_14"], ref.atr(high, low, close, 14), name="atr_14")
    ref.assert_matches(features["trange"], ref.true_range(high, low, close), name="trange")


def test_adx_and_directional_indicators_loop(
    features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType
) -> None:
    _, high, low, close, _ = _lists(bars)
    plus_di, minus_di, adx = ref.dmi_adx(high, low, close, 14)
    ref.assert_matches(features["plus_di_14"], plus_di, name="plus_di_14")
    ref.assert_matches(features["minus_di_14"], minus_di, name="minus_di_14")
    ref.assert_matches(features["adx_14"], adx, name="adx_14")
    assert np.isnan(features["adx_14"].iloc[26]) and not np.isnan(features["adx_14"].iloc[27])


def test_macd_loop(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    line, signal, hist = ref.macd(_lists(bars)[3], 12, 26, 9)
    ref.assert_matches(features["macd_12_26_9"], line, name="macd")
    ref.assert_matches(features["macd_signal_12_26_9"], signal, name="macd_signal")
    ref.assert_matches(features["macd_hist_12_26_9"], hist, name="macd_hist")
    assert features["macd_12_26_9"].first_valid_index() == 33


def test_bollinger_loop(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    upper, middle, lower = ref.bollinger(_lists(bars)[3], 20, 2.0)
    ref.assert_matches(features["bb_upper_20_2"], upper, name="bb_upper")
    ref.assert_matches(features["bb_middle_20_2"], middle, name="bb_middle")
    ref.assert_matches(features["bb_lower_20_2"], lower, name="bb_lower")


def test_stochastic_loop(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    _, high, low, close, _ = _lists(bars)
    slow_k, slow_d = ref.stoch(high, low, close, 14, 3)
    ref.assert_matches(features["stoch_k_14_3"], slow_k, name="stoch_k")
    ref.assert_matches(features["stoch_d_14_3"], slow_d, name="stoch_d")


def test_obv_loop(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    _, _, _, close, volume = _lists(bars)
    ref.assert_matches(features["obv"], ref.obv(close, volume), name="obv")


def test_vwap_loop_resets_each_utc_day(features: pd.DataFrame, bars: pd.DataFrame, ref: ModuleType) -> None:
    _, high, low, close, volume = _lists(bars)
    days = bars["timestamp"].dt.date.tolist()
    ref.assert_matches(features["vwap"], ref.vwap(days, high, low, close, volume), name="vwap")
    first_of_day = bars.index[bars["timestamp"].dt.hour == 0]
    typical = (bars["high"] + bars["low"] + bars["close"]) / 3.0
    np.testing.assert_allclose(features.loc[first_of_day, "vwap"], typical[first_of_day], rtol=1e-12)


def test_vwap_of_daily_bars_is_the_typical_price(make_bars: object, ref: ModuleType) -> None:
    daily = make_bars(40, seed=5, freq="1D")  # type: ignore[operator]
    out = compute_features(daily, "minimal")
    typical = ((daily["high"] + daily["low"] + daily["close"]) / 3.0).to_numpy()
    ref.assert_matches(out["vwap"], typical, name="daily vwap", rtol=1e-12)


# --- indicators TA-Lib lacks, pandas references ---------------------------------------------------


def _ema(series: pd.Series, period: int, ref: ModuleType) -> pd.Series:
    return pd.Series(ref.ema(series.tolist(), period), index=series.index)


def _wma(series: pd.Series, period: int) -> pd.Series:
    weights = np.arange(1, period + 1, dtype=float)
    return series.rolling(period).apply(lambda w: float(np.dot(w, weights) / weights.sum()), raw=True)


def _atr(bars: pd.DataFrame, period: int, ref: ModuleType) -> pd.Series:
    _, high, low, close, _ = _lists(bars)
    return pd.Series(ref.atr(high, low, close, period), index=bars.index)


def _midprice(bars: pd.DataFrame, period: int) -> pd.Series:
    return (bars["high"].rolling(period).max() + bars["low"].rolling(period).min()) / 2.0


def _pandas_references(bars: pd.DataFrame, ref: ModuleType) -> dict[str, pd.Series]:
    o, h, lo, c, v = (bars[col] for col in ("open", "high", "low", "close", "volume"))
    tenkan, kijun = _midprice(bars, 9), _midprice(bars, 26)
    kc_mid, atr20 = _ema(c, 20, ref), _atr(bars, 20, ref)
    prev_c = c.shift(1)
    tr = pd.concat([h, prev_c], axis=1).max(axis=1) - pd.concat([lo, prev_c], axis=1).min(axis=1)
    tr[prev_c.isna()] = np.nan
    diff = c.diff()
    mfm = ((c - lo) - (h - c)) / (h - lo)
    mfm[h == lo] = 0.0
    mid = (h + lo) / 2.0
    rng = h - lo
    peak = c.rolling(14).max()
    drawdown = 100.0 * (c - peak) / peak
    log_hl, log_co = pd.Series(np.log(h / lo)), pd.Series(np.log(c / o))
    rs_term = pd.Series(np.log(h / c) * np.log(h / o) + np.log(lo / c) * np.log(lo / o))
    ret1 = c.pct_change(fill_method=None)
    e1 = _ema(rng, 9, ref)
    ts = bars["timestamp"]
    refs = {
        "ichimoku_tenkan_9_26_52": tenkan,
        "ichimoku_kijun_9_26_52": kijun,
        "ichimoku_senkou_a_9_26_52": ((tenkan + kijun) / 2.0).shift(26),
        "ichimoku_senkou_b_9_26_52": _midprice(bars, 52).shift(26),
        "kc_upper_20_2": kc_mid + 2.0 * atr20,
        "kc_middle_20_2": kc_mid,
        "kc_lower_20_2": kc_mid - 2.0 * atr20,
        "dc_upper_20": h.rolling(20).max(),
        "dc_lower_20": lo.rolling(20).min(),
        "dc_middle_20": _midprice(bars, 20),
        "realized_vol_20": pd.Series(np.log(c)).diff().rolling(20).std(ddof=1),
        "parkinson_20": np.sqrt((log_hl**2).rolling(20).mean() / (4.0 * LN2)),
        "garman_klass_20": np.sqrt((0.5 * log_hl**2 - (2.0 * LN2 - 1.0) * log_co**2).rolling(20).mean()),
        "rogers_satchell_20": np.sqrt(rs_term.rolling(20).mean()),
        "ulcer_14": np.sqrt((drawdown**2).rolling(14).mean()),
        "cmf_20": (mfm * v).rolling(20).sum() / v.rolling(20).sum(),
        "force_index_13": _ema(diff * v, 13, ref),
        "tsi_25_13": 100.0 * _ema(_ema(diff, 25, ref), 13, ref) / _ema(_ema(diff.abs(), 25, ref), 13, ref),
        "vortex_plus_14": (h - lo.shift(1)).abs().rolling(14).sum() / tr.rolling(14).sum(),
        "vortex_minus_14": (lo - h.shift(1)).abs().rolling(14).sum() / tr.rolling(14).sum(),
        "hma_20": _wma(2.0 * _wma(c, 10) - _wma(c, 20), 4),
        "ao_5_34": mid.rolling(5).mean() - mid.rolling(34).mean(),
        "eom_14": (mid.diff() * rng / v * 1e8).rolling(14).mean(),
        "vpt": (v * ret1).cumsum(),
        "rvol_20": v / v.rolling(20).mean(),
        "mass_index_9_25": (e1 / _ema(e1, 9, ref)).rolling(25).sum(),
        "ret_1": ret1,
        "ret_5": c.pct_change(5, fill_method=None),
        "ret_20": c.pct_change(20, fill_method=None),
        "log_ret_1": np.log(c / c.shift(1)),
        "zscore_20": (c - c.rolling(20).mean()) / c.rolling(20).std(ddof=0),
        "dist_sma_20": c / c.rolling(20).mean() - 1.0,
        "dist_sma_50": c / c.rolling(50).mean() - 1.0,
        "hour": ts.dt.hour.astype(float),
        "day_of_week": ts.dt.day_of_week.astype(float),
        "day_of_month": ts.dt.day.astype(float),
        "month": ts.dt.month.astype(float),
        "hour_sin": np.sin(2.0 * np.pi * ts.dt.hour / 24.0),
        "hour_cos": np.cos(2.0 * np.pi * ts.dt.hour / 24.0),
        "dow_sin": np.sin(2.0 * np.pi * ts.dt.day_of_week / 7.0),
        "dow_cos": np.cos(2.0 * np.pi * ts.dt.day_of_week / 7.0),
    }
    refs.update({f"ret_1_lag_{k}": ret1.shift(k) for k in range(1, 6)})
    return refs


NON_TALIB = [
    "ichimoku_tenkan_9_26_52",
    "ichimoku_kijun_9_26_52",
    "ichimoku_senkou_a_9_26_52",
    "ichimoku_senkou_b_9_26_52",
    "kc_upper_20_2",
    "kc_middle_20_2",
    "kc_lower_20_2",
    "dc_upper_20",
    "dc_lower_20",
    "dc_middle_20",
    "realized_vol_20",
    "parkinson_20",
    "garman_klass_20",
    "rogers_satchell_20",
    "ulcer_14",
    "cmf_20",
    "force_index_13",
    "tsi_25_13",
    "vortex_plus_14",
    "vortex_minus_14",
    "hma_20",
    "ao_5_34",
    "eom_14",
    "vpt",
    "rvol_20",
    "mass_index_9_25",
    "ret_1",
    "ret_5",
    "ret_20",
    "log_ret_1",
    *(f"ret_1_lag_{k}" for k in range(1, 6)),
    "zscore_20",
    "dist_sma_20",
    "dist_sma_50",
    "hour",
    "day_of_week",
    "day_of_month",
    "month",
    "hour_sin",
    "hour_cos",
    "dow_sin",
    "dow_cos",
]


@pytest.fixture(scope="module")
def pandas_refs(bars: pd.DataFrame, ref: ModuleType) -> dict[str, pd.Series]:
    return _pandas_references(bars, ref)


@pytest.mark.parametrize("column", NON_TALIB)
def test_matches_pandas_reference(
    column: str, features: pd.DataFrame, pandas_refs: dict[str, pd.Series], ref: ModuleType
) -> None:
    ref.assert_matches(features[column].to_numpy(), pandas_refs[column].to_numpy(), name=column, rtol=1e-8)


def test_every_default_column_has_a_reference_test(features: pd.DataFrame) -> None:
    """Each default column is checked against TA-Lib or a reference in one of the two test files."""
    here = Path(__file__)
    sources = here.read_text() + here.with_name("test_features_talib.py").read_text()
    missing = [col for col in features.columns[1:] if f'"{col}"' not in sources and col not in NON_TALIB]
    assert missing == []


def test_keltner_middle_is_the_ema_and_uses_its_own_atr(bars: pd.DataFrame, ref: ModuleType) -> None:
    out = compute_features(bars, FeatureSet("kc", (IndicatorSpec("kc", {"period": 10, "mult": 1.5}),)))
    mid = _ema(bars["close"], 10, ref)
    width = 1.5 * _atr(bars, 10, ref)
    ref.assert_matches(out["kc_middle_10_1p5"], mid.to_numpy(), name="kc_middle")
    ref.assert_matches(out["kc_upper_10_1p5"], (mid + width).to_numpy(), name="kc_upper")
    ref.assert_matches(out["kc_lower_10_1p5"], (mid - width).to_numpy(), name="kc_lower")
