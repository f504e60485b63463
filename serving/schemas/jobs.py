"""Examples of the job and system routes, and the documentation of their 202 and file answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema

from serving.responses.jobs import JobAccepted
from serving.schemas import doc_text
from serving.schemas.admin_examples import NOW, USER_ID

__all__ = [
    "CSV_EXAMPLE", "JOB", "JOBS", "JOB_ACCEPTED", "PARQUET_MEDIA_TYPE", "QUEUE", "RESOURCES", "SSE_EXAMPLE",
    "SYSTEM", "JobFileOperation", "accepted_doc", "job_file_doc",
]  # fmt: skip


JOB: dict[str, Any] = {
    "job_id": "5f0c1d2e-8a1b-4c3d-9e8f-0a1b2c3d4e5f",
    "task_id": "5f0c1d2e-8a1b-4c3d-9e8f-0a1b2c3d4e5f",
    "task_type": "training",
    "status": "completed",
    "progress": 100.0,
    "description": "Training lightgbm lgbm_aapl on AAPL 1d...",
    "params": {"model_type": "lightgbm", "model_name": "lgbm_aapl", "symbol": "AAPL"},
    "result": {"model_name": "lgbm_aapl", "version": "2", "champion": True},
    "error": None,
    "user_id": USER_ID,
    "queue_position": None,
    "reason": None,
    "message": None,
    "estimated_cpu_cores": 2.0,
    "estimated_ram_gb": 2.0,
    "cancel_requested": False,
    "created_at": NOW,
    "started_at": NOW,
    "finished_at": NOW,
}
JOB_ACCEPTED: dict[str, Any] = {
    **JOB,
    "status": "queued",
    "progress": 0.0,
    "result": None,
    "queue_position": 3,
    "reason": "Insufficient RAM: 8.5 GB available, 12.0 GB required",
    "message": "Model training queued due to insufficient resources. Position in queue: 3",
    "started_at": None,
    "finished_at": None,
    "accepted": True,
    "job_url": "/api/v1/jobs/5f0c1d2e-8a1b-4c3d-9e8f-0a1b2c3d4e5f",
    "webhook_url": "/api/v1/jobs/5f0c1d2e-8a1b-4c3d-9e8f-0a1b2c3d4e5f",
    "events_url": "/api/system/task-events",
    "estimated_completion": None,
}
JOBS: dict[str, Any] = {"jobs": [JOB], "count": 1}
QUEUE: dict[str, Any] = {
    "running_count": 1,
    "queued_count": 1,
    "running_tasks": [
        {"task_id": JOB["task_id"], "task_type": "training", "description": JOB["description"]}
    ],
    "queued_tasks": [
        {
            "task_id": "77aa0c1d-2e3f-4a5b-8c9d-0e1f2a3b4c5d",
            "task_type": "backtest",
            "queue_position": 1,
            "estimated_cpu_cores": 1.0,
            "estimated_ram_gb": 1.0,
            "queued_at": NOW,
        }
    ],
}
RESOURCES: dict[str, Any] = {
    "resources": {
        "cpu": {"available_cores": 8, "in_use_cores": 2.5, "usage_percent": 31.25},
        "ram": {"total_gb": 16.0, "available_gb": 8.5, "in_use_gb": 7.5, "usage_percent": 46.88},
    }
}
SYSTEM: dict[str, Any] = {"queue": QUEUE, "is_admin": True, **RESOURCES}
SSE_EXAMPLE = (
    'event: initial_state\ndata: {"type": "initial_state", "data": {"running_count": 0, "queued_count": 0, '
    '"running_tasks": [], "queued_tasks": []}, "is_admin": false}\n\n'
    'event: task_queued\ndata: {"type": "task_queued", "data": {"task_id": "...", "task_type": "training", '
    '"queue_position": 1}}\n\nevent: heartbeat\ndata: {"type": "heartbeat"}\n\n'
)


def accepted_doc() -> dict[int, ResponseSpec]:
    """The 202 answer of a request sent with ``"async": true``: the queued (or started) job."""
    spec = ResponseSpec(
        data_container=JobAccepted,
        description='Accepted ("async": true): the job, its queue position and where to follow it',
        generate_examples=False,
        examples=[Example(summary="queued", value=JOB_ACCEPTED)],
    )
    return {202: spec}


PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
CSV_EXAMPLE = (
    "timestamp,equity,drawdown\n"
    "2024-01-01 00:00:00.000000000Z,100000,0\n"
    "2024-01-01 01:00:00.000000000Z,99870.5,-0.001295\n"
)


def job_file_doc() -> dict[int, ResponseSpec]:
    """The download of a job's file: Parquet at 200 (CSV added by ``JobFileOperation``), the error
    envelope at 400, 401, 403 (another user's job), 404 (an unknown job, or no such file) and 429."""
    return doc_text(
        PARQUET_MEDIA_TYPE,
        "(a Parquet file)",
        "The file: Parquet, or CSV with a header row when format=csv; sent as an attachment",
        400,
        401,
        403,
        404,
    )


@dataclass
class JobFileOperation(Operation):
    """The download's operation, documenting the CSV answer beside the Parquet one."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content["text/csv"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING),
                examples={"csv": Example(summary="format=csv", value=CSV_EXAMPLE)},
            )
