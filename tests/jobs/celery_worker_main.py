"""A Celery job worker for the tests (``python -m tests.jobs.celery_worker_main CORES``): the backtest
and the sample job kinds, on a machine of CORES cores (settings from the environment). Everything is
imported under ``__main__``: each job's spawned process imports this module again, and needs none of it."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from pipelines.app.backtest import backtest_task
    from pipelines.app.job_worker import run_job_worker
    from pipelines.jobs import TaskKinds
    from pipelines.settings import Settings
    from tests.jobs.sample_tasks import FakeProbe, echo, sleep

    probe = FakeProbe(cores=float(sys.argv[1]))
    tasks = TaskKinds([backtest_task, echo, sleep])
    sys.exit(run_job_worker(Settings(), concurrency=2, tasks=tasks, probe=probe, retry_seconds=1.0))
