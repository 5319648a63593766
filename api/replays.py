"""Idempotent replays: a request whose idempotency key its owner used before answers with the
original task (409 when the request differs), and a key repeated within one call answers like
its first use."""

from dataclasses import dataclass

from genroute.api.schemas import route_of
from genroute.contract import StoredAttachment, TaskAccepted, TaskRequest, TaskStatus
from genroute.db.models import Task
from genroute.errors import IdempotencyConflict, RequestRejected


@dataclass(frozen=True)
class Submitted:
    """A request's answer: the task (new or the original of an idempotent replay)."""

    accepted: TaskAccepted


Outcome = Submitted | RequestRejected


def replay_of(
    task: Task, request: TaskRequest, attachments: list[StoredAttachment] | None = None
) -> Outcome:
    """The answer to `request` (its `attachments` as taken in) when its idempotency key
    already names `task`."""
    if task.request != request.record(attachments):
        return IdempotencyConflict(
            "idempotency_key",
            f"'{request.idempotency_key}' was already used for a different request (task "
            f"{task.id}); use a new key for a new request",
        )
    return Submitted(
        TaskAccepted(
            id=task.id, status=TaskStatus(task.status), route=route_of(task), created=False
        )
    )


def repeat_of(first: Outcome | None, first_request: TaskRequest, request: TaskRequest) -> Outcome:
    """The answer to a later item of one call that repeats the idempotency key of `first`."""
    if not isinstance(first, Submitted):
        return first if first is not None else RequestRejected("idempotency_key", "not accepted")
    if first_request != request:
        return IdempotencyConflict(
            "idempotency_key",
            f"'{request.idempotency_key}' appears twice in this call with different requests",
        )
    return Submitted(first.accepted.model_copy(update={"created": False}))
