"""The client's I/O-free core: how each API call is built, how answers are read, and when to
retry. `genroute.client` drives it with httpx, sync and async."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from genroute.api_models import BatchItemResult, BatchResult
from genroute.contract import TaskRequest

RequestLike = TaskRequest | dict[str, Any]
RETRIED_STATUSES = frozenset({429, 503})


class ApiError(Exception):
    """The API refused a call; `status` and `body` are its answer."""

    def __init__(self, status: int, body: Any) -> None:
        detail = body.get("detail") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Call:
    """One HTTP call, before I/O."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    timeout_s: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 8
    max_delay_s: float = 30.0
    base_delay_s: float = 0.5

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds before retry `attempt` (1-based), or None when the answer is final."""
        if attempt > self.max_retries:
            return None
        if response is not None and response.status_code not in RETRIED_STATUSES:
            return None
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        header = response.headers.get("retry-after") if response is not None else None
        if header and header.replace(".", "", 1).isdigit():
            return min(self.max_delay_s, float(header))
        return backoff


def as_body(request: RequestLike) -> dict[str, Any]:
    if isinstance(request, BaseModel):
        return request.model_dump(mode="json", exclude_unset=True)
    return request


def parse(response: httpx.Response) -> Any:
    body = response.json() if response.content else None
    if response.status_code >= 400:
        raise ApiError(response.status_code, body)
    return body


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def merge(results: list[BatchResult], sizes: list[int]) -> list[BatchItemResult]:
    """Batch answers as one list whose `index` counts across every batch."""
    merged, offset = [], 0
    for result, size in zip(results, sizes, strict=True):
        merged += [item.model_copy(update={"index": item.index + offset}) for item in result.items]
        offset += size
    return merged


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
    def scorecard(filters: dict[str, Any]) -> Call:
        return Call("GET", "/v1/scorecard", params={k: v for k, v in filters.items() if v})


def client_options(base_url: str, api_key: str, timeout_s: float) -> dict[str, Any]:
    """What both httpx clients are built with."""
    return {
        "base_url": base_url,
        "headers": {"Authorization": f"Bearer {api_key}"},
        "timeout": timeout_s,
    }


def request_options(call: Call) -> dict[str, Any]:
    """httpx `request` arguments for `call`."""
    return {
        "method": call.method,
        "url": call.path,
        "params": call.params,
        "json": call.body,
        "timeout": call.timeout_s or httpx.USE_CLIENT_DEFAULT,
    }


def wait_chunk(deadline: float | None, now: float, chunk_s: float) -> float:
    """How long the next long-poll should ask the server to hold."""
    left = chunk_s if deadline is None else deadline - now
    return max(0.0, min(chunk_s, left))
