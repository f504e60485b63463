"""The catalogue over a real app database (SQLite and PostgreSQL) and job queue: uploads processed
by real worker processes."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipelines.app.accounts import register_user
from pipelines.app.dataset_job import data_bytes, estimate_ram_gb
from pipelines.app.datasets import DatasetCatalog, DatasetView, check_upload
from pipelines.app.jobs import default_tasks
from pipelines.db import Database, Dataset
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError, PermissionDeniedError
from pipelines.jobs import JobQueue
from pipelines.settings import Settings
from tests.image_support import image_bytes, squares_zip, zip_of
from tests.jobs.sample_tasks import FakeProbe

CSV = b"rsi,volume,label\n30,100,up\n70,200,down\n55,150,up\n"


@dataclass(frozen=True)
class Who:
    id: str
    is_admin: bool = False


@pytest.fixture
def probe() -> FakeProbe:
    return FakeProbe()


@pytest.fixture
def catalog(settings: Settings, database: Database, probe: FakeProbe) -> Iterator[DatasetCatalog]:
    queue = JobQueue(
        settings, database, default_tasks(), probe=probe, progress_interval=0.0, poll_interval=0.1
    )
    with queue:
        yield DatasetCatalog(settings, database, queue)


def _user(database: Database, name: str, role: str = "user") -> Who:
    with database.transaction() as session:
        user = register_user(session, name, "correct-horse-battery", role=role)
        return Who(user.id, role == "admin")


def _upload(
    catalog: DatasetCatalog, who: Who, name: str, content: bytes = CSV, file_name: str = "d.csv", **kw: str
) -> DatasetView:
    request = check_upload(
        name=name,
        description=kw.get("description"),
        dataset_type=kw.get("dataset_type", "classification"),
        file_name=file_name,
        target=kw.get("target"),
    )
    return catalog.upload(who.id, request, io.BytesIO(content))


def _settled(catalog: DatasetCatalog, dataset_id: str, who: Who) -> DatasetView:
    view = catalog.get(dataset_id, who)
    assert view.record.job_id is not None
    catalog.jobs.wait(view.record.job_id, timeout=60)
    return catalog.get(dataset_id, who)


def test_an_upload_is_processed_into_parquet_and_described(
    catalog: DatasetCatalog, database: Database
) -> None:
    alice = _user(database, "alice")
    bars = "Date,Open,High,Low,Close,Volume,Symbol\n" + "".join(
        f"2024-01-{d:02d},{100 + d},{102 + d},{99 + d},{101 + d},{1000 * d},BTC/USDT\n" for d in range(1, 21)
    )
    table = _upload(catalog, alice, "table", description="signals")
    series = _upload(catalog, alice, "btc", bars.encode(), "btc.csv", dataset_type="bars")
    assert table.status == "processing" and table.record.file_size == len(CSV)
    assert table.as_dict()["description"] == "signals" and len(table.record.sha256) == 64

    done = _settled(catalog, table.record.id, alice)
    assert done.status == "ready" and done.progress == 100.0 and done.error is None
    assert done.metadata is not None
    assert done.metadata["rows"] == 3 and done.metadata["features"] == ["rsi", "volume"]
    assert done.metadata["target"] == "label"
    stored = pd.read_parquet(catalog.files.data_path(table.record.id))
    assert stored["label"].tolist() == ["up", "down", "up"]
    assert sorted(p.name for p in catalog.files.folder(table.record.id).iterdir()) == ["data.parquet"]

    bars_done = _settled(catalog, series.record.id, alice)
    assert bars_done.status == "ready", bars_done.error
    assert bars_done.record.dataset_type == "ohlcv"
    assert bars_done.metadata is not None
    assert bars_done.metadata["symbol"] == "BTC/USDT" and bars_done.metadata["timeframe"] == "1d"
    assert bars_done.metadata["quality"]["gap_count"] == 0

    payload = catalog.processed_event({"task_id": bars_done.record.job_id})
    assert payload["dataset_id"] == series.record.id and payload["status"] == "ready"
    assert payload["metadata"]["rows"] == 20 and payload["name"] == "btc"


def test_a_bad_file_fails_with_its_reason_and_leaves_no_upload(
    catalog: DatasetCatalog, database: Database
) -> None:
    bob = _user(database, "bob")
    view = _upload(catalog, bob, "bad", b"x,label\n1,a\n2,a\n")
    done = _settled(catalog, view.record.id, bob)
    assert done.status == "failed" and done.metadata is None
    assert done.error is not None and "single class 'a'" in done.error and "'d.csv'" in done.error
    assert not any(catalog.files.folder(view.record.id).iterdir())
    payload = catalog.processed_event({"task_id": done.record.job_id})
    assert payload["status"] == "failed" and "single class" in payload["error"]


def test_an_image_zip_is_decoded_into_arrays_and_described(
    catalog: DatasetCatalog, database: Database, settings: Settings
) -> None:
    dana = _user(database, "dana")
    view = _upload(catalog, dana, "squares", squares_zip(5), "squares.zip", dataset_type="image")
    assert view.record.dataset_type == "image" and view.record.file_format == "zip"
    done = _settled(catalog, view.record.id, dana)
    assert done.status == "ready" and done.metadata is not None, done.error
    shape = [settings.uploads.image_height, settings.uploads.image_width, 3]
    assert done.metadata["rows"] == 10 and done.metadata["image_shape"] == shape
    assert done.metadata["classes"] == {"blue": 5, "red": 5} and done.metadata["num_classes"] == 2
    images, labels = catalog.files.read_images(view.record.id)
    assert images.shape == (10, *shape) and sorted(set(labels.tolist())) == ["blue", "red"]
    assert sorted(p.name for p in catalog.files.folder(view.record.id).iterdir()) == [
        "images.npy",
        "labels.npy",
    ]
    assert [v.record.id for v in catalog.list(dana.id, dataset_type="image").items] == [view.record.id]

    broken = zip_of({"cat/a.png": image_bytes(), "dog/b.jpg": b"not a jpeg"})
    bad = _settled(
        catalog, _upload(catalog, dana, "bad", broken, "pets.zip", dataset_type="image").record.id, dana
    )
    assert bad.status == "failed" and bad.error is not None
    assert "'pets.zip:dog/b.jpg' is not a readable PNG or JPEG image" in bad.error
    assert not any(catalog.files.folder(bad.record.id).iterdir())


def test_refused_uploads_leave_nothing_behind(
    catalog: DatasetCatalog, database: Database, settings: Settings
) -> None:
    carol = _user(database, "carol")
    _upload(catalog, carol, "taken")
    with pytest.raises(ConflictError, match="already have a dataset named 'taken'"):
        _upload(catalog, carol, "taken")
    with pytest.raises(InvalidRequestError, match="the uploaded file is empty"):
        _upload(catalog, carol, "empty", b"")
    small = Settings(home=settings.home, dataset_max_upload_mb=1)
    tight = DatasetCatalog(small, database, catalog.jobs)
    with pytest.raises(InvalidRequestError, match="larger than the 1 MB"):
        _upload(tight, carol, "big", b"a,label\n" + b"1,x\n" * 300_000)
    with database.session() as session:
        assert [d.name for d in session.query(Dataset).all()] == ["taken"]
    assert len(list(settings.datasets_dir.iterdir())) == 1
    assert len(catalog.jobs.list_jobs(carol)) == 1


def test_listing_pages_sorts_and_filters(
    catalog: DatasetCatalog, database: Database, probe: FakeProbe
) -> None:
    probe.available_gb = 0.1  # nothing is admitted: every dataset stays processing
    dave, erin = _user(database, "dave"), _user(database, "erin")
    sizes = {"c": 30, "a": 10, "b": 20}
    for name, rows in sizes.items():
        _upload(catalog, dave, name, b"x,y\n" + b"1,2\n" * rows)
    _upload(catalog, erin, "erin's", dataset_type="regression", target="rsi")

    first = catalog.list(dave.id, page=1, limit=2, sort_by="name", order="asc")
    assert first.total == 3 and [v.record.name for v in first.items] == ["a", "b"]
    assert first.as_dict()["pages"] == 2 and "metadata" not in first.as_dict()["datasets"][0]
    second = catalog.list(dave.id, page=2, limit=2, sort_by="name", order="asc")
    assert [v.record.name for v in second.items] == ["c"]
    by_size = catalog.list(dave.id, sort_by="size", order="desc")
    assert [v.record.name for v in by_size.items] == ["c", "b", "a"]
    newest = catalog.list(dave.id)
    assert [v.record.name for v in newest.items] == ["b", "a", "c"]
    assert catalog.list(dave.id, status="processing").total == 3
    assert catalog.list(dave.id, status="ready").total == 0
    assert catalog.list(None).total == 4  # an admin
    assert [v.record.name for v in catalog.list(None, dataset_type="regression").items] == ["erin's"]
    for bad, problem in (
        ({"page": 0}, "page must be at least 1"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"sort_by": "rows"}, "expected one of: name, created_at, size"),
        ({"order": "up"}, "order must be asc or desc"),
        ({"status": "done"}, "expected one of: processing, ready, failed"),
        ({"dataset_type": "images"}, "unknown dataset_type"),
    ):
        with pytest.raises(InvalidRequestError, match=problem):
            catalog.list(dave.id, **bad)  # type: ignore[arg-type]


def test_owners_and_deletion(catalog: DatasetCatalog, database: Database, probe: FakeProbe) -> None:
    probe.available_gb = 0.1
    frank, grace = _user(database, "frank"), _user(database, "grace")
    admin = _user(database, "root", role="admin")
    view = _upload(catalog, frank, "mine")
    with pytest.raises(PermissionDeniedError):
        catalog.get(view.record.id, grace)
    with pytest.raises(PermissionDeniedError):
        catalog.delete(view.record.id, grace)
    assert catalog.get(view.record.id, admin).record.name == "mine"
    with pytest.raises(DataNotFoundError):
        catalog.get("no-such-id", frank)

    catalog.delete(view.record.id, frank)  # still queued: its job is cancelled
    assert catalog.jobs.info(str(view.record.job_id)).status == "cancelled"
    assert not catalog.files.folder(view.record.id).exists()
    with pytest.raises(DataNotFoundError):
        catalog.get(view.record.id, frank)
    assert catalog.processed_event({"task_id": view.record.job_id}) is None  # nothing to announce
    with pytest.raises(InvalidRequestError, match="deleted while it was processed"):
        catalog.files.write_data(view.record.id, pd.DataFrame({"x": [1]}))
    assert not catalog.files.folder(view.record.id).exists(), "a late write does not bring it back"
    _upload(catalog, frank, "mine")  # the name is free again


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": "  "}, "name '  ' must not start or end with whitespace"),
        ({"name": "data\n"}, "name 'data\\\\n' must not contain control"),
        ({"file_name": "data.xlsx"}, "unsupported type"),
        ({"file_name": ""}, "needs a name"),
        ({"dataset_type": "images"}, "unknown dataset_type"),
        ({"dataset_type": "ohlcv", "target": "close"}, "no target column"),
        ({"dataset_type": "image", "file_name": "x.zip", "target": "y"}, "an image dataset has no target"),
        (
            {"dataset_type": "image"},
            "an image dataset is a ZIP of one folder of PNG or JPEG images per class",
        ),
    ],
)
def test_upload_fields_are_checked(fields: dict[str, str], problem: str) -> None:
    base = {"name": "n", "description": None, "dataset_type": "classification", "file_name": "x.csv"}
    with pytest.raises(InvalidRequestError, match=problem):
        check_upload(**{**base, **fields})  # type: ignore[arg-type]


def test_a_blank_target_is_no_target() -> None:
    request = check_upload(name="n", description=None, dataset_type="ohlcv", file_name="b.csv", target="  ")
    assert request.target is None


def test_a_windows_path_keeps_only_the_file_name() -> None:
    request = check_upload(name="n", description=None, dataset_type="regression", file_name="C:\\data\\x.CSV")
    assert request.file_name == "x.CSV" and request.file_format == "csv"
    assert Path(request.file_name).name == request.file_name


def test_processing_declares_the_ram_its_file_needs(tmp_path: Path) -> None:
    csv_gz = gzip.compress(b"a,label\n" + b"1,x\n" * 1000)
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("rows.json", b"[" + b"{}," * 333 + b"{}]")
        z.writestr("more.csv.gz", csv_gz)
        z.writestr("notes.docx", b"ignored")
    assert data_bytes(archive, "zip") == {"json": 1003, "csv": 5 * len(csv_gz)}
    plain = tmp_path / "upload.parquet"
    plain.write_bytes(b"x" * 100)
    assert data_bytes(plain, "parquet") == {"parquet": 100}
    assert estimate_ram_gb({"data_bytes": {"json": 1e9, "csv": 2e9}}) == pytest.approx(0.5 + 12 + 6)
    assert estimate_ram_gb({}) == pytest.approx(0.5)
    assert estimate_ram_gb({"data_bytes": {"image": 1e9}}) == pytest.approx(0.5 + 1.5)


def test_a_file_too_big_for_the_machine_is_refused_and_removed(
    catalog: DatasetCatalog, database: Database, probe: FakeProbe, settings: Settings
) -> None:
    probe.total_gb = 0.9
    owner = _user(database, "hal")
    with pytest.raises(
        InvalidRequestError, match=r"a dataset job needs 1\.0 GB of RAM; this machine has 0\.9 GB"
    ):
        _upload(catalog, owner, "too big")
    assert not settings.datasets_dir.exists() or not any(settings.datasets_dir.iterdir())
    assert catalog.list(owner.id).total == 0
