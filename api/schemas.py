"""API response schemas and their construction from database rows."""

import uuid

from pydantic import BaseModel

from genroute.contract import AttemptView, RouteDecision, TaskStatus, TaskView
from genroute.db.models import Task


class TaskAccepted(BaseModel):
    """The answer to a submission: the task's id, status and where it was routed."""

    id: uuid.UUID
    status: TaskStatus
    route: RouteDecision


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[FieldError] = []


def route_of(task: Task) -> RouteDecision:
    return RouteDecision(
        path=task.route_path,
        rule=task.route_rule,
        policy_version=task.policy_version,
        fallback_path=task.fallback_path,
        reason=task.route_reason,
        max_output_tokens=task.max_output_tokens,
        health=task.route_health,
    )


def task_view(task: Task) -> TaskView:
    return TaskView(
        id=task.id,
        task_type=task.task_type,
        status=TaskStatus(task.status),
        route=route_of(task),
        output=task.output_text,
        error=task.error,
        attempts=[AttemptView.model_validate(a, from_attributes=True) for a in task.attempts],
        created_at=task.created_at,
        finished_at=task.finished_at,
    )
