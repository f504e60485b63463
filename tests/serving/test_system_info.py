"""The host figures of ``/info``: the CUDA probe answers without a cold torch import."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from serving import system

_FIRST_CALL = """
import sys, time
import serving.app
start = time.perf_counter()
from serving.system import platform_info
platform_info()
print(time.perf_counter() - start, "torch" in sys.modules)
"""


@pytest.fixture(autouse=True)
def fresh_probe() -> Iterator[None]:
    system.cuda_present.cache_clear()
    yield
    system.cuda_present.cache_clear()


def test_first_platform_info_in_a_fresh_api_process_is_cheap() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL], capture_output=True, text=True, check=True, timeout=120
    )
    seconds, torch_loaded = done.stdout.split()
    assert torch_loaded == "False"
    assert float(seconds) < 0.5


def test_probe_uses_torch_when_it_is_already_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: True))
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert system.cuda_present() is True


def test_hidden_devices_are_not_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert system.cuda_present() is False
    assert system.platform_info()["cuda_available"] is False
