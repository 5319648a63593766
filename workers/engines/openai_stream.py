"""Reading an OpenAI-compatible server-sent event stream: its lines, ended at the reply's
deadline or once nobody wants it, and the reply they carry. A server's error event or a stream
that stops before the reply did is an engine error, never a reply."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from genroute.errors import ClaimLost, EngineError, EngineTimeout


def stream_lines(
    response: httpx.Response, deadline: float, cancel: threading.Event | None, late: str
) -> Iterator[str]:
    """The stream's lines, ending it (and the request) once the deadline passes or nobody
    wants the reply any more."""
    pending = ""
    for chunk in response.iter_text():
        if time.monotonic() > deadline:
            raise EngineTimeout(f"{late} within its deadline")
        if cancel is not None and cancel.is_set():
            raise ClaimLost("the task was taken over by another worker; request abandoned")
        pending += chunk
        *complete, pending = pending.split("\n")
        yield from (line.rstrip("\r") for line in complete)
    if pending:
        yield pending


def read_reply(
    lines: Iterator[str], on_output: Callable[[str], None] | None = None
) -> tuple[str, datetime | None, dict[str, Any], str | None]:
    """Read an OpenAI server-sent event stream: text, first-output time, usage, finish reason;
    each piece of text also goes to `on_output` as it arrives. An error event in the stream
    (a server failing mid-reply) is an engine error, never a reply; a stream that ends
    without `[DONE]` or a finish reason is one too."""
    parts: list[str] = []
    first_output_at = None
    usage: dict[str, Any] = {}
    finish = None
    done = False
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            break
        chunk = json.loads(data)
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise EngineError(f"the server failed mid-reply: {message}")
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices", []):
            piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
            if piece and first_output_at is None:
                first_output_at = datetime.now(UTC)
            if piece and on_output is not None:
                on_output(piece)
            parts.append(piece)
            finish = choice.get("finish_reason") or finish
    if not done and finish is None:
        raise EngineError("the stream ended before the reply did (no [DONE], no finish reason)")
    return "".join(parts), first_output_at, usage, finish
