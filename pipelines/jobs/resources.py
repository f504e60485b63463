"""What the machine can give jobs: the probe (psutil, or a test double) and the admission arithmetic.

Admission counts what jobs *declare*, not what they happen to use at the moment: free cores are the
CPU count minus the cores declared by running jobs, free RAM is the memory the OS reports available
minus the RAM declared by running jobs (conservative: a job that has not yet grown to its estimate is
still counted at it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

import psutil

__all__ = [
    "Demand",
    "Free",
    "PsutilProbe",
    "ResourceProbe",
    "insufficiency",
    "memory_ceiling_gb",
    "process_rss_gb",
    "too_large_for_machine",
]

_GB = 1024**3
_EPSILON = 1e-9


class ResourceProbe(Protocol):
    """The machine as admission sees it."""

    def total_cores(self) -> float: ...

    def total_ram_gb(self) -> float: ...

    def available_ram_gb(self) -> float: ...


class PsutilProbe:
    """The real machine, read through psutil."""

    def total_cores(self) -> float:
        return float(psutil.cpu_count(logical=True) or os.cpu_count() or 1)

    def total_ram_gb(self) -> float:
        return float(psutil.virtual_memory().total) / _GB

    def available_ram_gb(self) -> float:
        return float(psutil.virtual_memory().available) / _GB


@dataclass(frozen=True, slots=True)
class Demand:
    cpu_cores: float
    ram_gb: float


@dataclass(frozen=True, slots=True)
class Free:
    """Free resources after subtracting what running jobs declared (never below zero)."""

    cpu_cores: float
    ram_gb: float

    @classmethod
    def of(cls, probe: ResourceProbe, running: list[Demand]) -> Free:
        cores = probe.total_cores() - sum(d.cpu_cores for d in running)
        ram = probe.available_ram_gb() - sum(d.ram_gb for d in running)
        return cls(max(0.0, cores), max(0.0, ram))

    def fits(self, demand: Demand) -> bool:
        return demand.cpu_cores <= self.cpu_cores + _EPSILON and demand.ram_gb <= self.ram_gb + _EPSILON

    def minus(self, demand: Demand) -> Free:
        return Free(max(0.0, self.cpu_cores - demand.cpu_cores), max(0.0, self.ram_gb - demand.ram_gb))


def insufficiency(free: Free, demand: Demand) -> str | None:
    """Why ``demand`` cannot start now ("Insufficient RAM: ...; Insufficient CPU: ..."); None if it fits."""
    reasons = []
    if demand.ram_gb > free.ram_gb + _EPSILON:
        reasons.append(f"Insufficient RAM: {free.ram_gb:.1f} GB available, {demand.ram_gb:.1f} GB required")
    if demand.cpu_cores > free.cpu_cores + _EPSILON:
        reasons.append(
            f"Insufficient CPU: {free.cpu_cores:.1f} cores available, {demand.cpu_cores:.1f} required"
        )
    return "; ".join(reasons) or None


def too_large_for_machine(probe: ResourceProbe, kind: str, demand: Demand) -> str | None:
    """Why a job could never run here (it needs more than the whole machine); None when it could."""
    cores, ram = probe.total_cores(), probe.total_ram_gb()
    if demand.cpu_cores > cores + _EPSILON:
        return f"a {kind} job needs {demand.cpu_cores:.1f} CPU cores; this machine has {cores:.1f} in all"
    if demand.ram_gb > ram + _EPSILON:
        return f"a {kind} job needs {demand.ram_gb:.1f} GB of RAM; this machine has {ram:.1f} GB in all"
    return None


def memory_ceiling_gb(demand: Demand, margin_gb: float) -> float:
    """The resident memory above which a job's worker is stopped: what the job declared plus a margin
    (``margin_gb``, or a quarter of the declaration when that is more) for the interpreter, its
    libraries and short peaks."""
    return demand.ram_gb + max(margin_gb, 0.25 * demand.ram_gb)


def process_rss_gb(pid: int) -> float:
    """Resident memory of a process and all its descendants (GB); 0 when it is gone. Resident, not
    virtual: numpy, torch and their allocators reserve address space they never touch."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in family:
        try:
            total += proc.memory_info().rss
        except psutil.Error:  # exited meanwhile
            continue
    return total / _GB
