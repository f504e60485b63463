"""The numba kernels on their own: precision, ties, leading NaNs and long series (re-sync paths)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from pipelines.features import FeatureSet, IndicatorSpec, compute_features, get_feature_set
from pipelines.features import _extreme_kernels as ek
from pipelines.features import _kernels as k
from pipelines.features import _rolling_kernels as rw
from pipelines.features import _window_kernels as wk
from pipelines.features._kernels import RESYNC


def _windows(x: np.ndarray, w: int) -> np.ndarray:
    return sliding_window_view(x, w)


def test_rolling_std_keeps_precision_far_from_zero() -> None:
    """Prices near 1e9 with tiny moves: E[x^2]-E[x]^2 would lose every digit; Welford must not."""
    rng = np.random.default_rng(0)
    x = 1e9 + np.cumsum(rng.normal(0.0, 1e-3, 3 * RESYNC + 17))
    for ddof in (0, 1):
        mean, std = rw.rolling_mean_std(x, 20, ddof)
        expected = _windows(x, 20).std(axis=1, ddof=ddof)
        assert np.isnan(std[:19]).all() and np.isnan(mean[:19]).all()
        np.testing.assert_allclose(std[19:], expected, rtol=1e-6)
        np.testing.assert_allclose(mean[19:], _windows(x, 20).mean(axis=1), rtol=1e-15)


def test_rolling_std_of_a_constant_is_zero() -> None:
    mean, std = rw.rolling_mean_std(np.full(3000, 123.456), 14)
    assert (std[13:] == 0.0).all()
    np.testing.assert_allclose(mean[13:], 123.456, rtol=1e-15)


def test_rolling_sum_over_long_series() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(100.0, 5.0, 5 * RESYNC + 3)
    out = rw.rolling_sum(x, 37)
    assert np.isnan(out[:36]).all()
    np.testing.assert_allclose(out[36:], _windows(x, 37).sum(axis=1), rtol=1e-12)
    sma = rw.rolling_sum(x, 10, 0.1)
    np.testing.assert_allclose(sma[9:], _windows(x, 10).mean(axis=1), rtol=1e-12)


@pytest.mark.parametrize("w", [1, 2, 3, 7, 20, 64])
@pytest.mark.parametrize("is_max", [True, False])
def test_rolling_extreme_matches_a_naive_scan(w: int, is_max: bool) -> None:
    rng = np.random.default_rng(w)
    x = rng.integers(0, 5, 500).astype(float)  # many ties
    x[:3] = np.nan  # leading NaNs are skipped
    out = rw.rolling_extreme(x, w, is_max=is_max)
    windows = _windows(x[3:], w)
    expected = windows.max(axis=1) if is_max else windows.min(axis=1)
    assert np.isnan(out[: 3 + w - 1]).all()
    np.testing.assert_array_equal(out[3 + w - 1 :], expected)


def test_rolling_extreme_shorter_than_window() -> None:
    assert np.isnan(rw.rolling_extreme(np.arange(5.0), 6, is_max=True)).all()


def test_aroon_ties_go_to_the_latest_bar() -> None:
    high = np.array([1.0, 3.0, 2.0, 3.0, 1.0, 0.5, 0.5, 0.4])
    low = high - 0.1
    up, down = np.empty(8), np.empty(8)
    ek.aroon(high, low, 3, up, down)
    # window of 4 bars ending at bar 4: [3, 2, 3, 1]; the latest 3 is 1 bar ago -> 100*(3-1)/3
    # (the earlier 3, at bar 1, would give 0)
    assert np.isnan(up[:3]).all()
    np.testing.assert_allclose(up[3:], 100.0 / 3.0 * np.array([3, 2, 1, 0, 0]))
    # lows: 0.4 at bar 7 is the latest minimum; at bar 6, 0.4 is from bars 5 and 6 (tie -> bar 6)
    np.testing.assert_allclose(down[6:], [100.0, 100.0])


def test_ema_skips_leading_nans(ref: ModuleType) -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate((np.full(7, np.nan), 50.0 + np.cumsum(rng.normal(0.0, 1.0, 300))))
    ours = k.ema(x, 10, 2.0 / 11.0)
    ref.assert_matches(ours, ref.ema(x.tolist(), 10), name="ema with leading NaNs")
    assert int(np.argmax(~np.isnan(ours))) == 7 + 9


def test_wma_and_linreg_over_long_series(ref: ModuleType) -> None:
    rng = np.random.default_rng(3)
    x = 100.0 + np.cumsum(rng.normal(0.0, 1.0, 3 * RESYNC))
    ref.assert_matches(rw.wma(x, 15), ref.wma(x.tolist(), 15), name="wma")
    slope = wk.linreg_slope(x, 14)
    expected = np.array([np.polyfit(np.arange(14.0), w, 1)[0] for w in _windows(x, 14)])
    assert np.isnan(slope[:13]).all()
    np.testing.assert_allclose(slope[13:], expected, rtol=1e-7, atol=1e-9)


def test_windowed_kernels_over_long_series_match_talib(
    make_bars: Callable[..., pd.DataFrame], ref: ModuleType
) -> None:
    """MFI, ULTOSC, CCI, AROON, vortex and the rolling extremes across several re-sync intervals."""
    talib = pytest.importorskip("talib", reason="TA-Lib (the `talib` package) is not installed")
    bars = make_bars(4 * RESYNC + 11, seed=8, freq="1min")
    specs = (
        IndicatorSpec("mfi"),
        IndicatorSpec("ultosc"),
        IndicatorSpec("cci"),
        IndicatorSpec("aroon"),
        IndicatorSpec("willr"),
        IndicatorSpec("vortex"),
    )
    out = compute_features(bars, FeatureSet("long", specs))
    h, lo, c, v = (bars[col].to_numpy() for col in ("high", "low", "close", "volume"))
    ref.assert_matches(out["mfi_14"], talib.MFI(h, lo, c, v, 14), name="mfi")
    ref.assert_matches(out["ultosc_7_14_28"], talib.ULTOSC(h, lo, c, 7, 14, 28), name="ultosc")
    ref.assert_matches(out["cci_20"], talib.CCI(h, lo, c, 20), name="cci")
    ref.assert_matches(out["aroon_up_25"], talib.AROON(h, lo, 25)[1], name="aroon_up")
    ref.assert_matches(out["willr_14"], talib.WILLR(h, lo, c, 14), name="willr")
    tr = talib.TRANGE(h, lo, c)
    vm_plus = np.abs(h[1:] - lo[:-1])
    expected = np.full(len(c), np.nan)
    expected[14:] = _windows(vm_plus, 14).sum(axis=1) / _windows(tr[1:], 14).sum(axis=1)
    ref.assert_matches(out["vortex_plus_14"], expected, name="vortex_plus")


def test_calendar_fields_across_years_and_before_1970() -> None:
    ts = pd.Series(pd.date_range("1968-02-27 05:00", "2031-03-02", freq="997h", tz="UTC").as_unit("ns"))
    n = len(ts)
    bars = pd.DataFrame({"timestamp": ts, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0})
    specs = tuple(
        IndicatorSpec(name) for name in ("hour", "day_of_week", "day_of_month", "month", "dow_cyclic")
    )
    out = compute_features(bars, FeatureSet("calendar", specs))
    assert n > 500
    np.testing.assert_array_equal(out["hour"], ts.dt.hour)
    np.testing.assert_array_equal(out["day_of_week"], ts.dt.day_of_week)
    np.testing.assert_array_equal(out["day_of_month"], ts.dt.day)
    np.testing.assert_array_equal(out["month"], ts.dt.month)
    np.testing.assert_allclose(out["dow_cos"], np.cos(2 * np.pi * ts.dt.day_of_week / 7), atol=1e-15)


@pytest.mark.parametrize("spec", get_feature_set("default").indicators, ids=lambda s: s.indicator_name)
def test_an_indicator_alone_equals_it_within_the_set(
    spec: IndicatorSpec, bars: pd.DataFrame, features: pd.DataFrame
) -> None:
    """Alone, an indicator takes its own paths (fused kernels, straight into its column) where in
    the set it reuses series other indicators memoized; both give the same values."""
    alone = compute_features(bars, FeatureSet(f"alone_{spec.indicator_name}", (spec,)))
    for column in spec.columns:
        np.testing.assert_allclose(
            alone[column].to_numpy(), features[column].to_numpy(), rtol=1e-12, atol=0.0, err_msg=column
        )


@pytest.mark.parametrize("trend", [-1.0, 1.0, 0.0])
def test_extreme_kernels_match_talib_on_trends_and_plateaus(trend: float) -> None:
    """A steady fall (the highest leaves the window every bar: Aroon rescans every bar), a steady
    rise (the lowest does) and a series of plateaus (ties everywhere: the latest bar wins)."""
    talib = pytest.importorskip("talib", reason="TA-Lib (the `talib` package) is not installed")
    rng = np.random.default_rng(11)
    steps = np.full(600, trend) if trend else np.repeat(rng.integers(-2, 3, 60), 10).astype(float)
    high = 1000.0 + np.cumsum(steps) + rng.uniform(0.0, 0.5, 600) * (trend != 0.0)
    low = high - 1.0
    up, down, osc = np.empty(600), np.empty(600), np.empty(600)
    ek.aroon(high, low, 25, up, down)
    ek.aroon_osc(high, low, 25, osc)
    want_down, want_up = talib.AROON(high, low, 25)
    np.testing.assert_array_equal(up, want_up)
    np.testing.assert_array_equal(down, want_down)
    np.testing.assert_array_equal(osc, talib.AROONOSC(high, low, 25))
    upper, lower, middle = np.empty(600), np.empty(600), np.empty(600)
    ek.donchian(high, low, 20, upper, lower, middle)
    np.testing.assert_array_equal(upper, talib.MAX(high, 20))
    np.testing.assert_array_equal(lower, talib.MIN(low, 20))
    np.testing.assert_array_equal(middle, talib.MIDPRICE(high, low, 20))


def test_donchian_columns_warm_up_from_their_own_first_value() -> None:
    """Leading NaNs in one column only: each line starts at its own first full window, the
    midpoint where both have one, and a plain window scan agrees with the block pass everywhere."""
    rng = np.random.default_rng(12)
    high = 100.0 + np.cumsum(rng.normal(0.0, 1.0, 300))
    low = high - rng.uniform(0.0, 2.0, 300)
    high[:2] = np.nan
    low[:9] = np.nan
    upper, lower, middle = np.empty(300), np.empty(300), np.empty(300)
    ek.donchian(high, low, 7, upper, lower, middle)
    assert np.isnan(upper[:8]).all() and np.isnan(lower[:15]).all() and np.isnan(middle[:15]).all()
    np.testing.assert_array_equal(upper[8:], _windows(high[2:], 7).max(axis=1))
    np.testing.assert_array_equal(lower[15:], _windows(low[9:], 7).min(axis=1))
    np.testing.assert_array_equal(middle[15:], (upper[15:] + lower[15:]) * 0.5)
    np.testing.assert_array_equal(upper, rw.rolling_extreme(high, 7, is_max=True))
