"""A CPU sampler for a server process under load (bench_predict_split.py starts the server through it).

``python benchmarks/_sampler.py <command args...>`` runs the ``tradeforge`` CLI with those arguments
in this process, with a profiling timer (``ITIMER_PROF``, every ``TRADEFORGE_SAMPLE_US`` microseconds
of process CPU). Each tick, in the main thread, charges the main thread's CPU time since the previous
tick (``time.thread_time``) to the Python stack running then; the other threads (the log writer) are
read from ``/proc`` by name. ``SIGUSR1`` clears the counts (after the warm-up), ``SIGUSR2`` writes them
as JSON to ``TRADEFORGE_SAMPLE_OUT`` (``{pid}`` in it replaced by the process id):
``{"stacks": [[frames, seconds], ...], "threads": {name: cpu s}}``,
a frame being ``"path:function"`` (outermost first).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

# Paths are shown relative to site-packages or to the served checkout (PYTHONPATH, else this one).
_ROOTS = ("/site-packages/", *(p.rstrip("/") + "/" for p in os.environ.get("PYTHONPATH", "").split(":") if p))
_ROOTS += (str(Path(__file__).resolve().parent.parent) + "/",)
_counts: Counter[tuple[str, ...]] = Counter()
_last = [0.0]
_threads0: dict[str, float] = {}


def _short(path: str) -> str:
    for marker in _ROOTS:
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _stack(frame: FrameType | None) -> tuple[str, ...]:
    names = []
    while frame is not None:
        code = frame.f_code
        names.append(f"{_short(code.co_filename)}:{code.co_name}")
        frame = frame.f_back
    return tuple(reversed(names))


def _tick(signum: int, frame: FrameType | None) -> None:
    now = time.thread_time()
    _counts[_stack(frame)] += now - _last[0]
    _last[0] = now


def _threads() -> dict[str, float]:
    """CPU seconds of each thread of this process, by Python thread name (others by OS name)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name)) or (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _reset(signum: int, frame: FrameType | None) -> None:
    _counts.clear()
    _last[0] = time.thread_time()
    _threads0.clear()
    _threads0.update(_threads())


def _dump(signum: int, frame: FrameType | None) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPROF})  # no tick while the counts are read
    try:
        _write()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPROF})


def _write() -> None:
    threads = {k: v - _threads0.get(k, 0.0) for k, v in _threads().items()}
    out: dict[str, Any] = {"stacks": [[list(s), t] for s, t in _counts.items()], "threads": threads}
    path = os.environ["TRADEFORGE_SAMPLE_OUT"].replace("{pid}", str(os.getpid()))
    Path(path).write_text(json.dumps(out))


def install() -> None:
    """The timer and the two signals, in this process (``_hook/sitecustomize.py`` calls it in every
    process of a server that does not start through this script: the Bento's workers)."""
    interval = int(os.environ.get("TRADEFORGE_SAMPLE_US", "997")) / 1e6
    signal.signal(signal.SIGPROF, _tick)
    signal.signal(signal.SIGUSR1, _reset)
    signal.signal(signal.SIGUSR2, _dump)
    _last[0] = time.thread_time()
    signal.setitimer(signal.ITIMER_PROF, interval, interval)


def main() -> None:
    install()
    from pipelines.cli import app

    sys.argv = ["tradeforge", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
