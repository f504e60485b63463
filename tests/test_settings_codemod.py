"""scripts/settings_codemod.py: clear settings accesses move into their group, once; nothing else moves."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from pipelines.settings import field_groups

# settings-codemod: skip (the samples below must stay flat when the codemod runs over tests/)
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "settings_codemod.py"

BEFORE = """\
from pipelines.data.universe import default_universe
import pipelines.data

def f(settings, services, request, context, self):
    a = settings.history_start
    b = self.settings.live_speed + services.settings.max_bars_per_request
    c = context.resources.tradeforge.universe
    d = request.default_tier  # not a settings object
    e = pipelines.data.universe
    small = Settings(home=home, dataset_max_upload_mb=1)
    g = small.dataset_max_upload_mb
    copy = settings.model_copy(update={"ws_queue_size": 4})
    h = copy.ws_queue_size, settings.home, settings.data.history_start
    monkeypatch.setattr(settings, "live_speed", 2.0)
    i = getattr(s, 'history_start'), getattr(settings, "home"), getattr(request, "default_tier")
    return f"{settings.result_files_days} days"
"""

AFTER = """\
from pipelines.data.universe import default_universe
import pipelines.data

def f(settings, services, request, context, self):
    a = settings.data.history_start
    b = self.settings.live.live_speed + services.settings.limits.max_bars_per_request
    c = context.resources.tradeforge.data.universe
    d = request.default_tier  # not a settings object
    e = pipelines.data.universe
    small = Settings(home=home, dataset_max_upload_mb=1)
    g = small.uploads.dataset_max_upload_mb
    copy = settings.model_copy(update={"ws_queue_size": 4})
    h = copy.live.ws_queue_size, settings.home, settings.data.history_start
    monkeypatch.setattr(settings.live, "live_speed", 2.0)
    i = getattr(s.data, 'history_start'), getattr(settings, "home"), getattr(request, "default_tier")
    return f"{settings.jobs.result_files_days} days"
"""


@pytest.fixture(scope="module")
def codemod() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_codemod", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_name_pass_moves_clear_accesses_only(codemod: ModuleType) -> None:
    rewritten, count = codemod.rewrite_by_name(BEFORE, field_groups())
    assert rewritten == AFTER
    assert count == 9


def test_name_pass_is_idempotent(codemod: ModuleType) -> None:
    assert codemod.rewrite_by_name(AFTER, field_groups()) == (AFTER, 0)


def test_names_bound_to_a_settings_factory_are_receivers(codemod: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    helper = (
        "def served_settings(home: Path, **overrides: Any) -> Settings:\n    return Settings(home=home)\n"
    )
    (tmp_path / "tests" / "support.py").write_text(helper)
    factories = codemod.factories_in(tmp_path)
    assert factories == {"Settings", "get_settings", "served_settings"}
    text = "cfg = served_settings(home, live_speed=2.0)\nx = cfg.live_speed, other.live_speed\n"
    rewritten, count = codemod.rewrite_by_name(text, field_groups(), factories)
    assert (
        rewritten
        == "cfg = served_settings(home, live_speed=2.0)\nx = cfg.live.live_speed, other.live_speed\n"
    )
    assert count == 1
    assert codemod.rewrite_by_name(text, field_groups()) == (text, 0)  # unknown factory: left alone


def test_mypy_errors_rewrite_the_access_they_point_at(codemod: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "pkg" / "mod.py"
    source.parent.mkdir()
    source.write_text("cfg = load()\nx = other.live_speed + cfg.live_speed + cfg.data.history_start\n")
    output = (
        'pkg/mod.py:2:24: error: "Settings" has no attribute "live_speed"  [attr-defined]\n'
        'pkg/mod.py:2:5: error: "Other" has no attribute "live_speed"  [attr-defined]\n'
    )
    changed, unknown = codemod.apply_mypy_errors(tmp_path, output, field_groups())
    assert changed == [source]
    assert unknown == []
    expected = "x = other.live_speed + cfg.live.live_speed + cfg.data.history_start\n"
    assert source.read_text() == "cfg = load()\n" + expected
