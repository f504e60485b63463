"""What the host has and uses: for the health and info endpoints (and, later, job admission)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import psutil

from pipelines.models.device import cuda_available

__all__ = ["platform_info", "system_stats"]

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
        "cuda_available": cuda_available(),
        "process_id": os.getpid(),
    }
