"""The OpenAI-compatible front door: `POST /v1/chat/completions` and `GET /v1/models`. A chat
completion is a real task (routed, validated, fallen back and recorded as one from
`/v1/tasks`) that the call waits for; `model` names its task type."""

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Annotated

import redis.asyncio
from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from genroute.api.auth import Reader
from genroute.api.chat_stream import ChunkWriter, closing, relay_completion
from genroute.api.deps import (
    AsyncRedisDep,
    FinishWaitersDep,
    PolicyDep,
    SessionsDep,
    SettingsDep,
)
from genroute.api.errors import OPENAI_ERROR_RESPONSES, field_errors
from genroute.api.openai_chat import chat_completion, task_request, unfinished_error
from genroute.api.schemas import task_view
from genroute.api.submission import SubmissionDep
from genroute.api.waiting import wait_until_terminal
from genroute.contract import TaskStatus, TaskView
from genroute.contract.openai import (
    AUTO_MODEL,
    ChatCompletion,
    ChatCompletionRequest,
    ModelCard,
    ModelList,
)
from genroute.db.tasks import get_task, task_status
from genroute.errors import RequestRejected
from genroute.runtime.finish_events import FinishWaiters

router = APIRouter(prefix="/v1", tags=["openai"], responses=OPENAI_ERROR_RESPONSES)

# OpenAI's clients retry 408 and 409 answers; a task's own end is final, so say not to.
_FINAL = {"x-should-retry": "false"}


_STREAMED = {
    200: {
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": "the completion, or with `stream` its chunk events",
    }
}


@router.post("/chat/completions", response_model=ChatCompletion, responses=_STREAMED)
async def chat_completions(
    body: ChatCompletionRequest,
    submission: SubmissionDep,
    policy: PolicyDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    waiters: FinishWaitersDep,
    async_redis: AsyncRedisDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Enqueue the task `model` names and answer with its accepted output once it ends. A task
    that fails answers 422, a cancelled one 409, and one still running when the wait ends 408;
    each error names the task, which stays readable at `/v1/tasks/{id}`. With `stream`, the
    answer is OpenAI's chunk events, relayed while the engine generates (see chat_stream)."""
    try:
        request = task_request(body, policy.catalog, idempotency_key)
    except ValidationError as exc:
        first = field_errors(exc.errors())[0]
        field = "messages" if first["field"] in ("input", "messages") else first["field"]
        raise RequestRejected(field, first["message"]) from exc
    submission.charge(1)
    waiters.check_room()
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
    if body.stream:
        return _streamed(body, task_id, status, load, budget_s, waiters, async_redis)
    await wait_until_terminal(waiters, task_id, status, budget_s)
    view = await run_in_threadpool(load)
    if view.status == TaskStatus.succeeded:
        return JSONResponse(chat_completion(view).model_dump(mode="json"))
    code, error = unfinished_error(view, budget_s)
    return JSONResponse(status_code=code, content=error, headers=_FINAL)


def _streamed(
    body: ChatCompletionRequest,
    task_id: uuid.UUID,
    status: Callable[[], TaskStatus],
    load: Callable[[], TaskView],
    budget_s: float,
    waiters: FinishWaiters,
    client: redis.asyncio.Redis,
) -> StreamingResponse:
    """The completion as server-sent events, holding a place among the long polls."""
    places = contextlib.ExitStack()
    places.enter_context(waiters.waiting(task_id))

    async def read_status() -> TaskStatus:
        return await waiters.read(status)

    async def read_task() -> TaskView:
        return await waiters.read(load)

    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = ChunkWriter(task_id, body.model)
    events = relay_completion(client, writer, read_status, read_task, budget_s, include_usage)
    return StreamingResponse(
        closing(events, places.close),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


@router.get("/models")
def list_models(_principal: Reader, policy: PolicyDep) -> ModelList:
    """What `model` may name: each task type of the catalog (`chat` is free conversation)."""
    created = int(time.time())
    cards = [
        ModelCard(id=name, created=created, description=kind.description)
        for name, kind in sorted(policy.catalog.task_types.items())
    ]
    auto = "the task type the request's words resemble most (the task classifier)"
    return ModelList(data=[*cards, ModelCard(id=AUTO_MODEL, created=created, description=auto)])
