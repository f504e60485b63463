"""Task kinds: what a job runs, what it declares it needs, how its parameters are checked.

``@register_task(kind, cpu_cores=..., ram_gb=...)`` marks a plain module-level function
``fn(params, progress) -> dict`` as the runner of ``kind``; a ``TaskKinds`` is built from the
marked functions the caller chooses (no process-wide table). The function runs in a spawned worker
process, so it must be importable by its module and name (pickled by reference), and its parameters
and result must be JSON values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = [
    "ProgressReporter",
    "RamEstimate",
    "TaskFunction",
    "TaskKinds",
    "TaskSpec",
    "Validator",
    "register_task",
    "task_spec",
]

_SPEC_ATTRIBUTE = "__tradeforge_task__"


class ProgressReporter(Protocol):
    """A running task's line back to its job (``pipelines.jobs.worker.PipeReporter`` in a worker)."""

    @property
    def job_id(self) -> str: ...

    @property
    def settings(self) -> Settings:
        """The settings of the queue running the job (the app's home, database, data sources)."""
        ...

    def update(
        self,
        progress: float | None = None,
        description: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Report progress (0-100), a new description and/or a structured ``detail`` (JSON values,
        replacing the previous one: a training job's epoch and metrics); cheap, call it as often
        as useful."""
        ...


TaskFunction = Callable[[dict[str, Any], ProgressReporter], dict[str, Any]]
# The RAM (GB) one job of a kind needs, from its checked parameters (a file's size, say).
RamEstimate = Callable[[dict[str, Any]], float]
# Checks (and normalizes) a job's parameters before it is queued: raise InvalidRequestError on bad input.
Validator = Callable[[dict[str, Any], Settings], dict[str, Any]]
Describer = Callable[[dict[str, Any]], str]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    kind: str
    fn: TaskFunction
    cpu_cores: float
    ram_gb: float
    validate: Validator | None = None
    describe: Describer | None = None
    estimate_ram: RamEstimate | None = None

    def ram_for(self, params: dict[str, Any]) -> float:
        """The RAM this job declares: the kind's ``ram_gb``, or more when its estimate says so."""
        if self.estimate_ram is None:
            return self.ram_gb
        estimate = float(self.estimate_ram(params))
        return max(self.ram_gb, estimate) if math.isfinite(estimate) else self.ram_gb

    def description(self, params: dict[str, Any]) -> str:
        if self.describe is None:
            return f"Running {self.kind.replace('_', ' ')}..."
        return self.describe(params)[:500]


def register_task(
    kind: str,
    *,
    cpu_cores: float = 1.0,
    ram_gb: float = 0.5,
    validate: Validator | None = None,
    describe: Describer | None = None,
    estimate_ram: RamEstimate | None = None,
) -> Callable[[TaskFunction], TaskFunction]:
    """Mark ``fn`` as the runner of ``kind`` with its declared CPU cores and RAM (GB); a job whose
    need depends on its input declares more through ``estimate_ram`` (``ram_gb`` is the floor)."""
    if not kind or len(kind) > 64:
        raise ValueError("a task kind is 1-64 characters")
    for name, value in (("cpu_cores", cpu_cores), ("ram_gb", ram_gb)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value}")

    def mark(fn: TaskFunction) -> TaskFunction:
        spec = TaskSpec(kind, fn, float(cpu_cores), float(ram_gb), validate, describe, estimate_ram)
        setattr(fn, _SPEC_ATTRIBUTE, spec)
        return fn

    return mark


def task_spec(fn: Callable[..., Any]) -> TaskSpec:
    spec = getattr(fn, _SPEC_ATTRIBUTE, None)
    if not isinstance(spec, TaskSpec):
        raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} is not marked with @register_task")
    return spec


class TaskKinds:
    """The task kinds one queue runs, from functions marked with ``@register_task``."""

    def __init__(self, functions: Iterable[Callable[..., Any]] = ()) -> None:
        self._specs: dict[str, TaskSpec] = {}
        for fn in functions:
            self.add(fn)

    def add(self, fn: Callable[..., Any]) -> TaskSpec:
        spec = task_spec(fn)
        if spec.kind in self._specs and self._specs[spec.kind].fn is not fn:
            raise ValueError(f"task kind {spec.kind!r} is already registered")
        self._specs[spec.kind] = spec
        return spec

    def get(self, kind: str) -> TaskSpec:
        spec = self._specs.get(kind)
        if spec is None:
            known = ", ".join(sorted(self._specs)) or "none"
            raise InvalidRequestError(f"unknown job kind {kind!r}; expected one of: {known}")
        return spec

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._specs))

    def __contains__(self, kind: object) -> bool:
        return kind in self._specs

    def specs(self) -> Mapping[str, TaskSpec]:
        return dict(self._specs)
