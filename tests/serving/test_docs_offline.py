"""Swagger UI and ReDoc work without internet: their pages load scripts, styles and icons only from
this app, which serves them from the installed ``openapi-ui-bundles`` package."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from openapi_ui_bundles import redoc, swagger_ui

from serving.app import create_app
from tests.serving_support import served_settings, uvicorn_thread

PAGES = ("/docs", "/redoc", "/schema/swagger", "/schema/redoc")
_PACKAGE_DIRS = {"/docs/static/swagger-ui/": swagger_ui.static_path, "/docs/static/redoc/": redoc.static_path}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
_URL = re.compile(r"https?://[^\s\"'<>)\\]+")
_CDNS = ("jsdelivr", "unpkg", "redoc.ly", "googleapis", "cdnjs", "swagger.io")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return create_app(served_settings(tmp_path_factory.mktemp("docs") / "home"))


def _package_file(url: str) -> Path:
    prefix = next(p for p in _PACKAGE_DIRS if url.startswith(p))
    return Path(_PACKAGE_DIRS[prefix]) / url.removeprefix(prefix)


def test_docs_pages_load_their_assets_from_this_app_only(app: Litestar) -> None:
    with TestClient(app) as c:
        schema_urls = set(_URL.findall(c.get("/openapi.json").text))
        assets: set[str] = set()
        for page in PAGES:
            html = c.get(page).text
            assert not [cdn for cdn in _CDNS if cdn in html], page
            # Any absolute URL on the page is one of the schema's own examples, none of the template.
            assert set(_URL.findall(html)) <= schema_urls, page
            refs = re.findall(r"(?:src|href)=[\"']([^\"']+)", html)
            assert len(refs) >= 2 and all(ref.startswith("/docs/static/") for ref in refs), (page, refs)
            assets.update(refs)
        assert {Path(a).suffix for a in assets} == set(_TYPES), assets
        for asset in sorted(assets):
            answer = c.get(asset)
            assert answer.status_code == 200, asset
            assert answer.headers["content-type"].startswith(_TYPES[Path(asset).suffix]), asset
            assert "x-ratelimit-limit" not in answer.headers, asset
            assert answer.content == _package_file(asset).read_bytes(), asset
        assert c.get("/docs/static/redoc/missing.js").status_code == 404


def _dom(port: int, page: str, profile: Path) -> str:
    """``page`` as headless Chromium renders it, every host but this one unreachable (dead proxy)."""
    done = subprocess.run(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"http://127.0.0.1:{port}{page}",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium on PATH to render the docs")
def test_docs_render_in_a_browser_without_internet(app: Litestar, tmp_path: Path) -> None:
    operations = sum(len(ops) for ops in app.openapi_schema.to_schema()["paths"].values())
    with uvicorn_thread(app) as port:
        swagger = _dom(port, "/docs", tmp_path / "swagger")
        redoc_dom = _dom(port, "/redoc", tmp_path / "redoc")
    # Swagger UI lists every operation, the prediction route among them.
    assert swagger.count('class="opblock ') == operations
    assert 'data-path="/api/v1/predict"' in swagger
    # ReDoc draws its layout and one section per operation.
    assert "redoc-wrap" in redoc_dom
    assert len(set(re.findall(r'data-section-id="operation/[^"]+"', redoc_dom))) == operations
    assert ">/api/v1/predict<" in redoc_dom
