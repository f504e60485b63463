"""``tradeforge config``: the settings in effect, group by group, each with its variable and meaning."""

from __future__ import annotations

import json
from typing import Any

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python
from rich.markup import escape
from rich.table import Table

from pipelines.cli._common import JsonOpt, app, emit_json, out
from pipelines.redaction import MASK, redact_url
from pipelines.settings import Settings, SettingsGroup, get_settings

__all__ = ["config", "settings_view"]

GENERAL = "general"  # the heading of the cross-cutting fields that belong to no group
_SECRETS = frozenset({"secret_key", "encryption_key", "metrics_token"})
_URLS = frozenset(
    {
        "database_url",
        "redis_url",
        "mlflow_tracking_uri",
        "job_broker_url",
        "dagster_pg_url",
        "dagster_celery_broker_url",
        "dagster_celery_backend_url",
    }
)


def _env_name(name: str, info: FieldInfo) -> str:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


def _shown(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _SECRETS:
        return MASK
    if name in _URLS:
        return redact_url(str(value))
    return to_jsonable_python(value)


def _fields(model: Any, fields: dict[str, FieldInfo]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "value": _shown(name, getattr(model, name)),
            "env": _env_name(name, info),
            "description": info.description or "",
        }
        for name, info in fields.items()
    }


def settings_view(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each group (cross-cutting fields first, under ``general``): its description and fields, each
    field's value (secrets masked, URL passwords removed), environment variable and description; the
    home also says how it was found (``found_by``)."""
    general = {
        n: i for n, i in Settings.model_fields.items() if not isinstance(getattr(settings, n), SettingsGroup)
    }
    description = "Where everything is stored, and the shared services and keys."
    fields = _fields(settings, general)
    fields["home"]["found_by"] = settings.home_origin
    view: dict[str, dict[str, Any]] = {GENERAL: {"description": description, "fields": fields}}
    for name, info in Settings.model_fields.items():
        group = getattr(settings, name)
        if isinstance(group, SettingsGroup):
            view[name] = {
                "description": info.description or "",
                "fields": _fields(group, type(group).model_fields),
            }
    return view


def _text(value: Any) -> str:
    if value is None:
        return "unset"
    return value if isinstance(value, str) else json.dumps(value)


@app.command()
def config(as_json: JsonOpt = False) -> None:
    """Show the home and how it was found, then the settings in effect, group by group: value,
    variable and meaning (secrets masked)."""
    settings = get_settings()
    view = settings_view(settings)
    if as_json:
        emit_json(view)
        return
    out.print(f"[bold]home[/] {escape(f'{settings.home} ({settings.home_origin})')}", highlight=False)
    for group, body in view.items():
        table = Table(title=f"{group}: {body['description']}", title_justify="left")
        for column in ("field", "value", "variable", "meaning"):
            table.add_column(column, overflow="fold")
        for name, field in body["fields"].items():
            table.add_row(name, _text(field["value"]), field["env"], field["description"])
        out.print(table)
