"""The OpenAI-compatible front door: `POST /v1/chat/completions` and `GET /v1/models`. A chat
completion is a real task (routed, validated, fallen back and recorded as one from
`/v1/tasks`) that the call waits for; `model` names its task type."""

import time
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from genroute.api.auth import Reader
from genroute.api.deps import FinishWaitersDep, PolicyDep, SessionsDep, SettingsDep
from genroute.api.errors import OPENAI_ERROR_RESPONSES, field_errors
from genroute.api.openai_chat import chat_completion, task_request, unfinished_error
from genroute.api.schemas import task_view
from genroute.api.submission import SubmissionDep
from genroute.api.waiting import wait_until_terminal
from genroute.contract import TaskStatus, TaskView
from genroute.contract.openai import ChatCompletion, ChatCompletionRequest, ModelCard, ModelList
from genroute.db.tasks import get_task, task_status
from genroute.errors import RequestRejected

router = APIRouter(prefix="/v1", tags=["openai"], responses=OPENAI_ERROR_RESPONSES)

# OpenAI's clients retry 408 and 409 answers; a task's own end is final, so say not to.
_FINAL = {"x-should-retry": "false"}


@router.post("/chat/completions", response_model=ChatCompletion)
async def chat_completions(
    body: ChatCompletionRequest,
    submission: SubmissionDep,
    policy: PolicyDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    waiters: FinishWaitersDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Enqueue the task `model` names and answer with its accepted output once it ends. A task
    that fails answers 422, a cancelled one 409, and one still running when the wait ends 408;
    each error names the task, which stays readable at `/v1/tasks/{id}`."""
    if body.stream:
        raise RequestRejected("stream", "streaming is not served yet; send stream: false")
    try:
        request = task_request(body, policy.catalog, idempotency_key)
    except ValidationError as exc:
        first = field_errors(exc.errors())[0]
        field = "messages" if first["field"] in ("input", "messages") else first["field"]
        raise RequestRejected(field, first["message"]) from exc
    submission.charge(1)
    [outcome] = await run_in_threadpool(submission.submit, [request])
    if isinstance(outcome, RequestRejected):
        raise outcome
    task_id = outcome.accepted.id
    principal = submission.principal

    def status() -> TaskStatus:
        with sessions() as session:
            found = task_status(session, task_id)
        assert found is not None  # accepted above; tasks are never deleted
        return TaskStatus(found[0])

    def load() -> TaskView:
        with sessions() as session:
            task = get_task(session, task_id)
            assert task is not None
            return task_view(task, principal.is_admin)

    budget_s = body.genroute.wait_s or settings.chat_wait_s
    await wait_until_terminal(waiters, task_id, status, budget_s)
    view = await run_in_threadpool(load)
    if view.status == TaskStatus.succeeded:
        return JSONResponse(chat_completion(view).model_dump(mode="json"))
    code, error = unfinished_error(view, budget_s)
    return JSONResponse(status_code=code, content=error, headers=_FINAL)


@router.get("/models")
def list_models(_principal: Reader, policy: PolicyDep) -> ModelList:
    """What `model` may name: each task type of the catalog (`chat` is free conversation)."""
    created = int(time.time())
    cards = [
        ModelCard(id=name, created=created, description=kind.description)
        for name, kind in sorted(policy.catalog.task_types.items())
    ]
    return ModelList(data=cards)
