"""A streamed chat completion: OpenAI's `chat.completion.chunk` server-sent events relayed from
the task's output stream (genroute.runtime.output_streams) while its attempts generate, ended
by the accepted output's final chunk and `[DONE]`, or by an OpenAI-shaped error event.

What the client is shown of the attempts' text is decided by api/stream_relay.py: by default
only text validation can no longer refuse; drafts with their events only to a client that asks.
The final chunk's `genroute.output` is always the accepted output.
"""

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Receive, Scope, Send

from genroute.api.openai_chat import (
    completion_id,
    interrupted_error,
    task_record,
    unfinished_error,
    unreadable_error,
)
from genroute.api.stream_relay import DraftRejected, Event, Interrupted, StreamRelay, Text
from genroute.contract import TaskStatus, TaskView
from genroute.runtime.finish_events import WaitPlace
from genroute.runtime.output_streams import ACCEPTED, ATTEMPT, KIND, OFFSET, REASON, TEXT
from genroute.runtime.redis_keys import output_stream_key

_BLOCK_MS = 1000


@dataclass
class ChunkWriter:
    """OpenAI chunk events of one completion."""

    task_id: uuid.UUID
    model: str
    created: int = field(default_factory=lambda: int(time.time()))

    def chunk(
        self,
        delta: dict[str, Any],
        extension: dict[str, Any],
        finish_reason: str | None = None,
    ) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return self._event({"choices": [choice], "genroute": extension})

    def usage(self, prompt_tokens: int, completion_tokens: int) -> str:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return self._event({"choices": [], "usage": usage})

    def _event(self, body: dict[str, Any]) -> str:
        head = {
            "id": completion_id(self.task_id),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }
        return f"data: {json.dumps({**head, **body}, ensure_ascii=False)}\n\n"


def error_event(body: dict[str, Any]) -> str:
    """An error the openai SDK raises as APIError (its body is ours)."""
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


DONE = "data: [DONE]\n\n"


@dataclass(frozen=True)
class TaskReads:
    """The reads and the one write a stream makes of its task, each on the waiters' threads."""

    status: Callable[[], Awaitable[TaskStatus]]
    load: Callable[[], Awaitable[TaskView]]
    # Cancel the task if it is still queued (a call that failed leaves no work behind it).
    give_up: Callable[[], Awaitable[None]]


async def relay_completion(
    client: redis.asyncio.Redis,
    writer: ChunkWriter,
    relay: StreamRelay,
    task: TaskReads,
    budget_s: float,
    include_usage: bool,
) -> AsyncIterator[str]:
    """The events of one streamed completion, until the task ends or `budget_s` passes. The
    stream is already answered 200, so every failure from here on ends it with an error event
    that names the task (the SDK raises it; the task stays readable by id)."""
    yield writer.chunk({"role": "assistant", "content": ""}, {"task_id": str(writer.task_id)})
    try:
        async for event in _relayed_until_end(client, writer, relay, task, budget_s):
            yield event
            if event == DONE:  # ended early: interrupted, or the wait ran out
                return
        async for event in _ending(writer, relay, await task.load(), include_usage):
            yield event
    except (DBAPIError, PoolTimeout, redis.RedisError) as exc:
        yield error_event(unreadable_error(writer.task_id, exc))
        yield DONE


async def _relayed_until_end(
    client: redis.asyncio.Redis,
    writer: ChunkWriter,
    relay: StreamRelay,
    task: TaskReads,
    budget_s: float,
) -> AsyncIterator[str]:
    key, last = output_stream_key(str(writer.task_id)), "0-0"
    deadline = time.monotonic() + budget_s
    terminal = False
    while True:
        # Once the task is terminal, one more read without blocking: the relay's last
        # entries are written after the commit that made it terminal.
        block = None if terminal else _BLOCK_MS
        answer = await client.xread({key: last}, count=512, block=block)
        entries = answer[0][1] if answer else []
        for entry_id, fields in entries:
            last = entry_id
            for event in _entry_events(relay, fields):
                if isinstance(event, Interrupted):
                    await task.give_up()
                    view = await task.load()
                    yield error_event(interrupted_error(view, event.attempt, event.reason))
                    yield DONE
                    return
                yield _shown(writer, event)
        if terminal:
            return
        if not entries or any(f[KIND.encode()] == b"end" for _, f in entries):
            terminal = (await task.status()).is_terminal
        if not terminal and time.monotonic() > deadline:
            view = await task.load()
            yield error_event(unfinished_error(view, budget_s)[1])
            yield DONE
            return


def _entry_events(relay: StreamRelay, fields: dict[bytes, bytes]) -> list[Event]:
    attempt = int(fields[ATTEMPT.encode()])
    kind = fields[KIND.encode()].decode()
    if kind == "text":
        offset = fields.get(OFFSET.encode())
        at = int(offset) if offset is not None else None
        return relay.text(attempt, fields[TEXT.encode()].decode(), at)
    accepted = fields[ACCEPTED.encode()] == b"1"
    return relay.end(attempt, accepted, fields[REASON.encode()].decode())


def _shown(writer: ChunkWriter, event: Event) -> str:
    if isinstance(event, Text):
        return writer.chunk({"content": event.piece}, {"attempt": event.attempt})
    assert isinstance(event, DraftRejected)
    extension = {"event": "draft_rejected", "attempt": event.attempt, "reason": event.reason}
    return writer.chunk({}, extension)


async def _ending(
    writer: ChunkWriter, relay: StreamRelay, view: TaskView, include_usage: bool
) -> AsyncIterator[str]:
    if view.status != TaskStatus.succeeded:
        yield error_event(unfinished_error(view, 0)[1])
        yield DONE
        return
    accepted = view.accepted_attempt()
    assert accepted is not None  # a succeeded task accepted one
    output = view.output or ""
    rest = relay.rest_of(accepted.attempt_no, output)
    if rest:
        yield writer.chunk({"content": rest}, {"attempt": accepted.attempt_no})
    elif rest is None:  # drafts mode: the accepted output is not the draft it streamed
        extension = {"event": "output_replaced", "attempt": accepted.attempt_no, "output": output}
        yield writer.chunk({}, extension)
    finish = "length" if accepted.engine_facts.get("finish_reason") == "length" else "stop"
    extension = {**task_record(view).model_dump(mode="json"), "output": output}
    yield writer.chunk({}, extension, finish_reason=finish)
    if include_usage:
        yield writer.usage(accepted.tokens_in or 0, accepted.tokens_out or 0)
    yield DONE


class PlacedStreamingResponse(StreamingResponse):
    """A stream that gives its long-poll place back however it ends: sent in full, the client
    gone before the first chunk (when the body's generator never starts, so its `finally`
    never runs), or an error."""

    def __init__(self, content: AsyncIterator[str], place: WaitPlace, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._place = place

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._place.release()
