"""Move flat settings accesses into groups: ``settings.history_start`` -> ``settings.data.history_start``.

Re-runnable and idempotent: an access already in its group is left alone, so it is safe on a tree where
some accesses were migrated and others (from other branches) were not. Two passes:

1. By name, in every Python file under pipelines/, serving/, assets/, tests/ and benchmarks/: an access
   ``<receiver>.<field>`` whose receiver clearly is a Settings object (``settings``, ``self.settings``,
   ``services.settings``, ``context.resources.tradeforge``, ``get_settings()``, ``s``, and names the
   file binds to ``Settings(...)``, ``get_settings()``, a call of any function of the tree declared
   ``-> Settings`` (fixtures, test helpers) or ``<settings>.model_copy(...)``, or annotates
   ``: Settings``), where ``<field>`` is a field of a settings group; likewise the receiver of
   ``getattr``/``setattr``/``hasattr``/``delattr(<receiver>, "<field>", ...)``.
2. By type, with mypy: every ``"Settings" has no attribute "X"`` error whose X is a group field gets
   the first ``.X`` at the error's line and column rewritten to ``.group.X``; repeated until mypy
   reports none (mypy checks pipelines/, serving/ and assets/).

Files it changed are then formatted with ``ruff format`` (rewritten lines grow); lines still too long
(docstrings, f-strings) are listed for a hand edit.
The field -> group table comes from ``pipelines.settings.field_groups()`` of the tree being rewritten.
``model_copy(update={"flat_name": ...})`` and flat keyword arguments need no rewrite: Settings maps
them into their groups itself.

Usage, from the repository root:
    PYTHONPATH=. /work/main/.venv/bin/python scripts/settings_codemod.py [--no-mypy] [--no-format] [--check]
``--check`` changes nothing and exits 1 when something would be rewritten by the name pass.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

FOLDERS = ("pipelines", "serving", "assets", "tests", "benchmarks")
SKIP_MARKER = "settings-codemod: skip"  # a file holding this text (the codemod's own test) is left alone
MAX_MYPY_ROUNDS = 6
# Receivers that are a Settings object wherever they appear; the lookbehind keeps ``x.s`` or
# ``limits.settings`` fragments out, and a dotted chain may lead to ``settings`` or ``resources.tradeforge``.
_KNOWN_RECEIVERS = (
    r"(?:[A-Za-z_]\w*\.)*_?settings",
    r"trained_settings",
    r"trained_home",
    r"(?:[A-Za-z_]\w*\.)*resources\.tradeforge",
    r"get_settings\(\)",
    r"s",
)
BASE_FACTORIES = frozenset({"Settings", "get_settings"})
# A function declared to return a Settings (a fixture, a helper): ``def served_settings(...) -> Settings:``.
_FACTORY = re.compile(r"\bdef\s+(?P<name>\w+)\s*\((?:[^()]|\([^()]*\))*\)\s*->\s*[\"']?Settings[\"']?\s*:")
_ANNOTATED = re.compile(r"(?<![\w.])(?P<name>[A-Za-z_]\w*)\s*:\s*(?:\"Settings\"|Settings)\b(?!\w)")
_MYPY_ERROR = re.compile(
    r"^(?P<path>[^:\n]+\.py):(?P<line>\d+):(?P<col>\d+): error: "
    r"(?:Item )?\"Settings\"(?: of \"[^\"]*\")? has no attribute \"(?P<attr>\w+)\""
)


def load_field_groups(root: Path) -> dict[str, str]:
    """The tree's own field -> group table (imported from ``root``, not from an installed copy)."""
    sys.path.insert(0, str(root))
    from pipelines.settings import field_groups  # the tree being rewritten, found only at run time

    return field_groups()


def factories_in(root: Path) -> frozenset[str]:
    """``Settings``, ``get_settings`` and every function of the tree declared to return a Settings."""
    found = {
        m["name"]
        for folder in FOLDERS
        for path in (root / folder).rglob("*.py")
        for m in _FACTORY.finditer(path.read_text())
    }
    return BASE_FACTORIES | found


def receivers_of(text: str, factories: frozenset[str] = BASE_FACTORIES) -> list[str]:
    """Receiver patterns for one file: the known ones and the names the file binds to a Settings
    (``x = Settings(...)``, ``x = <factory>(...)``, ``x = settings.model_copy(...)``, ``x: Settings``)."""
    calls = "|".join(re.escape(name) for name in sorted(factories))
    binding = re.compile(
        rf"(?<![\w.])(?P<name>[A-Za-z_]\w*)\s*(?::\s*Settings\s*)?=\s*(?:(?:{calls})\(|"
        r"(?:[A-Za-z_]\w*\.)*(?:_?settings|trained_home|trained_settings)\.model_copy\()"
    )
    names = {m.group("name") for m in binding.finditer(text)}
    names |= {m.group("name") for m in _ANNOTATED.finditer(text)}
    names -= {"self", "cls"}
    return [*_KNOWN_RECEIVERS, *(re.escape(name) for name in sorted(names))]


def rewrite_by_name(
    text: str, groups: dict[str, str], factories: frozenset[str] = BASE_FACTORIES
) -> tuple[str, int]:
    """``text`` with every clear settings access moved into its group, and how many were moved."""
    fields = "|".join(sorted(groups, key=len, reverse=True))
    receiver = "|".join(receivers_of(text, factories))
    pattern = re.compile(rf"(?<![\w.])(?P<recv>{receiver})\.(?P<attr>{fields})\b(?!\s*\()")

    def grouped(m: re.Match[str]) -> str:
        return f"{m['recv']}.{groups[m['attr']]}.{m['attr']}"

    def grouped_receiver(m: re.Match[str]) -> str:
        return f"{m['call']}{m['recv']}.{groups[m['attr']]}{m['rest']}"

    text, moved = pattern.subn(grouped, text)
    # getattr/setattr/hasattr/delattr(settings, "field", ...), monkeypatch.setattr(settings, "field", ...)
    by_string = re.compile(
        rf"\b(?P<call>(?:get|set|has|del)attr\(\s*)(?P<recv>(?<![\w.])(?:{receiver}))"
        rf"(?P<rest>\s*,\s*(?P<quote>[\"'])(?P<attr>{fields})(?P=quote))"
    )
    text, named = by_string.subn(grouped_receiver, text)
    return text, moved + named


def name_pass(root: Path, groups: dict[str, str], *, write: bool) -> list[Path]:
    changed: list[Path] = []
    factories = factories_in(root)
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            text = path.read_text()
            if SKIP_MARKER in text:
                continue
            new, count = rewrite_by_name(text, groups, factories)
            if count:
                changed.append(path)
                print(f"{path.relative_to(root)}: {count} access(es) by name")
                if write:
                    path.write_text(new)
    return changed


def run_mypy(root: Path, mypy: list[str]) -> str:
    options = ["--show-column-numbers", "--no-error-summary", "--hide-error-context", "--no-pretty"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([*mypy, *options], cwd=root, env=env, capture_output=True, text=True, check=False)
    return done.stdout


def _offset(text: str, line: int, col: int) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(chunk) for chunk in lines[: line - 1]) + max(col - 1, 0)


def apply_mypy_errors(root: Path, output: str, groups: dict[str, str]) -> tuple[list[Path], list[str]]:
    """Rewrite the access each matching mypy error points at; return changed files and unknown attributes."""
    edits: dict[Path, list[tuple[int, int, str]]] = {}
    unknown: list[str] = []
    for raw in output.splitlines():
        match = _MYPY_ERROR.match(raw)
        if not match:
            continue
        attr = match.group("attr")
        if attr not in groups:
            unknown.append(raw)
            continue
        path = root / match.group("path")
        edits.setdefault(path, []).append((int(match.group("line")), int(match.group("col")), attr))
    for path, points in edits.items():
        text = path.read_text()
        offsets: set[tuple[int, str]] = set()
        for line, col, attr in points:
            found = re.compile(rf"\.\s*{attr}\b").search(text, _offset(text, line, col))
            if found:
                offsets.add((found.start(), attr))
        for start, attr in sorted(offsets, reverse=True):
            end = re.compile(rf"\.\s*{attr}\b").match(text, start)
            assert end is not None
            text = f"{text[:start]}.{groups[attr]}.{attr}{text[end.end() :]}"
        path.write_text(text)
        print(f"{path.relative_to(root)}: {len(offsets)} access(es) by type")
    return list(edits), unknown


def mypy_pass(root: Path, groups: dict[str, str], mypy: list[str]) -> list[Path]:
    changed: list[Path] = []
    for _ in range(MAX_MYPY_ROUNDS):
        files, unknown = apply_mypy_errors(root, run_mypy(root, mypy), groups)
        for line in unknown:
            print(f"not a group field, left alone: {line}")
        if not files:
            break
        changed.extend(files)
    return changed


def format_files(root: Path, files: list[Path], ruff: str | None) -> None:
    if not files or ruff is None:
        return
    subprocess.run([ruff, "format", *sorted({str(f) for f in files})], cwd=root, check=False)


def report_long_lines(root: Path, files: list[Path]) -> None:
    """Name the lines still over ruff's line length (docstrings, f-strings): they need a hand edit."""
    config = tomllib.loads((root / "pyproject.toml").read_text()).get("tool", {}).get("ruff", {})
    limit = int(config.get("line-length", 88))
    for path in sorted(set(files)):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if len(line) > limit:
                print(f"{path.relative_to(root)}:{number}: {len(line)} > {limit} characters, shorten by hand")


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: cwd)")
    parser.add_argument("--mypy", default=f"{sys.executable} -m mypy", help="mypy command, run from the root")
    parser.add_argument("--no-mypy", action="store_true", help="skip the type-driven pass")
    parser.add_argument("--no-format", action="store_true", help="do not ruff-format changed files")
    check_help = "report the name pass only; exit 1 if it finds any"
    parser.add_argument("--check", action="store_true", help=check_help)
    args = parser.parse_args()
    root = args.root.resolve()
    groups = load_field_groups(root)
    changed = name_pass(root, groups, write=not args.check)
    if args.check:
        return 1 if changed else 0
    if not args.no_mypy:
        changed += mypy_pass(root, groups, args.mypy.split())
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    format_files(root, changed, None if args.no_format else ruff)
    report_long_lines(root, changed)
    print(f"{len(set(changed))} file(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
