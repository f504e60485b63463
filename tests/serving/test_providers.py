"""Handlers receive their controller family's provider, never the app container, and never reach
the database themselves; the caller is resolved after the provider (no per-request task group)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.di import Provide

from serving.app import create_app
from serving.providers.wiring import provides
from tests.serving_support import served_settings

CONTROLLERS = Path(__file__).resolve().parents[2] / "serving" / "controllers"
FAMILY_PROVIDERS = {"accounts", "models", "analysis", "jobs", "datasets", "webhooks", "monitoring"}


def _handlers(app: Litestar) -> list[Any]:
    handlers: list[Any] = []
    for route in app.routes:
        several = getattr(route, "route_handlers", None)
        handlers += several if several is not None else [route.route_handler]  # type: ignore[attr-defined]
    return handlers


def test_no_handler_takes_the_container_or_the_database(tmp_path: Path) -> None:
    app = create_app(served_settings(tmp_path / "home"))
    handlers = _handlers(app)
    assert len(handlers) > 50
    for handler in handlers:
        names = set(handler.parsed_fn_signature.parameters)
        assert not names & {"services", "container", "database"}, handler
        provided = names & (FAMILY_PROVIDERS | {"health", "feeds"})
        assert len(provided) <= 1, (handler, provided)  # one provider per handler, its family's


def test_controllers_never_open_a_transaction() -> None:
    for path in CONTROLLERS.glob("*.py"):
        tree = ast.parse(path.read_text())
        attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert not attributes & {"database", "transaction", "session"}, path.name


def test_the_principal_of_every_family_waits_for_its_provider(tmp_path: Path) -> None:
    app = create_app(served_settings(tmp_path / "home"))
    checked = 0
    for handler in _handlers(app):
        dependencies = handler.resolve_dependencies()
        family = set(dependencies) & FAMILY_PROVIDERS
        if "principal" not in handler.parsed_fn_signature.parameters or not family:
            continue
        principal: Provide = dependencies["principal"]
        assert family <= set(inspect.signature(principal.dependency).parameters), handler
        checked += 1
    assert checked > 30


def test_provides_names_the_provider_and_the_chained_principal() -> None:
    def provider(state: Any) -> str:
        return "p"

    def principal(thing: str, request: Any) -> Any:
        return None

    dependencies = provides("thing", provider, principal)
    assert set(dependencies) == {"thing", "principal"}
    assert dependencies["thing"].dependency is provider
    assert dependencies["principal"].dependency is principal
