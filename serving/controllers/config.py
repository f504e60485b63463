"""/api/config: the caller's trading configuration (trading limits, DCA, ML and risk settings),
read whole and updated field by field."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, put

from serving.context import PrincipalDep
from serving.providers.trading_config import CONFIG, ConfigDep
from serving.responses import shaped, success
from serving.responses import status as s
from serving.schemas import doc
from serving.schemas import status_examples as ex
from serving.schemas.status_examples import ConfigPatchBody

__all__ = ["MAX_CONFIG_BODY", "ConfigController"]

MAX_CONFIG_BODY = 16 * 1024  # bytes; the whole configuration is well under 1 KiB

_FIELDS = (
    "Sections and fields: `trading` (enabled, max_position_size, daily_loss_limit, max_drawdown, "
    "kill_switch, allow_short), `dca` (enabled, max_attempts, base_volume, volume_scaling, step), "
    "`ml` (enabled, confidence_threshold, update_frequency), `risk` (safu_enabled, stop_loss, "
    "take_profit). Amounts are positive decimal strings; max_drawdown, step, stop_loss and take_profit "
    "fractions strictly between 0 and 1; max_attempts 0 to 50; volume_scaling 1 to 10; "
    "confidence_threshold 0 to 1; update_frequency a bar timeframe (1m ... 1mo). max_drawdown is the "
    "fall of the paper equity (cash plus open positions at their last price) below its peak at which "
    "new orders are refused."
)


class ConfigController(Controller):
    path = "/api/config"
    tags = ["config"]
    dependencies = CONFIG

    @get(
        summary="Your trading configuration: trading limits, DCA, ML and risk settings",
        description="The defaults until you first change a field. " + _FIELDS,
        responses=doc(ex.CONFIG, 401),
        sync_to_thread=True,
    )
    def get_config(self, config: ConfigDep, principal: PrincipalDep) -> s.ConfigAnswer:
        data = config.get(principal)
        return shaped(s.ConfigAnswer, success(data))

    @put(
        summary="Change fields of your trading configuration",
        description="Give only the sections and fields to change; the answer lists the fields whose "
        "value changed (one set to its current value is not listed). An unknown section or field, or "
        "a bad value, is 400 VALIDATION_ERROR naming each offending field in `details.errors`, and "
        "nothing is changed. Overlapping updates apply one after the other: the last one wins per "
        "field. " + _FIELDS,
        responses=doc(ex.CONFIG_UPDATED, 400, 401, 413),
        request_max_body_size=MAX_CONFIG_BODY,
        sync_to_thread=True,
    )
    def update_config(
        self, config: ConfigDep, principal: PrincipalDep, data: ConfigPatchBody
    ) -> s.ConfigUpdatedAnswer:
        updated = config.update(principal, data)
        answer: dict[str, Any] = {"message": "Configuration updated successfully", "updated_fields": updated}
        return shaped(s.ConfigUpdatedAnswer, success(answer))
