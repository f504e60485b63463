"""Imports point one way: assets/ and serving/ use pipelines/, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("dagster", "litestar", "bentoml", "assets", "serving")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_pipelines_imports_no_front_end() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_modules(p) & set(FORBIDDEN))
        for p in (ROOT / "pipelines").rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_checker_sees_imports() -> None:
    sample = ROOT / "assets" / "definitions.py"
    assert {"dagster", "pipelines"} <= imported_modules(sample)


def test_mlflow_folder_never_shadows_the_library() -> None:
    assert not (ROOT / "mlflow" / "__init__.py").exists()
