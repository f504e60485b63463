"""What the host has and uses: for the health and info endpoints (and, later, job admission)."""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys
from pathlib import Path
from typing import Any

import psutil

__all__ = ["cuda_present", "platform_info", "system_stats"]

_NVML_LIBRARIES = ("libnvidia-ml.so.1", "libnvidia-ml.so", "nvml.dll")

_GB = 1024**3


def system_stats(path: Path) -> dict[str, Any]:
    """CPU, memory and the free disk of the volume holding ``path`` (the home)."""
    mem = psutil.virtual_memory()
    probe = path if path.exists() else Path.cwd()
    disk = psutil.disk_usage(str(probe))
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": os.cpu_count() or 1,
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "memory_percent": mem.percent,
        "memory_available_gb": round(mem.available / _GB, 2),
        "memory_total_gb": round(mem.total / _GB, 2),
        "disk_percent": disk.percent,
        "disk_free_gb": round(disk.free / _GB, 2),
    }


def platform_info() -> dict[str, Any]:

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count() or 1,
        "cuda_available": cuda_present(),
        "process_id": os.getpid(),
    }


@functools.cache
def cuda_present() -> bool:
    """Whether a CUDA device is visible, without importing torch (a cold import takes seconds, which
    made the first ``/info`` slow): torch's own answer when it is already loaded, else the driver's
    device count through NVML, which, unlike the CUDA runtime, leaves forked processes free to use
    the GPU. ``CUDA_VISIBLE_DEVICES`` set empty or to ``-1`` hides every device, as torch honours."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return bool(torch.cuda.is_available())
    if os.environ.get("CUDA_VISIBLE_DEVICES", "").strip() in {"", "-1"} and (
        "CUDA_VISIBLE_DEVICES" in os.environ
    ):
        return False
    return _nvml_device_count() > 0


def _nvml_device_count() -> int:
    for name in _NVML_LIBRARIES:
        try:
            nvml = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_uint(0)
        if nvml.nvmlInit_v2() != 0:
            return 0
        try:
            return count.value if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else 0
        finally:
            nvml.nvmlShutdown()
    return 0
