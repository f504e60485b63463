"""Reading README.md's shell commands and running them as a reader would, for the tour test.

The rewrites are mechanical and the only ones made: ``.venv/bin/`` becomes the bin folder of the
interpreter running the tests; ``make`` runs in the repository with that folder as its ``BIN`` (and
never reinstalls); each server gets a free port (``PORT=`` for make, ``--port`` otherwise) and
``127.0.0.1:8000`` in the commands that call the API becomes the demo's port; ``curl`` fails on an
HTTP error. The commands run in a temp folder, so the files they write land there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Commands that need the internet: run only by a reader who has it, in a block saying so.
NETWORK = re.compile(r"--source\s+(yfinance|ccxt)\b")
# Set-up and development commands that are not part of the tour, with the reason.
ELSEWHERE = {
    "make test": "the whole suite, this test included",
    "make lint": "CI's first step (ruff, mypy, import-linter)",
    "make bench": "installs the peer libraries into .venv-bench from the package index and runs for minutes",
}
# Servers: (pattern, path that answers 200 once it is up).
SERVERS = {
    "api": (re.compile(r"^make demo\b|\btradeforge serve\b"), "/health"),
    "dagster": (re.compile(r"^make dagster\b|\btradeforge dagster\b"), "/"),
    "mlflow": (re.compile(r"^make mlflow\b|\bmlflow/server\.sh\b|\btradeforge mlflow\b"), "/"),
}
ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)=")


@dataclass(frozen=True)
class Command:
    """One command of a ```bash block: continuations joined, its comment removed."""

    text: str
    line: int
    intro: str  # the last line of prose before its block


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment``; a ``#`` inside quotes or a word is kept."""
    quote = ""
    escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _bash_blocks(markdown: str) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """Each ```bash block as (the prose line before it, its numbered lines), in document order."""
    intro, fence, lines = "", "", list[tuple[int, str]]()
    for number, raw in enumerate(markdown.splitlines(), 1):
        stripped = raw.strip()
        if fence:
            if stripped == "```":
                if fence == "bash":
                    yield intro, lines
                fence, lines = "", []
            elif fence == "bash":
                lines.append((number, raw))
        elif stripped.startswith("```"):
            fence = stripped[3:].strip() or "text"
        elif stripped:
            intro = stripped
    assert not fence, "README.md ends inside a fenced block"


def readme_commands(markdown: str) -> list[Command]:
    """Every command of the ```bash blocks, in order."""
    commands: list[Command] = []
    for intro, lines in _bash_blocks(markdown):
        parts: list[str] = []
        first = 0
        for number, raw in lines:
            code = strip_comment(raw).strip()
            if not code and not parts:
                continue
            first = first if parts else number
            parts.append(code.removesuffix("\\").strip())
            if not code.endswith("\\"):
                commands.append(Command(" ".join(parts), first, intro))
                parts = []
        assert not parts, f"the block before README line {first} ends in a continuation"
    return commands


NEEDS_INTERNET = "needs the internet"
ALREADY_SERVED = "the same server was started above"


def skip_reason(command: Command) -> str | None:
    """Why the tour does not run ``command`` (None: it runs)."""
    return NEEDS_INTERNET if NETWORK.search(command.text) else ELSEWHERE.get(command.text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.is_file() else ""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    log: Path

    def wait_until_up(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (
                f"exited with {self.process.returncode} before {url} answered:\n{_tail(self.log)}"
            )
            if _answers(url):
                return
            time.sleep(0.5)
        raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s:\n{_tail(self.log)}")

    def stop(self) -> None:
        """SIGTERM to the server and every process it started, SIGKILL to those still there 5 s later."""
        try:
            members = [psutil.Process(self.process.pid)]
            members += members[0].children(recursive=True)
        except psutil.NoSuchProcess:
            members = []
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            deadline = time.monotonic() + grace
            for member in members:
                _signal(member, sig)
            while time.monotonic() < deadline:
                self.process.poll()
                if not any(_alive(member) for member in members):
                    return
                time.sleep(0.2)


def _signal(process: psutil.Process, sig: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(sig)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class Tour:
    """Runs commands in a temp folder on their own home; keeps ``make demo``'s API up until closed."""

    work: Path
    env: dict[str, str]
    api_port: int = field(default_factory=free_port)
    servers: list[Server] = field(default_factory=list)
    skipped: list[tuple[Command, str]] = field(default_factory=list)
    served: set[str] = field(default_factory=set)
    timings: list[tuple[float, str]] = field(default_factory=list)
    demo_champions: dict[str, str] = field(default_factory=dict)

    def localize(self, text: str) -> str:
        bin_dir = shlex.quote(str(BIN))
        text = text.replace(".venv/bin/", f"{bin_dir}/")
        text = re.sub(r"^make ", f"make -C {shlex.quote(str(REPO))} -o .venv/.installed BIN={bin_dir} ", text)
        text = re.sub(r"(?<![\w/.])mlflow/server\.sh", f"{shlex.quote(str(REPO))}/mlflow/server.sh", text)
        text = text.replace("127.0.0.1:8000", f"127.0.0.1:{self.api_port}")
        return re.sub(r"^curl ", "curl --fail-with-body ", text)

    def run(self, command: Command) -> None:
        began = time.perf_counter()
        server = next((name for name, (pattern, _) in SERVERS.items() if pattern.search(command.text)), None)
        reason = ALREADY_SERVED if server and command.text in self.served else skip_reason(command)
        if reason is not None:
            self.skipped.append((command, reason))
            return
        if server is not None:
            self._serve(command, server)
        elif match := ASSIGNMENT.match(command.text):
            self._assign(command, match.group(1))
        else:
            self._check(command, self._shell(self.localize(command.text)))
        self.timings.append((time.perf_counter() - began, command.text))

    def _shell(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script], cwd=self.work, env=self.env, capture_output=True, text=True, timeout=600
        )

    def _check(self, command: Command, run: subprocess.CompletedProcess[str]) -> None:
        where = f"{command.text!r} (README.md line {command.line})"
        output = f"\n--- stdout\n{run.stdout[-4000:]}\n--- stderr\n{run.stderr[-4000:]}"
        assert run.returncode == 0, f"{where} exited with {run.returncode}{output}"
        if "--json" in command.text or command.text.startswith("curl "):
            try:
                parsed = json.loads(run.stdout)
            except ValueError:
                parsed = None
            assert isinstance(parsed, dict), f"{where} did not print one JSON object{output}"

    def _assign(self, command: Command, name: str) -> None:
        run = self._shell(f'{self.localize(command.text)}\nprintf %s "${name}"')
        self._check(command, run)
        where = f"{command.text!r} (README.md line {command.line})"
        assert run.stdout, f"{where} left {name} empty:\n{run.stderr}"
        self.env[name] = run.stdout

    def _serve(self, command: Command, kind: str) -> None:
        keep = command.text.startswith("make demo")
        port = self.api_port if keep else free_port()
        flag = f" PORT={port}" if command.text.startswith("make ") else f" --port {port}"
        log = self.work / f"server-{len(self.servers)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "-c", self.localize(command.text) + flag],
                cwd=self.work,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(process, log)
        self.servers.append(server)
        self.served.add(command.text)
        server.wait_until_up(f"http://127.0.0.1:{port}{SERVERS[kind][1]}", 900 if keep else 300)
        if keep:
            self.demo_champions = self.champions()
        else:
            server.stop()
            self.servers.remove(server)

    def champions(self) -> dict[str, str]:
        """Each registered model's champion version, by ``tradeforge models list --json``."""
        run = self._shell(f"{shlex.quote(str(BIN))}/tradeforge models list --json")
        assert run.returncode == 0, run.stderr
        return {m["model_name"]: m["champion_version"] for m in json.loads(run.stdout)["models"]}

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


def tour_env(home: Path, settings: dict[str, str]) -> dict[str, str]:
    """This environment without Tradeforge's, MLflow's, Dagster's or make's settings, plus ``settings``,
    with the tests' interpreter first on PATH and this repository first on PYTHONPATH."""
    dropped = ("TRADEFORGE_", "MLFLOW_", "DAGSTER_", "MAKE", "MFLAGS", "PORT", "LIVE_SPEED")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(settings)
    env["TRADEFORGE_HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
