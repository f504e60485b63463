"""Deleting a user cancels their queued and running jobs (the worker really stops) and removes their
datasets' files, whether the deleting process schedules the jobs or another one (the CLI) does."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psutil
import pytest

from pipelines.app.account_admin import delete_account
from pipelines.app.accounts import register_user
from pipelines.datasets.files import DatasetFiles
from pipelines.db import Database, Dataset, Job
from pipelines.errors import ConflictError
from pipelines.jobs import JobQueue
from pipelines.settings import Settings
from tests.jobs.test_queue import wait_until

MakeQueue = Callable[..., JobQueue]


def _user_with_a_dataset(database: Database, files: DatasetFiles, name: str) -> tuple[str, str]:
    with database.transaction() as session:
        user_id = register_user(session, name, "correct-horse-battery").id
        dataset_id = str(uuid.uuid4())
        session.add(
            Dataset(
                id=dataset_id,
                user_id=user_id,
                name="signals",
                dataset_type="classification",
                file_name="s.csv",
                file_format="csv",
                file_size=4,
                sha256="0" * 64,
            )
        )
    files.folder(dataset_id).mkdir(parents=True)
    (files.folder(dataset_id) / "upload.csv").write_text("a,b\n")
    return user_id, dataset_id


def _status(database: Database, job_id: str) -> str:
    with database.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.status


@pytest.mark.parametrize("deleting_process", ["scheduler", "another process"])
def test_deleting_a_user_stops_their_jobs_and_removes_their_files(
    make_queue: MakeQueue, database: Database, settings: Settings, deleting_process: str
) -> None:
    files = DatasetFiles(settings.datasets_dir)
    user_id, dataset_id = _user_with_a_dataset(database, files, "leaver")
    other_id, other_dataset = _user_with_a_dataset(database, files, "stayer")
    scheduler = make_queue(max_workers=1).start()
    running = scheduler.submit("sleep", {"seconds": 60}, owner=user_id)
    queued = scheduler.submit("echo", {}, owner=user_id)
    wait_until(lambda: scheduler.info(running.id).worker_pid is not None)
    pid = scheduler.info(running.id).worker_pid
    assert pid is not None and psutil.pid_exists(pid)

    # The CLI's queue is never started: it only marks the jobs, the scheduler stops the worker.
    deleting = scheduler if deleting_process == "scheduler" else make_queue()
    answer = delete_account(database, deleting, files, "LEAVER")

    assert answer["id"] == user_id and answer["username"] == "leaver"
    assert _status(database, queued.id) == "cancelled"
    wait_until(lambda: _status(database, running.id) == "cancelled", timeout=10)
    wait_until(lambda: not psutil.pid_exists(pid), timeout=10)
    assert not files.folder(dataset_id).exists()
    with database.session() as session:
        assert session.get(Dataset, dataset_id) is None
        assert session.get(Dataset, other_dataset) is not None  # another user's stays
    assert files.folder(other_dataset).is_dir()
    after = scheduler.submit("echo", {}, owner=other_id)  # the queue goes on
    assert scheduler.wait(after.id, timeout=30).status == "completed"


def test_the_last_admin_is_not_deleted_and_nothing_is_cancelled(
    make_queue: MakeQueue, database: Database, settings: Settings
) -> None:
    files = DatasetFiles(settings.datasets_dir)
    with database.transaction() as session:
        admin_id = register_user(session, "root", "correct-horse-battery", role="admin").id
    queue = make_queue(max_workers=1)  # not started: the job stays queued
    job = queue.submit("echo", {}, owner=admin_id)
    with pytest.raises(ConflictError, match="last active admin"):
        delete_account(database, queue, files, "root")
    assert _status(database, job.id) == "queued"
