"""The trading configuration's domain: validation, merge's changed fields, the core's helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelines.trading.config import ConfigValidationError, default_config, merge
from pipelines.trading.dca import DcaSettings
from pipelines.trading.risk import RiskLimits


def test_merge_reports_only_changed_fields_and_keeps_stored_form() -> None:
    current = default_config()
    new, updated = merge(current, {"trading": {"max_position_size": "1000", "allow_short": True}})
    assert updated == ["trading.allow_short"]
    assert new.as_json()["trading"]["max_position_size"] == "1000.00"  # equal value: unchanged
    assert current.trading.allow_short is False  # the input is never modified


def test_merge_names_every_bad_field_and_refuses_unknown_ones() -> None:
    with pytest.raises(ConfigValidationError) as bad:
        merge(default_config(), {"dca": {"max_attempts": -1, "step": "0"}, "risk": {"stop_loss": "1"}})
    assert [e["field"] for e in bad.value.details["errors"]] == [
        "dca.max_attempts",
        "dca.step",
        "risk.stop_loss",
    ]
    with pytest.raises(ConfigValidationError, match="unknown field"):
        merge(default_config(), {"ml": {"model": "x"}})
    with pytest.raises(ConfigValidationError, match="unknown section"):
        merge(default_config(), {"broker": {}})


def test_risk_limits_and_dca_settings_are_plain_decimals() -> None:
    config, _ = merge(default_config(), {"dca": {"volume_scaling": 2.25, "step": "0.015"}})
    assert config.risk_limits() == RiskLimits(
        enabled=True,
        kill_switch=False,
        allow_short=False,
        max_position_size=Decimal("1000.00"),
        daily_loss_limit=Decimal("100.00"),
        max_drawdown=Decimal("0.10"),
        default_stop_loss=Decimal("0.05"),
        default_take_profit=Decimal("0.10"),
    )
    off, _ = merge(config, {"risk": {"safu_enabled": False}})
    assert (off.risk_limits().default_stop_loss, off.risk_limits().default_take_profit) == (None, None)
    assert config.dca_settings() == DcaSettings(
        enabled=True,
        max_attempts=5,
        base_volume=Decimal("100.00"),
        volume_scaling=Decimal("2.25"),
        step=Decimal("0.015"),
    )


def test_decimals_are_written_without_exponents() -> None:
    new, _ = merge(default_config(), {"trading": {"max_position_size": "2E+3"}, "dca": {"step": "1E-7"}})
    assert new.as_json()["trading"]["max_position_size"] == "2000"
    assert new.as_json()["dca"]["step"] == "0.0000001"
