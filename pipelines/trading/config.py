"""A user's trading configuration: trading limits, DCA, ML and risk settings, each field validated.

``merge(current, patch)`` applies a partial update (the body of ``PUT /api/config``): unknown
sections or fields and bad values are refused together, each named by its dotted path, and nothing
is applied; a field set to the value it already has keeps its stored form and is not reported as
updated. ``risk_limits()`` and ``dca_settings()`` give the trading core its own frozen values
(``pipelines.trading.risk.RiskLimits``, ``pipelines.trading.dca.DcaSettings``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.trading.dca import DcaSettings
from pipelines.trading.risk import RiskLimits

__all__ = [
    "ConfigValidationError",
    "TradingConfig",
    "default_config",
    "merge",
]

# Amounts: positive, at most 18 digits with 8 decimals; fractions strictly between 0 and 1. Written
# as plain decimal strings ("1000", "0.0000001"), never in exponent notation.
_Plain = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")
Amount = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=8, allow_inf_nan=False), _Plain]
Fraction = Annotated[Decimal, Field(gt=0, lt=1, max_digits=12, decimal_places=8, allow_inf_nan=False), _Plain]


class ConfigValidationError(InvalidRequestError):
    """An update names an unknown section or field, or gives a bad value; ``details["errors"]``
    lists each problem as ``{"field": "<section>.<field>", "message": ...}``."""

    code = "VALIDATION_ERROR"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        super().__init__(f"invalid configuration: {summary}")
        self.details = {"errors": errors}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TradingSection(_Section):
    enabled: StrictBool = True
    max_position_size: Amount = Decimal("1000.00")
    daily_loss_limit: Amount = Decimal("100.00")
    max_drawdown: Fraction = Decimal("0.10")
    kill_switch: StrictBool = False
    allow_short: StrictBool = False


class DcaSection(_Section):
    enabled: StrictBool = True
    max_attempts: Annotated[StrictInt, Field(ge=0, le=50)] = 5
    base_volume: Amount = Decimal("100.00")
    volume_scaling: Annotated[float, Field(ge=1.0, le=10.0, allow_inf_nan=False)] = 1.5
    step: Fraction = Decimal("0.02")


class MlSection(_Section):
    enabled: StrictBool = True
    confidence_threshold: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.8
    update_frequency: Annotated[str, Field(max_length=8)] = "1h"

    @field_validator("update_frequency")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        return parse_timeframe(value).name  # raises a ValueError naming the valid timeframes


class RiskSection(_Section):
    safu_enabled: StrictBool = True
    stop_loss: Fraction = Decimal("0.05")
    take_profit: Fraction = Decimal("0.10")


class TradingConfig(_Section):
    """One user's configuration; the defaults are what a user without a stored one gets."""

    trading: TradingSection = TradingSection()
    dca: DcaSection = DcaSection()
    ml: MlSection = MlSection()
    risk: RiskSection = RiskSection()

    def as_json(self) -> dict[str, Any]:
        """The JSON form: amounts and fractions as decimal strings (what is stored and answered)."""
        return self.model_dump(mode="json")

    def risk_limits(self) -> RiskLimits:
        """The trading limits, and the default stop-loss/take-profit distances while SAFU is on."""
        t, safu = self.trading, self.risk.safu_enabled
        return RiskLimits(
            enabled=t.enabled,
            kill_switch=t.kill_switch,
            allow_short=t.allow_short,
            max_position_size=t.max_position_size,
            daily_loss_limit=t.daily_loss_limit,
            max_drawdown=t.max_drawdown,
            default_stop_loss=self.risk.stop_loss if safu else None,
            default_take_profit=self.risk.take_profit if safu else None,
        )

    def dca_settings(self) -> DcaSettings:
        d = self.dca
        return DcaSettings(
            enabled=d.enabled,
            max_attempts=d.max_attempts,
            base_volume=d.base_volume,
            volume_scaling=Decimal(str(d.volume_scaling)),
            step=d.step,
        )


SECTIONS: dict[str, type[_Section]] = {
    "trading": TradingSection,
    "dca": DcaSection,
    "ml": MlSection,
    "risk": RiskSection,
}


def default_config() -> TradingConfig:
    return TradingConfig()


def _unknown(patch: Any) -> list[dict[str, str]]:
    """The patch's shape errors: not an object, unknown sections, non-object sections, unknown fields."""
    if not isinstance(patch, dict):
        return [{"field": "", "message": "the body must be a JSON object of sections"}]
    errors = []
    for name, section in patch.items():
        model = SECTIONS.get(name)
        if model is None:
            known = ", ".join(SECTIONS)
            errors.append({"field": str(name)[:64], "message": f"unknown section; sections: {known}"})
        elif not isinstance(section, dict):
            errors.append({"field": name, "message": "a section must be a JSON object of fields"})
        else:
            for field in section:
                if field not in model.model_fields:
                    known = ", ".join(model.model_fields)
                    errors.append(
                        {"field": f"{name}.{str(field)[:64]}", "message": f"unknown field; fields: {known}"}
                    )
    return errors


def _messages(exc: ValidationError) -> list[dict[str, str]]:
    errors = []
    for item in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in item["loc"])
        errors.append({"field": path, "message": str(item["msg"])})
    return errors


def parse_config(data: dict[str, Any]) -> TradingConfig:
    """A stored configuration (its JSON form); fields it lacks get their defaults."""
    return TradingConfig.model_validate(data)


def merge(current: TradingConfig, patch: Any) -> tuple[TradingConfig, list[str]]:
    """``current`` with ``patch`` applied, and the dotted fields whose value changed (in the
    patch's order). Raises ``ConfigValidationError`` naming every bad field; nothing is applied."""
    errors = _unknown(patch)
    if errors:
        raise ConfigValidationError(errors)
    merged: dict[str, dict[str, Any]] = {}
    for name in SECTIONS:
        old = getattr(current, name).model_dump()
        merged[name] = {**old, **patch.get(name, {})}
    try:
        new = TradingConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigValidationError(_messages(exc)) from None
    updated: list[str] = []
    kept: dict[str, dict[str, Any]] = {}
    for name, section in patch.items():
        old_section, new_section = getattr(current, name), getattr(new, name)
        values = new_section.model_dump()
        for field in section:
            if getattr(old_section, field) == values[field]:
                values[field] = getattr(old_section, field)  # the same value keeps its stored form
            else:
                updated.append(f"{name}.{field}")
        kept[name] = values
    return new.model_copy(update={n: SECTIONS[n].model_validate(v) for n, v in kept.items()}), updated
