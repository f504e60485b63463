"""Where training runs: CUDA when present, the CPU otherwise, and the note that says which and why.

Every model records the device it actually trained on, so "did LightGBM use the GPU?" has an
answer: LightGBM uses it only when the installed build has a GPU tree learner
(:func:`lightgbm_device` probes that once), scikit-learn never does.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np

from pipelines.errors import InvalidRequestError

__all__ = ["DEVICES", "DeviceChoice", "cuda_available", "lightgbm_device", "resolve_device"]

DEVICES = ("cpu", "cuda")
_REQUESTS = ("auto", "cpu", "cuda", "gpu")


@dataclass(frozen=True)
class DeviceChoice:
    """The device a job will use; ``note`` explains a fallback (None when the request was met)."""

    device: str
    note: str | None = None


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(requested: str = "auto") -> DeviceChoice:
    """``auto``: CUDA when available, else CPU. ``cuda``/``gpu`` without CUDA falls back to the CPU
    with a note rather than failing, so a nightly job scheduled for a GPU still trains."""
    req = requested.strip().lower() if isinstance(requested, str) else requested
    if req not in _REQUESTS:
        raise InvalidRequestError(f"unknown device {requested!r}; valid devices: {', '.join(_REQUESTS)}")
    if req == "cpu":
        return DeviceChoice("cpu")
    if cuda_available():
        return DeviceChoice("cuda")
    if req == "auto":
        return DeviceChoice("cpu", "no CUDA device found; training on the CPU")
    return DeviceChoice("cpu", f"{requested!r} was requested but no CUDA device is available; using the CPU")


@contextlib.contextmanager
def _silenced_fds() -> Iterator[None]:
    """Send the process's stdout/stderr file descriptors to /dev/null: LightGBM reports a failed
    GPU probe with a C-level ``[Fatal]`` print that Python-level redirection cannot catch."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


@cache
def lightgbm_device() -> str:
    """LightGBM's ``device_type`` for GPU training: "cuda" or "gpu" (OpenCL) if this build can train
    on one, else "cpu". Probed once per process by training one tree on tiny data: the only reliable
    test, since the PyPI wheels and conda builds differ in what they were compiled with. Only asked
    when a model is to train on cuda, so CPU-only machines never probe."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 2)), rng.random(64)
    for device_type in ("cuda", "gpu"):
        params = {"device_type": device_type, "verbose": -1, "num_leaves": 2, "min_data_in_leaf": 1}
        try:
            with _silenced_fds():
                lgb.train(params, lgb.Dataset(x, y), num_boost_round=1)
        except Exception:  # LightGBMError, or an OpenCL/CUDA runtime failure
            continue
        return device_type
    return "cpu"
