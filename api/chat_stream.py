"""A streamed chat completion: OpenAI's `chat.completion.chunk` server-sent events relayed from
the task's output stream (genroute.runtime.output_streams) while its attempts generate, ended
by the accepted output's final chunk and `[DONE]`, or by an OpenAI-shaped error event.

What is streamed is a draft until validation accepts it. When an attempt's draft is refused
(or its worker is lost) and another attempt follows, a chunk with no content and
`genroute.event: "draft_rejected"` says so, and the next attempt's draft starts from nothing;
when the accepted output differs from its streamed draft (a repair), `"output_replaced"` says
so. The final chunk's `genroute.output` is always the accepted output.
"""

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio

from genroute.api.openai_chat import completion_id, task_record, unfinished_error
from genroute.contract import TaskStatus, TaskView
from genroute.runtime.output_streams import ACCEPTED, ATTEMPT, KIND, REASON, TEXT
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


@dataclass
class _Drafts:
    """What each attempt has streamed, and which attempts have ended."""

    text: dict[int, str] = field(default_factory=dict)
    ended: set[int] = field(default_factory=set)
    current: int | None = None


async def relay_completion(
    client: redis.asyncio.Redis,
    writer: ChunkWriter,
    status: Callable[[], Awaitable[TaskStatus]],
    load: Callable[[], Awaitable[TaskView]],
    budget_s: float,
    include_usage: bool,
) -> AsyncIterator[str]:
    """The events of one streamed completion, until the task ends or `budget_s` passes."""
    yield writer.chunk({"role": "assistant", "content": ""}, {"task_id": str(writer.task_id)})
    key, last, drafts = output_stream_key(str(writer.task_id)), "0-0", _Drafts()
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
            for event in _relayed(writer, drafts, fields):
                yield event
        if terminal:
            break
        if not entries or any(f[KIND.encode()] == b"end" for _, f in entries):
            terminal = (await status()).is_terminal
        if not terminal and time.monotonic() > deadline:
            view = await load()
            yield error_event(unfinished_error(view, budget_s)[1])
            yield DONE
            return
    async for event in _ending(writer, drafts, await load(), include_usage):
        yield event


def _relayed(writer: ChunkWriter, drafts: _Drafts, fields: dict[bytes, bytes]) -> list[str]:
    attempt = int(fields[ATTEMPT.encode()])
    events = []
    lost = drafts.current is not None and drafts.current not in drafts.ended
    if lost and attempt != drafts.current:  # its worker stopped before recording it
        events.append(_rejected(writer, drafts.current, "the attempt was lost"))
    drafts.current = attempt
    kind = fields[KIND.encode()].decode()
    if kind == "text":
        piece = fields[TEXT.encode()].decode()
        drafts.text[attempt] = drafts.text.get(attempt, "") + piece
        events.append(writer.chunk({"content": piece}, {"attempt": attempt}))
    elif kind == "end":
        drafts.ended.add(attempt)
        if fields[ACCEPTED.encode()] != b"1":
            events.append(_rejected(writer, attempt, fields[REASON.encode()].decode()))
    return events


def _rejected(writer: ChunkWriter, attempt: int, reason: str) -> str:
    extension = {"event": "draft_rejected", "attempt": attempt, "reason": reason}
    return writer.chunk({}, extension)


async def _ending(
    writer: ChunkWriter, drafts: _Drafts, view: TaskView, include_usage: bool
) -> AsyncIterator[str]:
    if view.status != TaskStatus.succeeded:
        yield error_event(unfinished_error(view, 0)[1])
        yield DONE
        return
    accepted = next(a for a in reversed(view.attempts) if a.outcome == "succeeded")
    output = view.output or ""
    drafted = drafts.text.get(accepted.attempt_no, "")
    if not drafted:  # nothing streamed (a scored choice, or the relay was lost): all at once
        yield writer.chunk({"content": output}, {"attempt": accepted.attempt_no})
    elif drafted.strip() != output.strip():
        extension = {"event": "output_replaced", "attempt": accepted.attempt_no, "output": output}
        yield writer.chunk({}, extension)
    finish = "length" if accepted.engine_facts.get("finish_reason") == "length" else "stop"
    extension = {**task_record(view).model_dump(mode="json"), "output": output}
    yield writer.chunk({}, extension, finish_reason=finish)
    if include_usage:
        yield writer.usage(accepted.tokens_in or 0, accepted.tokens_out or 0)
    yield DONE


async def closing(events: AsyncIterator[str], close: Callable[[], None]) -> AsyncIterator[str]:
    """`events`, then `close` however the stream ends (a caller that hangs up cancels it)."""
    try:
        async for event in events:
            yield event
    finally:
        close()
