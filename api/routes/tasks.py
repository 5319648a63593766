"""Submit, read (and wait for), list and cancel tasks. Submission itself lives in
`genroute.api.submission`; these handlers check keys, scopes and rate limits and shape the
answers."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from genroute.api.auth import Principal, Reader, Submitter
from genroute.api.deps import (
    FinishWaitersDep,
    RedisDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from genroute.api.errors import ERROR_RESPONSES, field_errors
from genroute.api.replays import Submitted
from genroute.api.schemas import task_summary, task_view
from genroute.api.submission import SubmissionDep
from genroute.api.waiting import unless_hung_up, wait_until_terminal
from genroute.contract import (
    BatchItemResult,
    BatchResult,
    BatchSubmit,
    FeedbackIn,
    FeedbackView,
    FieldError,
    PathName,
    Purpose,
    TaskAccepted,
    TaskPage,
    TaskRequest,
    TaskStatus,
    TaskTypeName,
    TaskView,
)
from genroute.db.feedback import record_feedback
from genroute.db.listing import TaskQuery, list_tasks
from genroute.db.models import Task
from genroute.db.tasks import cancel_task, db_now, get_task, task_status
from genroute.errors import (
    BudgetExceeded,
    NoOutputToReview,
    RequestRejected,
    TaskNotCancellable,
    TaskNotFound,
)
from genroute.runtime.finish_events import announce_finished

router = APIRouter(prefix="/v1/tasks", tags=["tasks"], responses=ERROR_RESPONSES)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def submit_task(
    request: TaskRequest, response: Response, submission: SubmissionDep
) -> TaskAccepted:
    """Validate, route and persist a request, then queue it on its path. A repeated
    `idempotency_key` answers 200 with the original task instead of creating another."""
    submission.charge(1)
    [outcome] = submission.submit([request])
    if isinstance(outcome, RequestRejected):
        raise outcome
    submission.warn(response)
    if not outcome.accepted.created:
        response.status_code = status.HTTP_200_OK
    return outcome.accepted


@router.post("/batch")
def submit_batch(
    body: BatchSubmit, response: Response, submission: SubmissionDep, settings: SettingsDep
) -> BatchResult:
    """Submit up to `GENROUTE_MAX_BATCH_ITEMS` requests; each is validated and answered on its
    own (accepted, duplicate of an earlier idempotency key, or rejected with its errors)."""
    if len(body.items) > settings.max_batch_items:
        raise RequestRejected(
            "items", f"{len(body.items)} items; the limit is {settings.max_batch_items} per call"
        )
    submission.charge(len(body.items))
    results: list[BatchItemResult | None] = [None] * len(body.items)
    valid: list[tuple[int, TaskRequest]] = []
    for index, item in enumerate(body.items):
        try:
            valid.append((index, TaskRequest.model_validate(item)))
        except ValidationError as exc:
            errors = [FieldError(**e) for e in field_errors(exc.errors())]
            results[index] = BatchItemResult(index=index, outcome="rejected", errors=errors)
    outcomes = submission.submit([request for _, request in valid])
    if outcomes and all(isinstance(outcome, BudgetExceeded) for outcome in outcomes):
        raise outcomes[0]  # nothing was made: the call as a whole meets the budget
    submission.warn(response)
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        results[index] = _item_result(index, outcome)
    items = [result for result in results if result is not None]
    return BatchResult(
        accepted=sum(item.outcome == "accepted" for item in items),
        duplicates=sum(item.outcome == "duplicate" for item in items),
        rejected=sum(item.outcome == "rejected" for item in items),
        items=items,
    )


def _item_result(index: int, outcome: Submitted | RequestRejected) -> BatchItemResult:
    if isinstance(outcome, RequestRejected):
        errors = [FieldError(field=outcome.field, message=outcome.message)]
        return BatchItemResult(index=index, outcome="rejected", errors=errors)
    kind = "accepted" if outcome.accepted.created else "duplicate"
    return BatchItemResult(index=index, outcome=kind, task=outcome.accepted)


def _visible(task: Task | None, principal: Principal, task_id: uuid.UUID) -> Task:
    """The task if this caller may see it; another owner's task is as good as absent."""
    if task is None or (principal.owner_filter() not in (None, task.owner)):
        raise TaskNotFound(f"no task with id {task_id}")
    return task


@router.get("")
def list_my_tasks(
    principal: Reader,
    session: SessionDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    task_type: TaskTypeName | None = None,
    path: PathName | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    tag: Annotated[
        list[str],
        Query(description="metadata filter KEY:VALUE (string values); repeat to require all"),
    ] = [],  # noqa: B006 - FastAPI copies query defaults
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    purpose: Annotated[
        Purpose, Query(description="production traffic, evaluation runs or shadow copies")
    ] = Purpose.production,
) -> TaskPage:
    """Your tasks (every owner's with `admin`), newest first, filtered; pass `next_cursor`
    back as `cursor` for the next page."""
    tags = []
    for item in tag:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise RequestRejected("tag", f"'{item}' is not KEY:VALUE")
        tags.append((key, value))
    query = TaskQuery(
        owner=principal.owner_filter(),
        purpose=purpose.value,
        status=status_.value if status_ else None,
        task_type=task_type,
        path=path.value if path else None,
        created_after=created_after,
        created_before=created_before,
        tags=tuple(tags),
        limit=limit,
        cursor=cursor,
    )
    page, next_cursor = list_tasks(session, query)
    return TaskPage(items=[task_summary(task) for task in page], next_cursor=next_cursor)


@router.get("/{task_id}")
async def read_task(
    request: Request,
    task_id: uuid.UUID,
    principal: Reader,
    sessions: SessionsDep,
    settings: SettingsDep,
    waiters: FinishWaitersDep,
    wait: Annotated[float, Query(ge=0, le=600, description="seconds to wait for terminal")] = 0,
) -> TaskView:
    """Status, route decision, output and every attempt of one task. With `wait`, answers as
    soon as the task is terminal or after `wait` seconds (capped by GENROUTE_MAX_WAIT_S); a
    wait holds no database connection, and past GENROUTE_MAX_LONG_POLLS waits in this process
    it answers 503 with Retry-After. A client that hangs up gives its place back at once."""

    def load() -> TaskView:
        with sessions() as session:
            task = _visible(get_task(session, task_id), principal, task_id)
            return task_view(task, principal.is_admin)

    def status() -> TaskStatus:
        with sessions() as session:
            found = task_status(session, task_id)
        if found is None or principal.owner_filter() not in (None, found[1]):
            raise TaskNotFound(f"no task with id {task_id}")
        return TaskStatus(found[0])

    budget_s = min(wait, settings.max_wait_s)
    if budget_s > 0:
        with waiters.reserve() as place:
            wait = wait_until_terminal(waiters, place, task_id, status, budget_s)
            if await unless_hung_up(wait, request):
                return Response(status_code=499)  # nobody reads it; logged as the client's
    return await run_in_threadpool(load)


@router.post("/{task_id}/cancel")
def cancel(
    task_id: uuid.UUID, principal: Submitter, session: SessionDep, broker: RedisDep
) -> TaskView:
    """Cancel a queued task (a cancelled task stays readable). A running or finished task
    cannot be cancelled (409); cancelling twice is harmless."""
    _visible(get_task(session, task_id), principal, task_id)
    task = cancel_task(session, task_id, db_now(session))
    session.commit()
    assert task is not None
    if task.status == TaskStatus.cancelled.value:
        announce_finished(broker, [task_id])
    if task.status != TaskStatus.cancelled.value:
        raise TaskNotCancellable("status", f"the task is {task.status}; only queued tasks cancel")
    return task_view(task, principal.is_admin)


@router.post("/{task_id}/feedback")
def feedback(
    task_id: uuid.UUID, body: FeedbackIn, principal: Submitter, session: SessionDep
) -> FeedbackView:
    """A person's verdict on a succeeded task's output: `accepted`, `edited` (send the edited
    text; the normalised edit distance is stored) or `rejected`, with an optional reason. A
    later verdict replaces the earlier one. The scorecard reports them per group."""
    task = _visible(get_task(session, task_id), principal, task_id)
    if task.status != TaskStatus.succeeded.value or task.output_text is None:
        raise NoOutputToReview("status", f"the task is {task.status}; only outputs get feedback")
    row = record_feedback(session, task.id, task.output_text, body, principal.key_id)
    view = FeedbackView.model_validate(row, from_attributes=True)
    session.commit()
    return view
