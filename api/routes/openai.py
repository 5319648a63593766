"""The OpenAI-compatible front door: `POST /v1/chat/completions` and `GET /v1/models`. A chat
completion is a real task (routed, validated, fallen back and recorded as one from
`/v1/tasks`) that the call waits for; `model` names its task type."""

import time
import uuid
from dataclasses import dataclass
from typing import Annotated

import redis
import redis.asyncio
from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from genroute.api.auth import Principal, Reader
from genroute.api.chat_stream import (
    ChunkWriter,
    PlacedStreamingResponse,
    TaskReads,
    relay_completion,
)
from genroute.api.deps import (
    AsyncRedisDep,
    FinishWaitersDep,
    PolicyDep,
    RedisDep,
    SessionsDep,
    SettingsDep,
)
from genroute.api.errors import OPENAI_ERROR_RESPONSES, field_errors
from genroute.api.openai_chat import (
    chat_completion,
    part_param,
    part_params,
    task_request,
    unfinished_error,
    unreadable_error,
)
from genroute.api.schemas import task_view
from genroute.api.stream_relay import RelayMode, StreamRelay, relay_mode
from genroute.api.submission import SubmissionDep
from genroute.api.waiting import unless_hung_up, wait_until_terminal
from genroute.contract import TaskRequest, TaskStatus, TaskView
from genroute.contract.openai import (
    AUTO_MODEL,
    ChatCompletion,
    ChatCompletionRequest,
    ModelCard,
    ModelList,
)
from genroute.db.tasks import cancel_task, db_now, get_task, task_status
from genroute.errors import RequestRejected
from genroute.policies import RoutingPolicy
from genroute.runtime.finish_events import FinishWaiters, WaitPlace, announce_finished

router = APIRouter(prefix="/v1", tags=["openai"], responses=OPENAI_ERROR_RESPONSES)

# OpenAI's clients retry 408 and 409 answers; a task's own end is final, so say not to.
_FINAL = {"x-should-retry": "false"}


# One server-sent event of a streamed completion, as SSE readers (and schemathesis) parse it.
_SSE_EVENT = {
    "type": "object",
    "properties": {
        "data": {
            "type": "string",
            "description": "a chat.completion.chunk or an OpenAI error object as JSON, or [DONE]",
        },
        "event": {"type": "string"},
    },
    "required": ["data"],
}
_STREAMED = {
    200: {
        "content": {"text/event-stream": {"schema": _SSE_EVENT}},
        "description": "the completion, or with `stream` its chunk events",
    }
}


@router.post("/chat/completions", response_model=ChatCompletion, responses=_STREAMED)
async def chat_completions(
    http_request: Request,
    body: ChatCompletionRequest,
    submission: SubmissionDep,
    policy: PolicyDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    waiters: FinishWaitersDep,
    async_redis: AsyncRedisDep,
    broker: RedisDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Enqueue the task `model` names and answer with its accepted output once it ends. A task
    that fails answers 422, a cancelled one 409, and one still running when the wait ends 408;
    each error names the task, which stays readable at `/v1/tasks/{id}`. With `stream`, the
    answer is OpenAI's chunk events (see chat_stream).

    In order: check the request, spend the key's rate, reserve the wait's place (overload is
    answered here, before any task exists), submit, then wait. Once the task exists every
    answer names it and says `x-should-retry: false`, so a retrying client never makes a
    second task. A client that hangs up before the answer gives its task up (cancelled if
    still queued): a call that failed leaves no work running behind it."""
    request = _task_request(body, policy, idempotency_key)
    submission.charge(1)
    place = waiters.reserve()
    try:
        [outcome] = await run_in_threadpool(submission.submit, [request])
        if isinstance(outcome, RequestRejected):
            raise part_param(part_params(body), outcome)
    except BaseException:
        place.release()
        raise
    reads = _TaskReads(outcome.accepted.id, submission.principal, sessions, waiters, broker)
    budget_s = body.genroute.wait_s or settings.chat_wait_s
    if body.stream:
        mode = _relay_mode(policy, request, body.genroute.stream_drafts)
        return _streamed(body, reads, StreamRelay(mode), budget_s, place, async_redis)
    with place:
        try:
            wait = wait_until_terminal(waiters, place, reads.task_id, reads.status, budget_s)
            if await unless_hung_up(wait, http_request):
                await run_in_threadpool(reads.give_up)
                return Response(status_code=499)  # nobody reads it; logged as the client's
            view = await run_in_threadpool(reads.load)
        except (DBAPIError, PoolTimeout, redis.RedisError) as exc:
            error = unreadable_error(reads.task_id, exc)
            return JSONResponse(status_code=408, content=error, headers=_FINAL)
    if view.status == TaskStatus.succeeded:
        return JSONResponse(chat_completion(view).model_dump(mode="json"))
    code, error = unfinished_error(view, budget_s)
    return JSONResponse(status_code=code, content=error, headers=_FINAL)


def _task_request(
    body: ChatCompletionRequest, policy: RoutingPolicy, idempotency_key: str | None
) -> TaskRequest:
    try:
        return task_request(body, policy.catalog, idempotency_key)
    except ValidationError as exc:
        first = field_errors(exc.errors())[0]
        field = "messages" if first["field"] in ("input", "messages") else first["field"]
        raise RequestRejected(field, first["message"]) from exc


def _relay_mode(policy: RoutingPolicy, request: TaskRequest, drafts: bool) -> RelayMode:
    """The stream's relay mode; a request for `auto` is relayed whole (its task type, so its
    checks, is known only once submitted)."""
    if request.task_type not in policy.catalog.task_types:
        return RelayMode.drafts if drafts else RelayMode.whole
    return relay_mode(policy.catalog.get(request.task_type), request.schema_required, drafts)


@dataclass(frozen=True)
class _TaskReads:
    """One completion's task, read (and given up) by the call that made it."""

    task_id: uuid.UUID
    principal: Principal
    sessions: sessionmaker[Session]
    waiters: FinishWaiters
    broker: redis.Redis

    def status(self) -> TaskStatus:
        with self.sessions() as session:
            found = task_status(session, self.task_id)
        assert found is not None  # accepted above; tasks are never deleted
        return TaskStatus(found[0])

    def load(self) -> TaskView:
        with self.sessions() as session:
            task = get_task(session, self.task_id)
            assert task is not None
            return task_view(task, self.principal.is_admin)

    def give_up(self) -> None:
        """Cancel the task if it is still queued, and wake whoever waits for it."""
        with self.sessions() as session:
            task = cancel_task(session, self.task_id, db_now(session))
            session.commit()
            cancelled = task is not None and task.status == TaskStatus.cancelled.value
        if cancelled:
            announce_finished(self.broker, [self.task_id])

    def on_threads(self) -> TaskReads:
        """The same reads for the stream, on the waiters' own threads."""
        read = self.waiters.read

        async def status() -> TaskStatus:
            return await read(self.status)

        async def load() -> TaskView:
            return await read(self.load)

        async def give_up() -> None:
            await read(self.give_up)

        return TaskReads(status, load, give_up)


def _streamed(
    body: ChatCompletionRequest,
    reads: _TaskReads,
    relay: StreamRelay,
    budget_s: float,
    place: WaitPlace,
    client: redis.asyncio.Redis,
) -> StreamingResponse:
    """The completion as server-sent events, in the place reserved for it."""
    place.watch(reads.task_id)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = ChunkWriter(reads.task_id, body.model)
    events = relay_completion(client, writer, relay, reads.on_threads(), budget_s, include_usage)
    return PlacedStreamingResponse(
        events,
        place,
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
