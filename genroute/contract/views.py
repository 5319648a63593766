"""Tasks as producers read them back: the task, its route and every attempt with its verdicts."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from genroute.contract.attachments import InputModality, StoredAttachment
from genroute.contract.tasks import AttemptOutcome, RouteDecision, TaskStatus


class VerdictView(BaseModel):
    """One validator's verdict on an attempt's output."""

    validator: str
    passed: bool
    details: dict[str, Any]


class AttemptView(BaseModel):
    """One try at generating a task's output, as recorded by a worker."""

    id: UUID
    attempt_no: int
    path: str
    queue: str
    engine: str | None
    model: str | None
    worker_host: str | None
    worker_name: str | None
    worker_pid: int | None
    gpu_id: str | None
    outcome: AttemptOutcome
    error: str | None
    output_text: str | None
    tokens_in: int | None
    tokens_out: int | None
    enqueued_at: datetime | None
    started_at: datetime | None
    first_output_at: datetime | None
    finished_at: datetime | None
    # The engine's run of the attempt's batch (None where it never ran): service time, apart
    # from the wait for a batch between the claim (`started_at`) and here.
    engine_started_at: datetime | None = None
    engine_finished_at: datetime | None = None
    engine_facts: dict[str, Any]
    gpu_seconds: float | None = None
    cost: float | None = None
    validations: list[VerdictView] = []


class TaskView(BaseModel):
    """A task as a producer reads it back: status, route, output and every attempt."""

    id: UUID
    task_type: str
    status: TaskStatus
    route: RouteDecision
    output: str | None
    error: str | None
    attempts: list[AttemptView]
    created_at: datetime
    finished_at: datetime | None
    # When its latency budget runs out (a production request that set one): no attempt starts
    # and no fallback is tried after it; the task ends `expired`.
    deadline_at: datetime | None = None
    # What `task_type: auto` resolved to: the type, its confidence and every type's, and
    # whether the default was used; None for a request that named its type.
    classification: dict[str, Any] | None = None
    owner: str | None = None
    idempotency_key: str | None = None
    metadata: dict[str, str | int | float | bool | None] = {}
    # What the request held beside its text, and the attachments as stored at submit.
    input_modality: InputModality = InputModality.text
    attachments: list[StoredAttachment] = []

    def accepted_attempt(self) -> AttemptView | None:
        """The attempt whose output the task accepted (a model's, or the cache's), if any."""
        accepting = (AttemptOutcome.succeeded, AttemptOutcome.cached)
        return next((a for a in reversed(self.attempts) if a.outcome in accepting), None)
