"""Hosts made of Linux network namespaces on one bridge, and the processes started on them.

Every name carries this process's id (``tfc<pid>``: the namespaces ``tfc<pid>-<host>``, the bridge
``tfc<pid>br``, the veths ``tfc<pid>v<n>``), and each run takes a /24 of 10.213.0.0/16 no interface of
the machine uses yet, so pytest-xdist workers side by side never clash; what a killed run left behind
(its pid gone) is removed by the next. The machine keeps the bridge's first address (``.1``): the test
process reaches the hosts through it.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

POOL = ipaddress.ip_network("10.213.0.0/16")
_LOCK = Path("/tmp/tradeforge-cluster-net.lock")
_OURS = re.compile(r"^tfc(\d+)(?:-\w+|br|v\d+)$")

__all__ = ["POOL", "Host", "Network", "Processes", "bridged_hosts", "namespaces_unavailable"]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and run.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {run.stderr.strip()}")
    return run


def namespaces_unavailable() -> str | None:
    """Why this machine cannot make network namespaces (not root, no ``ip`` or ``unshare``, the
    kernel or a sandbox refusing), or None when it can."""
    if os.geteuid() != 0:
        return "network namespaces need root (the cluster test runs as uid 0 only)"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"no `{tool}` command on this machine"
    probe = f"tfc{os.getpid()}-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=30)
    if made.returncode != 0:
        return f"`ip netns add` is refused here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    uts = subprocess.run(["unshare", "--uts", "true"], capture_output=True, text=True, timeout=30)
    if uts.returncode != 0:
        return f"`unshare --uts` is refused here: {uts.stderr.strip()}"
    return None


@dataclass(frozen=True)
class Host:
    """One namespace on the bridge: its address and the host name its processes see."""

    netns: str
    address: str
    hostname: str

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run in this host's namespace under its own host name (each step execs the next,
        so the process started is ``argv`` itself)."""
        name_then_run = 'hostname "$0" && exec "$@"'
        in_netns = ["ip", "netns", "exec", self.netns, "unshare", "--uts"]
        return [*in_netns, "sh", "-c", name_then_run, self.hostname, *argv]


@dataclass(frozen=True)
class Network:
    tag: str
    bridge: str
    subnet: ipaddress.IPv4Network
    gateway: str
    hosts: dict[str, Host]


def _remove_leftovers() -> None:
    """Namespaces and links of earlier runs whose process is gone."""
    dead = lambda name: (m := _OURS.match(name)) is not None and not psutil.pid_exists(int(m[1]))  # noqa: E731
    for netns in _ip("netns", "list").stdout.split():
        if dead(netns):
            _ip("netns", "del", netns, check=False)
    for line in _ip("-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if dead(name):
            _ip("link", "del", name, check=False)


def _free_subnet() -> ipaddress.IPv4Network:
    used = _ip("-o", "-4", "addr", "show").stdout
    for subnet in POOL.subnets(new_prefix=24):
        if f" {subnet.network_address + 1}/" not in used:
            return subnet  # type: ignore[return-value]
    raise RuntimeError(f"every /24 of {POOL} is taken on this machine")


def _build(tag: str, names: Sequence[str]) -> Network:
    with _LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _remove_leftovers()
        subnet = _free_subnet()
        bridge, gateway = f"{tag}br", str(subnet.network_address + 1)
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{gateway}/24", "dev", bridge)
    _ip("link", "set", bridge, "up")
    hosts: dict[str, Host] = {}
    for n, name in enumerate(names):
        netns, veth, address = f"{tag}-{name}", f"{tag}v{n}", str(subnet.network_address + 2 + n)
        _ip("netns", "add", netns)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
        _ip("link", "set", veth, "master", bridge, "up")
        _ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", netns, "link", "set", "eth0", "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        hosts[name] = Host(netns, address, f"{name}-host-{tag}")
    return Network(tag, bridge, subnet, gateway, hosts)  # type: ignore[arg-type]


def _teardown(tag: str) -> None:
    for netns in _ip("netns", "list").stdout.split():
        if netns.startswith(f"{tag}-"):
            _ip("netns", "del", netns, check=False)
    for line in _ip("-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name == f"{tag}br" or re.fullmatch(rf"{tag}v\d+", name):
            _ip("link", "del", name, check=False)


@contextlib.contextmanager
def bridged_hosts(names: Sequence[str]) -> Iterator[Network]:
    """One namespace per name on a new bridge (addresses ``.2``, ``.3``... in order); all removed on
    exit, and on a failure half way."""
    tag = f"tfc{os.getpid()}"
    try:
        yield _build(tag, names)
    finally:
        _teardown(tag)


@dataclass
class Processes:
    """The processes a test started, each in a session of its own logging to ``logs/<name>.log``."""

    logs: Path
    started: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path
    ) -> subprocess.Popen[bytes]:
        assert name not in self.started or self.started[name].poll() is not None, f"{name} runs already"
        with (self.logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_line(self, name: str, text: str, timeout: float) -> None:
        """Until ``text`` appears in the log of ``name`` (failing when it exits first)."""
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            proc = self.started[name]
            assert proc.poll() is None, f"{name} exited ({proc.returncode}):\n{self.log(name)[-3000:]}"
            assert time.monotonic() < deadline, (
                f"{name}: no {text!r} in {timeout:.0f} s:\n{self.log(name)[-3000:]}"
            )
            time.sleep(0.2)

    def tails(self, chars: int = 4000) -> str:
        return "\n".join(f"===== {name} =====\n{self.log(name)[-chars:]}" for name in self.started)

    def stop(self, *names: str) -> None:
        """End the processes' whole trees: SIGTERM to their groups and descendants, SIGKILL to what is
        left after 15 s."""
        trees: list[psutil.Process] = []
        for name in names:
            with contextlib.suppress(psutil.NoSuchProcess):
                main = psutil.Process(self.started[name].pid)
                trees += [main, *main.children(recursive=True)]
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            for name in names:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.started[name].pid, sig)
            for member in trees:
                with contextlib.suppress(psutil.NoSuchProcess):
                    member.send_signal(sig)
            trees = psutil.wait_procs(trees, timeout=grace)[1]
            if not trees:
                break
        for name in names:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.started[name].wait(timeout=5)

    def stop_all(self) -> None:
        self.stop(*self.started)
