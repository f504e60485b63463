"""The /datasets routes answer the fields a client reads, in the order of an SDK session (upload
with name and dataset_type, then list, read and delete)."""

from __future__ import annotations

import time
from typing import Any

from tests.serving_support import make_user

DATA_CSV = b"f1,f2,label\n0.5,0.3,cat\n0.4,0.2,dog\n0.1,0.9,cat\n"
LISTED = {"id", "name", "description", "dataset_type", "file_size", "uploaded_at", "status"}


def test_dataset_lifecycle(client: Any) -> None:
    headers = make_user(client)["headers"]
    files = {"file": ("data.csv", DATA_CSV)}
    data = {"name": "My Dataset", "dataset_type": "classification"}
    response = client.post("/datasets/upload", files=files, data=data, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) >= LISTED and created["status"] == "processing"
    assert created["name"] == "My Dataset" and created["file_size"] == len(DATA_CSV)
    dataset_id = created["id"]

    deadline = time.monotonic() + 60
    while (detail := client.get(f"/datasets/{dataset_id}", headers=headers).json())["status"] == "processing":
        assert time.monotonic() < deadline, "the dataset was not processed in 60 s"
        time.sleep(0.1)
    assert detail["status"] == "ready", detail
    assert set(detail) >= LISTED | {"metadata"}
    meta = detail["metadata"]
    assert meta["rows"] == 3 and meta["columns"] == 3
    assert meta["features"] == ["f1", "f2"] and meta["target"] == "label"

    page = client.get("/datasets?page=1&limit=10&sort_by=size&order=desc", headers=headers).json()
    assert {"total", "page", "limit", "datasets"} <= set(page)
    assert page["total"] == 1 and page["page"] == 1 and page["limit"] == 10
    assert set(page["datasets"][0]) >= LISTED and page["datasets"][0]["status"] == "ready"

    deleted = client.delete(f"/datasets/{dataset_id}", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get("/datasets", headers=headers).json()["total"] == 0
