"""What each API call sends, before any I/O: a `Call` per operation, and the httpx arguments
a driver sends it with."""

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from pydantic import BaseModel

from genroute.contract import TaskRequest

RequestLike = TaskRequest | dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One HTTP call, before I/O."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    timeout_s: float | None = None
    # A file sent as multipart form data (`body` then holds the other form fields); the
    # driver opens it for each try and streams it.
    upload: Path | None = None


def as_body(request: RequestLike) -> dict[str, Any]:
    if isinstance(request, BaseModel):
        return request.model_dump(mode="json", exclude_unset=True)
    return request


class Calls:
    """What each API operation sends and how its answer is read (no I/O)."""

    @staticmethod
    def submit(request: RequestLike) -> Call:
        return Call("POST", "/v1/tasks", body=as_body(request))

    @staticmethod
    def batch(requests: list[RequestLike]) -> Call:
        return Call("POST", "/v1/tasks/batch", body={"items": [as_body(r) for r in requests]})

    @staticmethod
    def get(task_id: uuid.UUID | str, wait_s: float = 0) -> Call:
        params = {"wait": wait_s} if wait_s else {}
        return Call("GET", f"/v1/tasks/{task_id}", params=params, timeout_s=wait_s + 30)

    @staticmethod
    def cancel(task_id: uuid.UUID | str) -> Call:
        return Call("POST", f"/v1/tasks/{task_id}/cancel")

    @staticmethod
    def tasks(cursor: str | None, filters: dict[str, Any]) -> Call:
        params = {k: v for k, v in filters.items() if v is not None}
        if cursor:
            params["cursor"] = cursor
        return Call("GET", "/v1/tasks", params=params)

    @staticmethod
    def paths() -> Call:
        return Call("GET", "/v1/paths")

    @staticmethod
    def feedback(
        task_id: uuid.UUID | str, verdict: str, edited_text: str | None, reason: str | None
    ) -> Call:
        body = {"verdict": verdict, "edited_text": edited_text, "reason": reason}
        body = {k: v for k, v in body.items() if v is not None}
        return Call("POST", f"/v1/tasks/{task_id}/feedback", body=body)

    @staticmethod
    def upload(path: Path, purpose: str) -> Call:
        return Call("POST", "/v1/files", body={"purpose": purpose}, upload=path)

    @staticmethod
    def scorecard(filters: dict[str, Any]) -> Call:
        return Call("GET", "/v1/scorecard", params={k: v for k, v in filters.items() if v})


def request_options(call: Call, upload: IO[bytes] | None = None) -> dict[str, Any]:
    """httpx `request` arguments for `call` (with `upload`, the opened file it sends)."""
    options = {
        "method": call.method,
        "url": call.path,
        "params": call.params,
        "timeout": call.timeout_s or httpx.USE_CLIENT_DEFAULT,
    }
    if upload is None:
        return {**options, "json": call.body}
    assert call.upload is not None
    return {**options, "data": call.body, "files": {"file": (call.upload.name, upload)}}
