"""`tradeforge datasets list/show/delete` over the catalogue of the env home (an operator's view)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from typer.testing import CliRunner

from pipelines.app.accounts import register_user
from pipelines.app.datasets import DatasetCatalog, DatasetView, check_upload
from pipelines.app.jobs import default_tasks
from pipelines.cli import app
from pipelines.db import open_database
from pipelines.jobs import JobQueue
from pipelines.settings import get_settings

runner = CliRunner()
CSV = b"x,y\n1,0.5\n2,0.7\n3,0.1\n"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list_show_and_delete(env_home: Path) -> None:
    settings = get_settings()
    database = open_database(settings)
    with database.transaction() as session:
        owner = register_user(session, "ann", "correct-horse-battery").id
    with JobQueue(settings, database, default_tasks()) as queue:
        catalog = DatasetCatalog(settings, database, queue)

        def upload(name: str, kind: str, file_name: str, content: bytes) -> DatasetView:
            request = check_upload(name=name, description=None, dataset_type=kind, file_name=file_name)
            return catalog.upload(owner, request, io.BytesIO(content))

        good = upload("returns", "regression", "r.csv", CSV)
        bad = upload("broken", "classification", "b.json", b"[1, 2]")
        for view in (good, bad):
            queue.wait(str(view.record.job_id), timeout=60)
    database.close()

    code, out, err = invoke("datasets", "list", "--sort-by", "name", "--order", "asc", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["total"] == 2
    assert [(d["name"], d["status"]) for d in listed["datasets"]] == [
        ("broken", "failed"),
        ("returns", "ready"),
    ]
    code, out, _ = invoke("datasets", "list", "--status", "ready")
    assert code == 0 and "returns" in out and "broken" not in out

    code, out, err = invoke("datasets", "show", good.record.id, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["metadata"]["target"] == "y" and shown["metadata"]["rows"] == 3
    assert Path(shown["data_path"]).is_file()
    code, out, _ = invoke("datasets", "show", bad.record.id)
    assert code == 0 and "failed" in out and "row 1 is a int" in out

    code, out, err = invoke("datasets", "delete", good.record.id)
    assert code == 0 and "deleted dataset 'returns'" in out, err
    assert not Path(shown["data_path"]).exists()
    code, _, err = invoke("datasets", "show", good.record.id)
    assert code == 2 and "no dataset with id" in err
    code, _, err = invoke("datasets", "list", "--sort-by", "rows")
    assert code == 2 and "expected one of: name, created_at, size" in err
