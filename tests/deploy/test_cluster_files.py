"""deploy/k8s and deploy/helm: every YAML parses, every manifest has its required fields, every probe
(of the manifests and of the compose healthchecks) is a route of the real app it checks, and no secret
is written in a file."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from serving.app import create_app
from tests.deploy_support import (
    COMPOSE,
    DEPLOY,
    HELM_VALUES,
    K8S,
    REQUIRED_APP_ENV,
    SECRET_NAME,
    THIRD_PARTY_ENV,
    k8s_containers,
    load_all,
    load_yaml,
    settings_env_names,
)
from tests.serving_support import served_settings

_PORTS = {"8000": "api", "3000": "inference"}  # container port -> app, as the compose file runs them


def _manifests() -> Iterator[dict[str, Any]]:
    for path in sorted(K8S.glob("*.yaml")):
        yield from load_all(path)


@pytest.fixture(scope="module")
def api_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(served_settings(tmp_path_factory.mktemp("home")))) as client:
        yield client


@pytest.fixture(scope="module")
def bento_routes() -> set[str]:
    from serving.bento.service import TradeforgeInference

    return {getattr(route, "path", "") for route in TradeforgeInference.to_asgi(is_main=False).routes}


def test_every_yaml_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert {COMPOSE, HELM_VALUES, K8S / "api.yaml", K8S / "inference.yaml"} <= set(files)
    for path in files:
        assert load_all(path), path


def test_manifests_have_their_required_fields() -> None:
    kinds = []
    for doc in _manifests():
        assert {"apiVersion", "kind", "metadata"} <= doc.keys()
        assert doc["metadata"]["name"] and doc["metadata"]["namespace"] == "tradeforge"
        assert ("data" if doc["kind"] == "ConfigMap" else "spec") in doc, doc["metadata"]["name"]
        kinds.append((doc["kind"], doc["metadata"]["name"]))
    assert ("Deployment", "tradeforge-api") in kinds and ("Service", "tradeforge-api") in kinds
    assert ("Deployment", "tradeforge-inference") in kinds and ("Service", "tradeforge-inference") in kinds


def test_selectors_and_ports_match() -> None:
    docs = list(_manifests())
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    for d in deployments:
        assert (
            d["spec"]["selector"]["matchLabels"].items()
            <= d["spec"]["template"]["metadata"]["labels"].items()
        )
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        targets = [d for d in deployments if selector <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(targets) == 1, service["metadata"]["name"]
        ports = {p["name"] for c in targets[0]["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
    api = next(d for d in deployments if d["metadata"]["name"] == "tradeforge-api")
    assert api["spec"]["replicas"] >= 2


def _k8s_probes() -> Iterator[tuple[str, str, str]]:
    """(app, probe, path) of every HTTP probe of deploy/k8s."""
    for _, container in k8s_containers():
        app = {"api": "api", "inference": "inference"}.get(container["name"])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                yield str(app), probe, container[probe]["httpGet"]["path"]


def _compose_probes() -> Iterator[tuple[str, str]]:
    """(app, path) of every HTTP healthcheck of the compose file's api and inference services."""
    services = load_yaml(COMPOSE)["services"]
    for name in ("api", "inference"):
        for port, path in re.findall(
            r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", " ".join(services[name]["healthcheck"]["test"])
        ):
            yield _PORTS[port], path


def test_probes_are_routes_of_the_real_apps(api_client: TestClient[Any], bento_routes: set[str]) -> None:
    probes = [(app, path) for app, _, path in _k8s_probes()] + list(_compose_probes())
    assert {("api", "/health/live"), ("api", "/health/ready"), ("inference", "/readyz")} <= set(probes)
    for app, path in probes:
        if app == "api":
            assert api_client.get(path).status_code == 200, path
        else:
            assert path in bento_routes, path
    probe_kinds = {(app, probe) for app, probe, _ in _k8s_probes()}
    for app in ("api", "inference"):
        assert {(app, "livenessProbe"), (app, "readinessProbe")} <= probe_kinds


def test_containers_read_settings_and_their_secrets_from_the_secret(tmp_path: Path) -> None:
    known = settings_env_names(tmp_path / "home") | THIRD_PARTY_ENV.keys()
    config = next(d for d in _manifests() if d["kind"] == "ConfigMap")
    assert set(config["data"]) <= known
    data = config["data"]
    assert not [k for k in data if SECRET_NAME.search(k) or ("URL" in k and "@" in data[k])]
    for file, container in k8s_containers():
        env = {e["name"]: e for e in container.get("env", [])}
        assert set(env) <= known, file
        for name, entry in env.items():
            assert "secretKeyRef" in entry.get("valueFrom", {}), f"{file}: {name} must come from a Secret"
        if container["name"] == "api":
            assert set(env) | set(config["data"]) >= REQUIRED_APP_ENV


def test_helm_values_run_our_code_location_with_celery_and_rabbitmq() -> None:
    values = load_yaml(HELM_VALUES)
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["codeServerArgs"]
    module = args[args.index("--module-name") + 1]
    assert importlib.util.find_spec(module) is not None
    images = {c["image"].rsplit(":", 1)[0] for _, c in k8s_containers()}
    assert images == {deployment["image"]["repository"]}
    assert values["runLauncher"]["type"] in {"K8sRunLauncher", "CeleryK8sRunLauncher"}
    assert values["rabbitmq"]["enabled"] is True
    assert values["rabbitmq"]["rabbitmq"]["password"] == ""  # set at install, never in the file
    assert values["postgresql"]["postgresqlDatabase"] == "dagster"
    assert values["global"]["postgresqlSecretName"]
    for section in (deployment, values["dagsterDaemon"], values["runLauncher"]["config"]["k8sRunLauncher"]):
        assert {"name": "tradeforge-secrets"} in section["envSecrets"]
    workers = [c["command"] for _, c in k8s_containers() if c["name"] == "worker"]
    assert ["tradeforge", "dagster", "worker", "--queue", "gpu", "--concurrency", "1"] in workers
