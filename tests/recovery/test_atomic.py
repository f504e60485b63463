"""Atomic writes are durable: the temp file is fsynced before the rename and the folder after it."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.data.store import atomic_write_table


def test_atomic_write_fsyncs_file_then_renames_then_fsyncs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fsync's effect shows only after a power loss, so the calls themselves are what is checked
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "year=2024" / "data.parquet"
    atomic_write_table(pa.table({"x": [1, 2, 3]}), target)

    assert pq.read_table(target).column("x").to_pylist() == [1, 2, 3]
    (kind0, synced_file), (kind1, renamed), (kind2, synced_dir) = events
    assert (kind0, kind1, kind2) == ("fsync", "replace", "fsync")
    assert Path(synced_file).parent == target.parent and Path(synced_file).name.startswith(".data.parquet.")
    assert renamed == str(target)
    assert synced_dir == str(target.parent)
    assert sorted(p.name for p in target.parent.iterdir()) == ["data.parquet"]  # no temp file left
