"""A timeline of a server process under load (bench_predict_tail.py starts the server through it).

``python benchmarks/_timeline.py <command args...>`` runs the ``tradeforge`` CLI with those arguments
in this process, recording on ``time.perf_counter`` (CLOCK_MONOTONIC, the clock the load client
reads too): every garbage collection (``gc.callbacks``: start, end, generation), every batch insert
of the log writer (start, end, rows) and every request's time inside the app's middleware (end,
seconds). ``SIGUSR1`` clears the records (after the warm-up), ``SIGUSR2`` writes them as JSON to
``TRADEFORGE_TIMELINE_OUT``: ``{"gc": [[t0, t1, gen], ...], "flush": [[t0, t1, rows], ...],
"requests": [[t1, seconds], ...]}``.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

_gc: list[tuple[float, float, int]] = []
_flush: list[tuple[float, float, int]] = []
_requests: list[tuple[float, float]] = []
_gc_began = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_began[0] = time.perf_counter()
    else:
        _gc.append((_gc_began[0], time.perf_counter(), int(info["generation"])))


def _hook_writer() -> None:
    from pipelines.db.writer import BufferedLogWriter

    write = BufferedLogWriter._write

    def timed(self: BufferedLogWriter, batch: list[Any]) -> None:
        t0 = time.perf_counter()
        write(self, batch)
        _flush.append((t0, time.perf_counter(), len(batch)))

    BufferedLogWriter._write = timed  # type: ignore[method-assign]


def _hook_requests() -> None:
    from serving.observation import Observer

    observe = Observer.observe_request

    def timed(self: Observer, scope: Any, **kwargs: Any) -> None:
        _requests.append((time.perf_counter(), float(kwargs["seconds"])))
        observe(self, scope, **kwargs)

    Observer.observe_request = timed  # type: ignore[method-assign]


def _reset(signum: int, frame: FrameType | None) -> None:
    _gc.clear()
    _flush.clear()
    _requests.clear()


def _dump(signum: int, frame: FrameType | None) -> None:
    out = {"gc": list(_gc), "flush": list(_flush), "requests": list(_requests)}
    Path(os.environ["TRADEFORGE_TIMELINE_OUT"]).write_text(json.dumps(out))


def main() -> None:
    signal.signal(signal.SIGUSR1, _reset)
    signal.signal(signal.SIGUSR2, _dump)
    gc.callbacks.append(_on_gc)
    _hook_writer()
    _hook_requests()
    from pipelines.cli import app

    sys.argv = ["tradeforge", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
