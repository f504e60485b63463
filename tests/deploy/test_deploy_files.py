"""deploy/compose.yaml, its .env.example, the Dockerfile and the Dagster instance of the compose stack:
valid against the Compose Specification's JSON schema (the copy check-jsonschema ships), every variable a
setting (or a known variable of another program), every dependency a service, no secret in a file."""

from __future__ import annotations

import copy
import json
import re
import shlex
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
from dagster import DagsterInstance
from dagster._core.instance.config import dagster_instance_config
from sqlalchemy import Engine

from tests.db.support import scratch_database
from tests.deploy_support import (
    COMPOSE,
    DEPLOY,
    ENV_EXAMPLE,
    INTERPOLATION,
    REQUIRED_APP_ENV,
    ROOT,
    SECRET_NAME,
    THIRD_PARTY_ENV,
    cli_commands,
    load_yaml,
    password_in_url,
    settings_env_names,
)

# The Compose Specification schema as check-jsonschema keeps it (its `vendor.compose-spec` builtin).
SCHEMA = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
OUR_DOCKERFILE = "deploy/Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


@pytest.fixture(scope="module")
def known_env(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return settings_env_names(tmp_path_factory.mktemp("home"))


def _ours(service: dict[str, Any]) -> bool:
    build = service.get("build")
    return isinstance(build, dict) and build.get("dockerfile") == OUR_DOCKERFILE


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in (service.get("environment") or {}).items()}


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    validator: jsonschema.protocols.Validator = jsonschema.validators.validator_for(schema)(schema)
    return validator


def test_compose_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in _validator().iter_errors(compose)]
    assert errors == []


def test_the_schema_rejects_what_compose_would(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["depends_on"] = {"postgres": {"condition": "service_ready"}}
    broken["services"]["api"]["healthcheck"]["intervall"] = "5s"
    messages = [e.message for e in _validator().iter_errors(broken)]
    # Each of the two mistakes is named (the 2020-12 schema may add a summary line for the service).
    assert any("service_ready" in m for m in messages), messages
    assert any("intervall" in m for m in messages), messages


def test_every_service_has_an_image_and_ours_are_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert all(s.get("image") or s.get("build") for s in services.values())
    ours = {name for name, s in services.items() if _ours(s)}
    assert {"api", "inference", "mlflow", "code-location", "dagster-worker-gpu", "job-worker"} <= ours
    for name in ours:
        assert (COMPOSE.parent / services[name]["build"]["context"] / OUR_DOCKERFILE).is_file(), name


def test_dependencies_exist_and_can_be_met(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy"
            if rule["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must run once"
    # Every Tradeforge process waits (directly or through another service) for the stores it needs.
    for name, service in services.items():
        if _ours(service) and name != "mlflow":
            assert {"postgres", "mlflow"} <= _waits_for(services, name), name


def _waits_for(services: dict[str, Any], name: str) -> set[str]:
    direct = set(services[name].get("depends_on") or {})
    return direct.union(*(_waits_for(services, target) for target in direct))


def test_every_variable_is_a_setting_or_a_known_one(compose: dict[str, Any], known_env: set[str]) -> None:
    unknown = {}
    for name, service in compose["services"].items():
        if _ours(service):
            for var in _env(service):
                if var not in known_env | THIRD_PARTY_ENV.keys():
                    unknown[var] = name
    assert unknown == {}
    api = _env(compose["services"]["api"])
    assert set(api) >= REQUIRED_APP_ENV
    assert "TRADEFORGE_TRUSTED_PROXIES" in api
    assert api["TRADEFORGE_INFERENCE_URL"] == "http://inference:3000"


def _secret_literals(env: dict[str, str]) -> list[str]:
    found = []
    for var, value in env.items():
        if SECRET_NAME.search(var) and value and not INTERPOLATION.match(value):
            found.append(var)
        password = password_in_url(value)
        if password is not None and not INTERPOLATION.match(password):
            found.append(var)
    return found


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    leaks = {name: _secret_literals(_env(s)) for name, s in compose["services"].items()}
    assert {name: vars_ for name, vars_ in leaks.items() if vars_} == {}
    # The checker finds what it is for.
    assert _secret_literals({"POSTGRES_PASSWORD": "hunter2"}) == ["POSTGRES_PASSWORD"]
    assert _secret_literals({"URL": "amqp://u:hunter2@rabbitmq:5672//"}) == ["URL"]
    assert _secret_literals({"URL": "amqp://u:${RABBITMQ_PASSWORD}@rabbitmq:5672//"}) == []


def _example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def test_env_example_names_every_variable_and_holds_no_secret() -> None:
    example = _example()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    assert used - example.keys() == set()
    secrets = {k: v for k, v in example.items() if SECRET_NAME.search(k)}
    assert secrets and all(v == "" for v in secrets.values()), secrets
    # Variables without a default in compose must be set: compose refuses to start without them.
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE.read_text()))
    assert set(secrets) <= required
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/.env" in ignored


def test_commands_are_real(compose: dict[str, Any]) -> None:
    commands = cli_commands()
    groups = {c[0] for c in commands if len(c) == 2}
    used = []
    for service in compose["services"].values():
        command = service.get("command")
        if _ours(service) and command:
            words = shlex.split(command[-1]) if command[0] == "sh" else list(command)
            words = words[1:] if words[0] == "exec" else words
            if words[0] == "tradeforge":
                used.append(tuple(words[1:3]) if words[1] in groups else tuple(words[1:2]))
    assert ("serve",) in used
    assert [path for path in used if path not in commands] == []


def test_the_dockerfile_installs_the_package() -> None:
    text = (ROOT / OUR_DOCKERFILE).read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert re.search(r"pip install \"?\.(\[[a-z,]+\])?\"?$", text, re.MULTILINE)
    for source in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
        for item in source.split():
            assert (ROOT / item).exists(), item


def test_the_dagster_instance_is_valid_and_reaches_the_code_location(compose: dict[str, Any]) -> None:
    config, _ = dagster_instance_config(str(DEPLOY / "compose"), "dagster.yaml")
    assert "postgres" in config["storage"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    grpc = load_yaml(DEPLOY / "compose" / "workspace.yaml")["load_from"][0]["grpc_server"]
    command = compose["services"][grpc["host"]]["command"]
    assert command[command.index("--port") + 1] == str(grpc["port"])
    assert command[command.index("--module-name") + 1] == "assets.definitions"
    mounted = compose["services"]["dagster-webserver"]["volumes"]
    assert "./compose/dagster.yaml:/opt/dagster/instance/dagster.yaml:ro" in mounted
    assert _env(compose["services"]["dagster-daemon"])["DAGSTER_HOME"] == "/opt/dagster/instance"


@pytest.mark.postgres
def test_the_dagster_instance_opens_on_postgresql(pg_server: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with scratch_database(pg_server) as url:
        # The driver dagster-postgres is written for, as the compose file names it.
        monkeypatch.setenv("TRADEFORGE_DAGSTER_PG_URL", url.replace("+psycopg:", "+psycopg2:", 1))
        instance = DagsterInstance.from_config(str(DEPLOY / "compose"))
        try:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            assert instance.get_runs() == []
        finally:
            instance.dispose()


def test_the_gpu_worker_reserves_a_gpu_and_takes_the_gpu_queue(compose: dict[str, Any]) -> None:
    gpu = compose["services"]["dagster-worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert gpu["command"][gpu["command"].index("--queue") + 1] == "gpu"
