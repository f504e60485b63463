"""The cluster test reaches its hosts over the bridge it made: the test process may connect to the
loopback and to the private range its bridges are numbered from, nothing else."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Generator

import pytest

from tests.cluster.network import POOL

_real_connect = socket.socket.connect


def _loopback_or_bridge(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and host != "localhost":
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise OSError(f"tests may not reach the network ({host})") from None
        if not (ip.is_loopback or ip in POOL):
            raise OSError(f"tests may not reach the network ({host})")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaces the suite's loopback-only guard for this folder."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_or_bridge)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    """Each phase's report kept on the test (``item.rep_call``...) for fixtures that print logs on failure."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())
