"""The HTTP API's own bodies beyond the task contract: submissions, batches, listings, path
health and errors. Shared by the API (which serves them) and `genroute.client` (which reads
them), so both sides agree on one typed shape."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from genroute.contract import RouteDecision, TaskStatus


class TaskAccepted(BaseModel):
    """The answer to a submission: the task's id, status and where it was routed.
    `created` is false when an idempotency key matched an earlier submission."""

    id: uuid.UUID
    status: TaskStatus
    route: RouteDecision
    created: bool = True


class BatchSubmit(BaseModel):
    """Many task requests in one call; each item is validated and answered on its own."""

    items: list[dict[str, Any]] = Field(min_length=1)


class FieldError(BaseModel):
    field: str
    message: str


class BatchItemResult(BaseModel):
    """One item's fate: `accepted` (new task), `duplicate` (its idempotency key matched an
    earlier task, whose id is given) or `rejected` (with what was wrong)."""

    index: int
    outcome: Literal["accepted", "duplicate", "rejected"]
    task: TaskAccepted | None = None
    errors: list[FieldError] = []


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    items: list[BatchItemResult]


class TaskSummary(BaseModel):
    """A task in a listing: enough to triage, without its attempts."""

    id: uuid.UUID
    task_type: str
    status: TaskStatus
    path: str
    owner: str | None
    idempotency_key: str | None
    metadata: dict[str, Any]
    attempt_count: int
    output: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class TaskPage(BaseModel):
    """One page of a listing, newest first; pass `next_cursor` back for the next page."""

    items: list[TaskSummary]
    next_cursor: str | None


class PathHealthView(BaseModel):
    """The rollback controller's state of one (path, task type)."""

    path: str
    task_type: str
    state: str
    samples: int
    failures: int
    cooldown_s: float
    data_location: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[FieldError] = []
