"""Submit a task and read it back. Persist first, then publish: a task is never in the broker
without its row, and one that misses the broker is republished by the sweeper."""

import logging
import uuid

import redis
from fastapi import APIRouter, status

from api.deps import CeleryDep, HealthDep, PolicyDep, SessionDep, SettingsDep
from api.schemas import ErrorBody, TaskAccepted, route_of, task_view
from genroute.contract import TaskRequest, TaskStatus, TaskView
from genroute.db.tasks import create_task, get_task, mark_published
from genroute.errors import InputTooLarge, TaskNotFound
from genroute.health import record_event
from genroute.queueing import publish

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

_ERRORS = {
    404: {"model": ErrorBody},
    413: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=_ERRORS)
def submit_task(
    request: TaskRequest,
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    celery: CeleryDep,
    health: HealthDep,
) -> TaskAccepted:
    """Validate, route and persist a request, then queue it on its path."""
    if len(request.input) > settings.max_input_chars:
        raise InputTooLarge(
            "input",
            f"input is {len(request.input)} characters; the limit is {settings.max_input_chars}",
        )
    decision = policy.decide(request)
    if policy.can_roll_back(decision.path):
        try:
            admission = health.admit(decision.path.value, request.task_type)
        except redis.RedisError:
            # Health lives in Redis; without it, keep accepting on the rules' route (the task is
            # persisted and the sweeper publishes it once the broker is back).
            log.warning("path health unreadable; routing %s by the rules alone", decision.path)
            decision = policy.with_health(decision, "unknown", admitted=True)
        else:
            if admission.transition is not None:
                record_event(session, decision.path.value, request.task_type, admission.transition)
            decision = policy.with_health(decision, admission.state.value, admission.admitted)
    task = create_task(session, request, decision, settings.max_attempts)
    session.commit()
    try:
        publish(celery, task.id, task.queue, request.priority)
        mark_published(session, task.id)
        session.commit()
    except Exception:  # the row is committed; the sweeper publishes it once the broker is back
        log.exception("publishing task %s failed; the sweeper will retry", task.id)
        session.rollback()
    return TaskAccepted(id=task.id, status=TaskStatus.queued, route=route_of(task))


@router.get("/{task_id}", responses=_ERRORS)
def read_task(task_id: uuid.UUID, session: SessionDep) -> TaskView:
    """Status, route decision, output and every attempt of one task."""
    task = get_task(session, task_id)
    if task is None:
        raise TaskNotFound(f"no task with id {task_id}")
    return task_view(task)
