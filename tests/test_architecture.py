"""Imports point one way: assets/ and serving/ use pipelines/, never the reverse; the layers inside
pipelines/ are import-linter contracts (pyproject.toml), checked here and by ``make lint``."""

from __future__ import annotations

import ast
import io
import pkgutil
import re
import subprocess
import sys
import tokenize
import tomllib
from collections.abc import Iterable, Iterator
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


def _layered_modules(pyproject: Path) -> set[str]:
    """Every module the layers contracts of ``pyproject`` name (optional ones included)."""
    config = tomllib.loads(pyproject.read_text())
    names: set[str] = set()
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] != "layers":
            continue
        for layer in contract["layers"]:
            names |= {part.strip(" ()") for part in re.split(r"[|:]", layer)}
    return names


def _top_level_modules(package: Path) -> set[str]:
    """The modules and packages directly under ``package`` (a folder), as ``pipelines.X``."""
    return {f"{package.name}.{m.name}" for m in pkgutil.iter_modules([str(package)])}


def _unlayered(pyproject: Path, package: Path) -> list[str]:
    return sorted(_top_level_modules(package) - _layered_modules(pyproject))


def test_every_top_level_pipelines_module_has_a_layer() -> None:
    """A new module directly under pipelines/ must be placed in the layers contract, or import-linter
    would never check what it imports or who imports it."""
    modules = _top_level_modules(ROOT / "pipelines")
    assert {"pipelines.app", "pipelines.data", "pipelines.settings"} <= modules
    assert _unlayered(ROOT / "pyproject.toml", ROOT / "pipelines") == []


def test_the_layer_listing_check_finds_a_missing_module(tmp_path: Path) -> None:
    package = tmp_path / "pipelines"
    (package / "app").mkdir(parents=True)
    for name in ("__init__.py", "app/__init__.py", "settings.py", "stray.py"):
        (package / name).write_text("")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[[tool.importlinter.contracts]]\nname = "l"\ntype = "layers"\n'
        'layers = ["pipelines.app : (pipelines.gone)", "pipelines.settings | pipelines.errors"]\n'
    )
    assert _unlayered(pyproject, package) == ["pipelines.stray"]


def test_mlflow_folder_never_shadows_the_library() -> None:
    assert not (ROOT / "mlflow" / "__init__.py").exists()


# --- sizes -----------------------------------------------------------------------------------------

SIZE_CHECKED = ("pipelines", "serving", "assets")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
LONG_REASON = "Long because"

# Functions and modules allowed over their limit: none (a reason in the docstring exempts a function).
KNOWN_OVERSIZED: frozenset[str] = frozenset()


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, Function]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, Function):
            yield prefix + child.name, child
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def oversized(root: Path, packages: Iterable[str] = SIZE_CHECKED) -> list[str]:
    """Every module over ``MAX_MODULE_LINES`` lines, and every function (method, nested function)
    over ``MAX_FUNCTION_LINES`` lines, from its ``def`` line to its last line, whose docstring does
    not give the reason with the words ``LONG_REASON`` ("Long because ..."), as "path" and
    "path:qualified name (N lines)"."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            source = path.read_text(encoding="utf-8")
            lines = len(source.splitlines())
            if lines > MAX_MODULE_LINES:
                found.append(f"{rel} ({lines} lines)")
            for name, node in _functions(ast.parse(source)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES and LONG_REASON not in (ast.get_docstring(node) or ""):
                    found.append(f"{rel}:{name} ({length} lines)")
    return found


def test_modules_and_functions_stay_short() -> None:
    """No module over 400 lines; no function over 60 lines unless its docstring says why, with the
    words "Long because" (for example a fused numba loop, or a migration's flat list of tables)."""
    found = {entry.rsplit(" (", 1)[0]: entry for entry in oversized(ROOT)}
    new = sorted(entry for key, entry in found.items() if key not in KNOWN_OVERSIZED)
    fixed = sorted(KNOWN_OVERSIZED - found.keys())
    assert not new, "over the size limits:\n" + "\n".join(new)
    assert not fixed, "no longer over the limits, remove from KNOWN_OVERSIZED:\n" + "\n".join(fixed)


def test_the_size_check_reads_modules_and_docstrings(tmp_path: Path) -> None:
    """A long function is reported unless its docstring says why; a long module is reported."""
    package = tmp_path / "pkg"
    package.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    nested = body.replace("    ", "            ")
    (package / "short.py").write_text(
        f"class A:\n    def m(self) -> None:\n        def inner() -> None:\n{nested}"
        f'def ok() -> None:\n    """{LONG_REASON} it is one flat list."""\n{body}'
    )
    (package / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized(tmp_path, ["pkg"]) == [
        f"pkg/long.py ({MAX_MODULE_LINES + 1} lines)",
        f"pkg/short.py:A.m ({MAX_FUNCTION_LINES + 2} lines)",
        f"pkg/short.py:A.m.inner ({MAX_FUNCTION_LINES + 1} lines)",
    ]


# --- citations -------------------------------------------------------------------------------------

# Comments, docstrings, strings (OpenAPI summaries and descriptions among them) and the READMEs describe
# behaviour or name a route; they never send a reader to a document or an issue they do not have.
CITATION_CHECKED = ("pipelines", "serving", "assets")
CITATION_DOCS = ("README.md", "benchmarks/README.md")
_CITATION = re.compile(
    r"\b(?:seed|spec)\s+doc(?:ument)?s?\b"  # "the seed documents"
    r"|\bdoc(?:ument)?s?\.?\s*#?\d{1,3}\b"  # "document 004", "doc 2", "documents 000 and 001"
    r"|\b(?:seed|spec)\s*#?0\d{2}\b"  # "seed 003"
    r"|(?<![\w.,:+-])00\d(?![\w.,%])"  # a bare "004" (not 0.004, 1,004, 0004, 12:004)
    r"|\b(?:issue|ticket)s?\s*#?\d+\b"  # "issue 12", "issue #12"
    r"|(?<![\w&/])#\d{1,5}(?!\w)",  # "#12" (not a colour such as #000000, nor &#39;)
    re.IGNORECASE,
)
# Python 3.12 splits an f-string into tokens; its text parts are FSTRING_MIDDLE.
_TEXT_TOKENS = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


def citations_in_python(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and string of ``source`` that cites a document or an issue."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _TEXT_TOKENS:
            found.extend(
                (token.start[0] + token.string.count("\n", 0, m.start()), m[0])
                for m in _CITATION.finditer(token.string)
            )
    return found


def citations(root: Path) -> list[str]:
    found = [
        f"{path.relative_to(root).as_posix()}:{line}: {text!r}"
        for package in CITATION_CHECKED
        for path in sorted((root / package).rglob("*.py"))
        for line, text in citations_in_python(path.read_text(encoding="utf-8"))
    ]
    for doc in CITATION_DOCS:
        for number, line in enumerate((root / doc).read_text(encoding="utf-8").splitlines(), 1):
            found.extend(f"{doc}:{number}: {m[0]!r}" for m in _CITATION.finditer(line))
    return found


def test_no_comment_docstring_or_string_cites_a_document_or_an_issue() -> None:
    found = citations(ROOT)
    assert not found, "describe the behaviour or name the route instead:\n" + "\n".join(found)


def test_the_citation_check_finds_citations_and_only_them() -> None:
    cited = '''\
"""Answers in the envelope of document 004."""
x = 1  # see issue 12
y = {"summary": "Upload (004)", "description": "as the seed documents show"}
z = 2  # fixed in #31, like doc 2 says
w = "the 003 routes (000: subscribe)"
'''
    assert [text for _, text in citations_in_python(cited)] == [
        "document 004",
        "issue 12",
        "004",
        "seed documents",
        "#31",
        "doc 2",
        "003",
        "000",
    ]
    assert [line for line, _ in citations_in_python(cited)] == [1, 2, 3, 3, 4, 4, 5, 5]
    clean = '''\
"""A 404 answers NOT_FOUND; commission 0.001 (10 bp) and slippage 0.002; 1,000,000 bars at most."""
COLOUR = "#000000"  # matplotlib's black
revision = "0004"  # migration 0004_datasets, at 00:00:05 UTC
issued = issue_tokens(user)  # the documents a user uploads; seed 42
'''
    assert citations_in_python(clean) == []
