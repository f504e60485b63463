"""Every command's help reads as the user types it: flags are plain switches, no RST markup,
and the walk-forward help names both training-window modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def _paths(command: object, path: list[str]) -> Iterator[list[str]]:
    yield path
    subcommands: dict[str, object] = getattr(command, "commands", {})
    for name, sub in subcommands.items():
        yield from _paths(sub, [*path, name])


COMMANDS = list(_paths(get_command(app), []))


def _help(path: list[str]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"walk-forward", "users list", "models list", "data list"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "root")
def test_help_shows_flags_as_switches_without_markup(path: list[str]) -> None:
    text = _help(path)
    assert "--help" in text
    assert "<bool>" not in text
    assert "``" not in text


def test_json_flag_is_a_plain_switch() -> None:
    lines = [line for line in _help(["users", "list"]).splitlines() if "--json" in line]
    assert lines
    assert "<" not in lines[0]


def test_walk_forward_help_describes_both_modes() -> None:
    summary = _help(["walk-forward"]).split("Options")[0]
    assert "rolling" in summary
    assert "expanding" in summary
