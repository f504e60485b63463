"""Give modules and public names that said the wrong thing names that say what they hold.

Before, four modules were called ``catalog`` or ``registry`` with four meanings, ``dataset`` meant three
things and ``service`` four. After: ``registry`` is only ``pipelines.models.registry`` (versions loaded
from the MLflow model registry), ``dataset`` only a file a user uploads (``pipelines.datasets``, the
``/api/v1/datasets`` routes), and no module of ``pipelines/`` is called ``catalog`` or ``service``.

Re-runnable and idempotent: it moves a module only while the old file exists and the new one does not,
and rewrites only references that still spell an old name, so it is safe on a tree merged from branches
that still use the old paths. What it rewrites, in every text file of the repository (Python, Markdown,
TOML, YAML, Makefile; not this script, not a file holding ``SKIP_MARKER``):

- a dotted module path, exactly (``pipelines.data.service`` but not ``pipelines.data.services``): in
  ``import a.b``, ``from a.b import x``, ``a.b.attr`` and strings such as monkeypatch targets and the
  import-linter contracts in pyproject.toml;
- ``from a import b`` where ``a.b`` moved inside ``a``: the imported name, and ``b.`` uses in that file
  (an ``as`` alias keeps its own name); ``from .b import x`` and a bare ``b.py`` inside package ``a``;
- a file path ``pipelines/a/b.py`` (READMEs, docs);
- the public names in ``NAMES``, as whole words (their definitions, imports, uses, ``__all__``).

Files it changed then get their imports and ``__all__`` sorted (ruff's I and RUF022 fixes) and are
formatted with ``ruff format``.

Usage, from the repository root:
    PYTHONPATH=. /work/main/.venv/bin/python scripts/rename_modules.py [--check] [--no-format] [ROOT]
``--check`` changes nothing and exits 1 when a file would move or a reference would be rewritten.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Old dotted module path -> new one, each named for what it holds.
MODULES: dict[str, str] = {
    # the DuckDB warehouse: views over the Parquet files, read-only SQL, resampling
    "pipelines.data.catalog": "pipelines.data.warehouse",
    # stored bars: load, quality-check, ingest the missing ones
    "pipelines.data.service": "pipelines.data.stored_bars",
    # registered models as users see them: summaries, categories, statuses, queries
    "pipelines.models.catalog": "pipelines.models.summaries",
    # training matrices from a feature table, and the time-ordered train/validation split
    "pipelines.models.dataset": "pipelines.models.training_matrix",
    # indicators, their parameters and column names, feature sets
    "pipelines.features.registry": "pipelines.features.indicators",
    # the strategy type, its parameter schema, and the name -> strategy lookup
    "pipelines.backtest.strategies.registry": "pipelines.backtest.strategies.lookup",
    # task kinds of the job queue: what a job runs and what it declares it needs
    "pipelines.jobs.registry": "pipelines.jobs.task_kinds",
    # predictions of registered models: one symbol, a batch, an ensemble, a signal history
    "pipelines.prediction.service": "pipelines.prediction.predictor",
    # a user's webhook endpoints and their delivery log
    "pipelines.webhooks.service": "pipelines.webhooks.subscriptions",
}

# Public names renamed wherever they appear as a whole word; none of the new names contains an old one.
NAMES: dict[str, str] = {
    "Catalog": "Warehouse",
    "DatasetKey": "SeriesKey",
    "DatasetBounds": "SeriesBounds",
    "dataset_dir": "series_dir",
    "check_dataset": "check_stored_bars",
    "make_dataset": "make_training_data",
    "make_ohlc_dataset": "make_ohlc_training_data",
    "TaskRegistry": "TaskKinds",
    "PredictionService": "Predictor",
    "ModelCatalog": "ModelResolver",
    "catalog_ttl": "resolver_ttl",
    "WebhookService": "WebhookSubscriptions",
}

# Attributes renamed with their class, as (the package whose modules say ``self.<old>``, the name others
# reach the owner by, old, new): a Predictor's model resolver was its ``catalog``, reached from outside as
# ``<x>.predictions.catalog``.
ATTRIBUTES: tuple[tuple[str, str, str, str], ...] = (
    ("pipelines.prediction", "predictions", "catalog", "resolver"),
)

SKIP_MARKER = "rename-modules: skip"  # a file holding this text (the script's own test) is left alone
TEXT_SUFFIXES = frozenset(
    {".py", ".pyi", ".md", ".rst", ".txt", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".sh"}
)
TEXT_NAMES = frozenset({"Makefile", "run", "Dockerfile"})
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".import_linter_cache",
        ".tradeforge",
        "build",
        "dist",
    }
)


@dataclass(frozen=True)
class Result:
    moved: list[tuple[str, str]]
    rewritten: list[str]
    conflicts: list[str]


def _dotted(old: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.])" + re.escape(old) + r"(?!\w)")


def _file_path(old: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w./])" + re.escape(old.replace(".", "/")) + r"\.py(?!\w)")


_DOTTED = [(_dotted(old), new) for old, new in sorted(MODULES.items(), key=lambda kv: -len(kv[0]))]
_PATHS = [(_file_path(old), new.replace(".", "/") + ".py") for old, new in MODULES.items()]
_ATTRIBUTES = [
    (
        package,
        re.compile(r"(?<![\w.])self\." + re.escape(old) + r"(?!\w)"),
        re.compile(r"(?<![\w.])([A-Za-z_]\w*\." + re.escape(receiver) + r"\.)" + re.escape(old) + r"(?!\w)"),
        new,
    )
    for package, receiver, old, new in ATTRIBUTES
]
_WORDS = [(re.compile(r"(?<!\w)" + re.escape(old) + r"(?!\w)"), new) for old, new in NAMES.items()]
# ``from a import x, b as c`` / ``from a import (\n x,\n b,\n)``: the package and the names list.
_FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+(?P<pkg>[\w.]+)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#]*)",
    re.MULTILINE,
)
_IMPORTED = re.compile(r"(?<![\w.])(?P<name>\w+)(?P<alias>[ \t]+as[ \t]+\w+)?")


def _leaf_moves() -> dict[str, dict[str, str]]:
    """Package -> {old leaf -> new leaf} for the modules that moved inside their package."""
    moves: dict[str, dict[str, str]] = {}
    for old, new in MODULES.items():
        old_pkg, _, old_leaf = old.rpartition(".")
        new_pkg, _, new_leaf = new.rpartition(".")
        if old_pkg == new_pkg:
            moves.setdefault(old_pkg, {})[old_leaf] = new_leaf
    return moves


_LEAVES = _leaf_moves()


def _rewrite_from_imports(text: str, package: str) -> str:
    """``from pkg import old`` -> ``from pkg import new`` (and ``old.`` -> ``new.`` in the file), and
    ``from .old import`` and a bare ``old.py`` inside ``pkg`` (in a module of ``package``)."""
    bound: dict[str, str] = {}

    def names(match: re.Match[str]) -> str:
        pkg = match["pkg"]
        if pkg.startswith("."):
            return match[0]
        leaves = _LEAVES.get(pkg)
        if not leaves:
            return match[0]

        def one(m: re.Match[str]) -> str:
            name = m["name"]
            if name not in leaves:
                return m[0]
            if not m["alias"]:
                bound[name] = leaves[name]
            return leaves[name] + (m["alias"] or "")

        head = match[0][: match.start("names") - match.start()]
        return head + _IMPORTED.sub(one, match["names"])

    text = _FROM_IMPORT.sub(names, text)
    for old, new in bound.items():
        text = re.sub(r"(?<![\w.])" + re.escape(old) + r"(?=\.\w)", new, text)
    for old, new in _LEAVES.get(package, {}).items():
        text = re.sub(
            r"(?m)^([ \t]*from[ \t]+)\." + re.escape(old) + r"(?=[ \t]+import\b)", r"\1." + new, text
        )
        text = re.sub(r"(?<![\w./])" + re.escape(old) + r"\.py(?!\w)", new + ".py", text)
    return text


def rewrite(text: str, package: str = "") -> str:
    """``text`` with every old module path and name spelled the new way; ``package`` is the dotted
    package of the file (for its relative imports), empty outside Python packages."""
    text = _rewrite_from_imports(text, package)
    for pattern, new in _DOTTED:
        text = pattern.sub(new, text)
    for pattern, new in _PATHS:
        text = pattern.sub(new, text)
    for pattern, new in _WORDS:
        text = pattern.sub(new, text)
    for owner, own_use, outside_use, new in _ATTRIBUTES:
        if package == owner:
            text = own_use.sub("self." + new, text)
        text = outside_use.sub(r"\g<1>" + new, text)
    return text


def _text_files(root: Path) -> Iterator[Path]:
    """The repository's text files: in a git work tree the tracked and the untracked, not ignored ones;
    elsewhere every file outside ``SKIPPED_DIRS``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0:
        candidates = sorted({root / name for name in listed.stdout.decode().split("\0") if name})
    else:
        candidates = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            candidates.extend(Path(folder) / name for name in sorted(files))
    for path in candidates:
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES):
            yield path


def _package_of(root: Path, path: Path) -> str:
    rel = path.relative_to(root)
    return ".".join(rel.parts[:-1]) if path.suffix == ".py" else ""


def _move(root: Path, old: str, new: str, *, check: bool) -> tuple[bool, str | None]:
    """Move the module file of ``old`` to ``new`` (with ``git mv`` in a work tree); True when it
    moved (or would), and a conflict line when both files exist."""
    src = root / (old.replace(".", "/") + ".py")
    dst = root / (new.replace(".", "/") + ".py")
    if not src.exists():
        return False, None
    if dst.exists():
        return False, f"both {src.relative_to(root)} and {dst.relative_to(root)} exist: merge them by hand"
    if check:
        return True, None
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(src)], cwd=root, capture_output=True, check=False
    )
    if tracked.returncode == 0:
        subprocess.run(["git", "mv", str(src), str(dst)], cwd=root, check=True)
    else:
        src.rename(dst)
    return True, None


def run(root: Path, *, check: bool = False) -> Result:
    """Move the modules and rewrite the references under ``root``; with ``check``, only report."""
    moved: list[tuple[str, str]] = []
    conflicts: list[str] = []
    for old, new in MODULES.items():
        did, conflict = _move(root, old, new, check=check)
        if did:
            moved.append((old, new))
        if conflict:
            conflicts.append(conflict)
    own = Path(__file__).resolve()
    rewritten: list[str] = []
    for path in _text_files(root):
        if path.resolve() == own:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if SKIP_MARKER in text:
            continue
        new_text = rewrite(text, _package_of(root, path))
        if new_text != text:
            rewritten.append(path.relative_to(root).as_posix())
            if not check:
                path.write_text(new_text, encoding="utf-8")
    return Result(moved, rewritten, conflicts)


def _ruff() -> str | None:
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.exists() else shutil.which("ruff")


def format_files(root: Path, files: list[str]) -> None:
    """Sort the imports and ``__all__`` of the rewritten Python files (a new name sorts elsewhere) and
    format them."""
    python = [f for f in files if f.endswith(".py")]
    ruff = _ruff()
    if not python or ruff is None:
        return
    subprocess.run(
        [ruff, "check", "--select", "I,RUF022", "--fix", "--quiet", *python], cwd=root, check=False
    )
    subprocess.run([ruff, "format", "--quiet", *python], cwd=root, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=".", type=Path, help="the repository root")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when something would change"
    )
    parser.add_argument("--no-format", action="store_true", help="do not run ruff over the rewritten files")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    result = run(root, check=args.check)
    verb = "would move" if args.check else "moved"
    for old, new in result.moved:
        print(f"{verb} {old} -> {new}")
    for rel in result.rewritten:
        print(("would rewrite " if args.check else "rewrote ") + rel)
    for conflict in result.conflicts:
        print("conflict: " + conflict, file=sys.stderr)
    if not args.check and not args.no_format:
        format_files(root, result.rewritten)
    if result.conflicts:
        return 2
    return 1 if args.check and (result.moved or result.rewritten) else 0


if __name__ == "__main__":
    sys.exit(main())
