"""Jobs: status, progress and result of long work (training, batch predictions, backtests), and the
system endpoints (/api/system): resources, queue and the task-event stream (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.response import File, ServerSentEvent, ServerSentEventMessage, Stream
from litestar.status_codes import HTTP_200_OK

from pipelines.app.jobs import default_tasks
from pipelines.db.job_models import JOB_STATUSES
from pipelines.errors import PermissionDeniedError
from pipelines.jobs import JobQueue
from pipelines.jobs.files import FILE_FORMATS, JOB_FILES, csv_chunks
from serving.context import PrincipalDep
from serving.dto import one_of
from serving.providers.jobs import JOBS, JobsDep
from serving.responses import jobs as jr
from serving.responses import shaped
from serving.schemas import doc, doc_text
from serving.schemas import jobs as j

__all__ = ["JobController", "SystemController", "job_alias", "submit_job"]

HEARTBEAT_SECONDS = 5.0
if TYPE_CHECKING:
    JobStatus: TypeAlias = str
    JobKind: TypeAlias = str
    JobFile: TypeAlias = str
    FileFormat: TypeAlias = str
else:
    JobStatus = one_of(JOB_STATUSES)  # an unknown status filter is a 400, listed in the spec
    JobKind = one_of(default_tasks().kinds)
    JobFile = one_of(JOB_FILES)
    FileFormat = one_of(FILE_FORMATS)


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]
    dependencies = JOBS

    @get(
        "/",
        summary="Your jobs (an admin sees all)",
        responses=doc(j.JOBS, 400, 401),
        sync_to_thread=True,
    )
    def list_jobs(
        self,
        jobs: JobsDep,
        principal: PrincipalDep,
        status: Annotated[JobStatus | None, Parameter(description="Only jobs in this status")] = None,
        kind: Annotated[JobKind | None, Parameter(description="Only jobs of this kind")] = None,
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> jr.JobList:
        listed = [j.as_dict() for j in jobs.queue.list_jobs(principal, status=status, kind=kind, limit=limit)]
        return shaped(jr.JobList, {"jobs": listed, "count": len(listed)})

    @get(
        "/{job_id:str}",
        summary="A job's status, progress and result",
        responses=doc(j.JOB, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def get_job(self, jobs: JobsDep, principal: PrincipalDep, job_id: FromPath[str]) -> jr.Job:
        return shaped(jr.Job, jobs.queue.get(job_id, principal).as_dict())

    @post(
        "/{job_id:str}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel a queued or running job",
        responses=doc({**j.JOB, "status": "cancelled"}, 400, 401, 403, 404, 409),
        sync_to_thread=True,
    )
    def cancel(self, jobs: JobsDep, principal: PrincipalDep, job_id: FromPath[str]) -> jr.Job:
        return shaped(jr.Job, jobs.queue.cancel(job_id, principal).as_dict())

    @get(
        "/{job_id:str}/files/{name:str}",
        summary="Download a file of a job: the full equity curve or trades of an answer that was cut",
        description="A backtest or walk-forward answer whose curve was downsampled or whose trades were "
        "cut links here in its `full_curve`: `equity_curve` (timestamp, equity, drawdown per bar) and "
        "`trades` (every round trip), as Parquet, or CSV with `format=csv`.",
        responses=j.job_file_doc(),
        operation_class=j.JobFileOperation,
        sync_to_thread=True,
    )
    def file(
        self,
        jobs: JobsDep,
        principal: PrincipalDep,
        job_id: FromPath[str],
        name: Annotated[JobFile, Parameter(description="Which file")],
        format: Annotated[FileFormat, Parameter(description="parquet (the default) or csv")] = "parquet",
    ) -> Response[Any]:
        path = jobs.job_file(job_id, name, principal)
        if format == "csv":
            headers = {"Content-Disposition": f'attachment; filename="{job_id}-{name}.csv"'}
            return Stream(csv_chunks(path), media_type="text/csv", headers=headers)
        return File(path, filename=f"{job_id}-{name}.parquet", media_type=j.PARQUET_MEDIA_TYPE)


@get(
    "/jobs/{job_id:str}",
    tags=["jobs"],
    dependencies=JOBS,
    summary="A job's status (the URL an accepted request answers)",
    responses=doc(j.JOB, 400, 401, 403, 404),
    sync_to_thread=True,
)
def job_alias(jobs: JobsDep, principal: PrincipalDep, job_id: FromPath[str]) -> jr.Job:
    return shaped(jr.Job, jobs.queue.get(job_id, principal).as_dict())


def _event(kind: str, payload: dict[str, Any]) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=json.dumps(payload, default=str), event=kind)


class SystemController(Controller):
    path = "/api/system"
    tags = ["jobs"]
    dependencies = JOBS

    @get(
        "/resources",
        summary="Resources and tasks (a user sees only their own tasks)",
        responses=doc(j.SYSTEM, 401),
        sync_to_thread=True,
    )
    def resources(self, jobs: JobsDep, principal: PrincipalDep) -> jr.SystemResources:
        answer: dict[str, Any] = {
            "queue": jobs.queue.snapshot(principal.scope_user_id),
            "is_admin": principal.is_admin,
        }
        if principal.is_admin:
            answer["resources"] = jobs.queue.resources()
        return shaped(jr.SystemResources, answer)

    @get(
        "/resources-only",
        summary="CPU and RAM (admin only)",
        responses=doc(j.RESOURCES, 401, 403),
        sync_to_thread=True,
    )
    def resources_only(self, jobs: JobsDep, principal: PrincipalDep) -> jr.ResourcesOnly:
        if not principal.is_admin:
            raise PermissionDeniedError("system resources are for admins only")
        return shaped(jr.ResourcesOnly, {"resources": jobs.queue.resources()})

    @get(
        "/queue",
        summary="Running and queued tasks",
        responses=doc(j.QUEUE, 401),
        sync_to_thread=True,
    )
    def queue(self, jobs: JobsDep, principal: PrincipalDep) -> jr.QueueSnapshot:
        return shaped(jr.QueueSnapshot, jobs.queue.snapshot(principal.scope_user_id))

    @get(
        "/task-events",
        summary="Task events (SSE): initial_state, task_queued, task_running, task_completed, "
        "task_description_update, heartbeat every 5 s; ?token= for EventSource",
        description="The stream ends with a `revoked` event (its reason in `error.message`) when "
        "its user is disabled or deleted, its API key revoked, or, for an admin's stream of every "
        "user's jobs, the admin role removed.",
        opt={"query_token": True},
        responses={
            **doc_text("text/event-stream", j.SSE_EXAMPLE, "Task events, one SSE message each"),
            401: doc(j.JOB, 401)[401],
        },
    )
    async def task_events(
        self, jobs: JobsDep, principal: PrincipalDep, request: Request[Any, Any, Any]
    ) -> ServerSentEvent:
        mine = principal.scope_user_id
        initial = await asyncio.to_thread(jobs.queue.snapshot, mine)
        token, queue = jobs.job_streams.open()
        api_key = request.headers.get("x-api-key")

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            # An admin's stream shows every user's jobs: it ends when its user stops being an admin.
            grant = jobs.streams.open(principal, api_key, needs_admin=principal.is_admin)
            try:
                yield _event(
                    "initial_state",
                    {"type": "initial_state", "data": initial, "is_admin": principal.is_admin},
                )
                async for event in _events_until_revoked(queue, grant.ended):
                    if event is None:
                        yield _event("heartbeat", {"type": "heartbeat"})
                    elif mine is None or event.get("user_id") == mine:
                        yield _event(event["type"], {"type": event["type"], "data": event["data"]})
                reason = grant.ended.result()
                yield _event(
                    "revoked", {"type": "revoked", "error": {"code": "UNAUTHORIZED", "message": reason}}
                )
            finally:
                jobs.streams.close(grant)
                jobs.job_streams.close(token)

        return ServerSentEvent(stream())


async def _events_until_revoked(
    queue: asyncio.Queue[dict[str, Any]], ended: asyncio.Future[str]
) -> AsyncIterator[dict[str, Any] | None]:
    """The stream's job events, None after each quiet heartbeat interval, until ``ended`` is set."""
    getting: asyncio.Future[dict[str, Any]] | None = None
    try:
        while not ended.done():
            getting = getting or asyncio.ensure_future(queue.get())
            await asyncio.wait(
                (getting, ended), timeout=HEARTBEAT_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            if ended.done():
                return
            if getting.done():
                event, getting = getting.result(), None
                yield event
            else:
                yield None
    finally:
        if getting is not None:
            getting.cancel()


def submit_job(queue: JobQueue, kind: str, params: dict[str, Any], principal: Any) -> jr.JobAccepted:
    """Queue ``kind`` for the caller (bad params are a 400 now, never a failed job): the job's id,
    position, the reason it waits (if it does) and where to follow it, which the handler answers
    with 202 (:func:`accepted`)."""
    info = queue.submit(kind, params, principal.user_id).as_dict()
    url = f"/api/v1/jobs/{info['job_id']}"
    body = {
        **info,
        "status": info["status"],
        "accepted": True,
        "job_url": url,
        "webhook_url": url,
        "events_url": "/api/system/task-events",
        "estimated_completion": None,
    }
    return shaped(jr.JobAccepted, body)
