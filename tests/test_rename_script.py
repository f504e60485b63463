"""scripts/rename_modules.py: old module paths and names move to the new ones, once; nothing else moves."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

# rename-modules: skip (the samples below must keep the old names when the script runs over tests/)
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "rename_modules.py"

BEFORE = """\
import pipelines.data.service
import pipelines.data.services
from pipelines.data.service import check_dataset, load_bars
from pipelines.data.catalog import Catalog
from pipelines.features import registry
from pipelines.models import dataset as training, registry as models
from pipelines.jobs import (
    queue,
    registry as kinds,
)
from pipelines.prediction import PredictionService, ModelCatalog

x = registry.get_indicator("sma")
y = pipelines.data.service.ensure_bars
z = models.ModelRegistry, models.registry
monkeypatch.setattr("pipelines.models.dataset.make_dataset", fake)
monkeypatch.setattr("pipelines.models.datasets.make_dataset_x", fake)
catalog = Catalog(settings)
metric_catalog = my.registry
app.predictions.catalog.summaries()
contract = "pipelines.features.registry | pipelines.datasets"
see = "pipelines/webhooks/service.py, pipelines/webhooks/services.py"
"""

AFTER = """\
import pipelines.data.stored_bars
import pipelines.data.services
from pipelines.data.stored_bars import check_stored_bars, load_bars
from pipelines.data.warehouse import Warehouse
from pipelines.features import indicators
from pipelines.models import training_matrix as training, registry as models
from pipelines.jobs import (
    queue,
    task_kinds as kinds,
)
from pipelines.prediction import Predictor, ModelResolver

x = indicators.get_indicator("sma")
y = pipelines.data.stored_bars.ensure_bars
z = models.ModelRegistry, models.registry
monkeypatch.setattr("pipelines.models.training_matrix.make_training_data", fake)
monkeypatch.setattr("pipelines.models.datasets.make_dataset_x", fake)
catalog = Warehouse(settings)
metric_catalog = my.registry
app.predictions.resolver.summaries()
contract = "pipelines.features.indicators | pipelines.datasets"
see = "pipelines/webhooks/subscriptions.py, pipelines/webhooks/services.py"
"""


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rename_modules", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its own module up while it is defined
    spec.loader.exec_module(module)
    return module


def test_rewrites_every_import_form_and_string_exactly(script: ModuleType) -> None:
    assert script.rewrite(BEFORE) == AFTER


def test_rewriting_twice_changes_nothing(script: ModuleType) -> None:
    once = script.rewrite(BEFORE)
    assert script.rewrite(once) == once


def test_relative_imports_move_only_inside_their_package(script: ModuleType) -> None:
    text = "from .service import Predictor\nfrom .services import x\n# see service.py\n"
    assert script.rewrite(text, "pipelines.prediction") == (
        "from .predictor import Predictor\nfrom .services import x\n# see predictor.py\n"
    )
    assert script.rewrite(text, "pipelines.models") == text


def test_self_attribute_is_renamed_only_in_its_own_package(script: ModuleType) -> None:
    text = "self.catalog.resolve(m)\n"
    assert script.rewrite(text, "pipelines.prediction") == "self.resolver.resolve(m)\n"
    assert script.rewrite(text, "pipelines.app") == text


def test_no_new_name_contains_an_old_one(script: ModuleType) -> None:
    """Otherwise a second run would rewrite what the first one wrote."""
    for new in [*script.MODULES.values(), *script.NAMES.values()]:
        assert script.rewrite(new) == new


def _tree(root: Path) -> None:
    for package in ("pipelines", "pipelines/data", "pipelines/jobs"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    (root / "pipelines/data/catalog.py").write_text("class Catalog:\n    pass\n")
    (root / "pipelines/jobs/registry.py").write_text("class TaskRegistry:\n    pass\n")
    (root / "pipelines/data/ingest.py").write_text(
        "from pipelines.jobs.registry import TaskRegistry\nfrom pipelines.data.catalog import Catalog\n"
    )
    (root / "README.md").write_text("See pipelines/data/catalog.py and `Catalog.resample`.\n")
    (root / "pyproject.toml").write_text('layers = ["pipelines.jobs.registry"]\n')


def test_moves_files_rewrites_a_tree_and_a_second_run_finds_nothing(tmp_path: Path) -> None:
    _tree(tmp_path)
    command = [sys.executable, str(SCRIPT), "--no-format", str(tmp_path)]
    first = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert first.returncode == 0, first.stderr
    assert not (tmp_path / "pipelines/data/catalog.py").exists()
    assert (tmp_path / "pipelines/data/warehouse.py").read_text() == "class Warehouse:\n    pass\n"
    assert (tmp_path / "pipelines/jobs/task_kinds.py").read_text() == "class TaskKinds:\n    pass\n"
    assert (tmp_path / "pipelines/data/ingest.py").read_text() == (
        "from pipelines.jobs.task_kinds import TaskKinds\nfrom pipelines.data.warehouse import Warehouse\n"
    )
    assert (
        tmp_path / "README.md"
    ).read_text() == "See pipelines/data/warehouse.py and `Warehouse.resample`.\n"
    assert (tmp_path / "pyproject.toml").read_text() == 'layers = ["pipelines.jobs.task_kinds"]\n'
    snapshot = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    check = subprocess.run([*command, "--check"], capture_output=True, text=True, check=False, timeout=120)
    assert check.returncode == 0, check.stdout
    again = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert again.returncode == 0 and again.stdout == ""
    assert {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()} == snapshot


def test_check_reports_a_tree_with_old_names_and_changes_nothing(tmp_path: Path) -> None:
    _tree(tmp_path)
    before = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 1
    assert "would move pipelines.data.catalog -> pipelines.data.warehouse" in run.stdout
    assert {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_both_old_and_new_module_present_is_a_conflict(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "pipelines/data/warehouse.py").write_text("class Warehouse:\n    pass\n")
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--no-format", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "both pipelines/data/catalog.py and pipelines/data/warehouse.py exist" in run.stderr
    assert (tmp_path / "pipelines/data/catalog.py").exists()


def test_this_tree_uses_no_old_name() -> None:
    """The repository itself is already rewritten: a merge that brings an old path back fails here
    until the script is re-run."""
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:]
