"""Imports point one way: assets/ and serving/ use pipelines/, never the reverse; the layers inside
pipelines/ are import-linter contracts (pyproject.toml), checked here and by ``make lint``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_every_layer_contract_is_kept() -> None:
    run = _lint_imports()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_a_broken_contract_is_reported(tmp_path: Path) -> None:
    """The checker really reads imports: a contract the code breaks (the CLI imports the database
    layer) is reported as broken."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["pipelines"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "probe"\ntype = "forbidden"\n'
        'source_modules = ["pipelines.cli"]\nforbidden_modules = ["pipelines.db"]\n'
    )
    run = _lint_imports("--config", str(config))
    assert run.returncode == 1 and "BROKEN" in run.stdout, run.stdout[-2000:]


def test_mlflow_folder_never_shadows_the_library() -> None:
    assert not (ROOT / "mlflow" / "__init__.py").exists()
