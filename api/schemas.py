"""Building API answers from database rows (the answer types live in `genroute.contract`,
shared with the Python client)."""

from genroute.contract import AttemptView, RouteDecision, TaskStatus, TaskSummary, TaskView
from genroute.db.models import Attempt, Task


def route_of(task: Task) -> RouteDecision:
    return RouteDecision(
        path=task.route_path,
        rule=task.route_rule,
        policy_version=task.policy_version,
        fallback_path=task.fallback_path,
        reason=task.route_reason,
        max_output_tokens=task.max_output_tokens,
        path_state=task.route_path_state,
    )


# Where an attempt ran, down to the process and the internal server: the operators' business.
OPERATOR_FIELDS = ("worker_host", "worker_name", "worker_pid", "gpu_id")
OPERATOR_FACTS = ("server",)


def attempt_view(attempt: Attempt, for_operator: bool) -> AttemptView:
    view = AttemptView.model_validate(attempt, from_attributes=True)
    if for_operator:
        return view
    facts = {k: v for k, v in view.engine_facts.items() if k not in OPERATOR_FACTS}
    return view.model_copy(update={**dict.fromkeys(OPERATOR_FIELDS), "engine_facts": facts})


def task_view(task: Task, for_operator: bool) -> TaskView:
    """A task as its reader may see it: an admin key sees where each attempt ran."""
    return TaskView(
        id=task.id,
        task_type=task.task_type,
        status=TaskStatus(task.status),
        route=route_of(task),
        output=task.output_text,
        error=task.error,
        attempts=[attempt_view(a, for_operator) for a in task.attempts],
        created_at=task.created_at,
        finished_at=task.finished_at,
        owner=task.owner,
        idempotency_key=task.idempotency_key,
        metadata=task.request.get("metadata", {}),
        input_modality=task.request.get("input_modality", "text"),
        attachments=task.request.get("attachments", []),
        classification=task.classification,
        deadline_at=task.deadline_at,
    )


def task_summary(task: Task) -> TaskSummary:
    return TaskSummary(
        id=task.id,
        task_type=task.task_type,
        status=TaskStatus(task.status),
        path=task.route_path,
        owner=task.owner,
        idempotency_key=task.idempotency_key,
        metadata=task.request.get("metadata", {}),
        attempt_count=task.attempt_count,
        output=task.output_text,
        error=task.error,
        created_at=task.created_at,
        finished_at=task.finished_at,
    )
