"""Which home a command uses: TRADEFORGE_HOME, else the nearest .tradeforge/ at or above the working
directory, else the per-user data folder; a read finds nothing without creating a home, and says
which home it read and why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.settings import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No TRADEFORGE_HOME, the per-user folders under the test's temp folder, and a working directory
    with no .tradeforge/ in it or above it."""
    monkeypatch.delenv("TRADEFORGE_HOME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TRADEFORGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user" / "data"))
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    get_settings.cache_clear()
    yield work
    get_settings.cache_clear()


def test_a_subfolder_of_a_project_uses_the_project_home(nowhere: Path) -> None:
    project_home = nowhere.parent / ".tradeforge"
    project_home.mkdir()
    settings = Settings()
    assert settings.home == project_home
    assert f"the .tradeforge/ folder in {nowhere.parent}" in settings.home_origin
    assert not (nowhere / ".tradeforge").exists()


def test_the_working_directory_home_comes_first(nowhere: Path) -> None:
    (nowhere.parent / ".tradeforge").mkdir()
    (nowhere / ".tradeforge").mkdir()
    assert Settings().home == nowhere / ".tradeforge"


def test_with_no_home_anywhere_the_per_user_data_folder(nowhere: Path, tmp_path: Path) -> None:
    settings = Settings()
    assert settings.home == tmp_path / "user" / "data" / "tradeforge"
    assert "TRADEFORGE_HOME unset" in settings.home_origin
    assert "per-user data folder" in settings.home_origin


def test_the_environment_variable_wins(
    nowhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (nowhere / ".tradeforge").mkdir()
    monkeypatch.setenv("TRADEFORGE_HOME", str(tmp_path / "chosen"))
    settings = Settings()
    assert settings.home == tmp_path / "chosen"
    assert settings.home_origin == "from TRADEFORGE_HOME"


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["models", "list"], "No registered models in"),
        (["models", "list", "--json"], "No registered models in"),
        (["data", "list"], "No stored market data in"),
        (["datasets", "list"], "No uploaded datasets in"),
        (["users", "list"], "No users in"),
    ],
)
def test_a_read_in_an_empty_place_creates_nothing_and_names_the_home(
    nowhere: Path, tmp_path: Path, args: list[str], what: str
) -> None:
    before = _files(tmp_path)
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert _files(tmp_path) == before  # no .tradeforge/ in the working directory, nor a per-user one
    home = tmp_path / "user" / "data" / "tradeforge"
    assert f"{what} {home} (TRADEFORGE_HOME unset" in result.stderr
    if "--json" in args:
        assert json.loads(result.stdout) == {"models": [], "count": 0}


def test_query_without_a_home_says_which_home_and_creates_none(nowhere: Path, tmp_path: Path) -> None:
    before = _files(tmp_path)
    result = runner.invoke(app, ["query", "SELECT 1"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "no Tradeforge home at" in result.stderr and "TRADEFORGE_HOME unset" in result.stderr
    assert _files(tmp_path) == before


def test_config_shows_the_home_and_how_it_was_found(nowhere: Path) -> None:
    (nowhere.parent / ".tradeforge").mkdir()
    view = json.loads(runner.invoke(app, ["config", "--json"]).stdout)
    home = view["general"]["fields"]["home"]
    assert home["value"] == str(nowhere.parent / ".tradeforge")
    assert "above the working directory" in home["found_by"]
    text = runner.invoke(app, ["config"], env={"COLUMNS": "300"}).stdout
    assert text.splitlines()[0].startswith(f"home {nowhere.parent / '.tradeforge'} (TRADEFORGE_HOME unset")
