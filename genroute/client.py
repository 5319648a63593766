"""Python client for the genroute API, sync (`Client`) and async (`AsyncClient`).

Both shells share one I/O-free core: how each call is built, how answers are parsed, and when
to retry (429 and 503, honouring Retry-After; a refused connection, which sent nothing).

    with Client("http://127.0.0.1:8000", api_key) as client:
        accepted = client.submit({"task_type": "ticket_summary", "input": "..."})
        print(client.wait(accepted.id).output)
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from genroute.api_models import (
    BatchItemResult,
    BatchResult,
    PathHealthView,
    TaskAccepted,
    TaskPage,
    TaskSummary,
)
from genroute.contract import TaskRequest, TaskView

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


def _as_body(request: RequestLike) -> dict[str, Any]:
    if isinstance(request, BaseModel):
        return request.model_dump(mode="json", exclude_unset=True)
    return request


def _parse(response: httpx.Response) -> Any:
    body = response.json() if response.content else None
    if response.status_code >= 400:
        raise ApiError(response.status_code, body)
    return body


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _merge(results: list[BatchResult], sizes: list[int]) -> list[BatchItemResult]:
    """Batch answers as one list whose `index` counts across every batch."""
    merged, offset = [], 0
    for result, size in zip(results, sizes, strict=True):
        merged += [item.model_copy(update={"index": item.index + offset}) for item in result.items]
        offset += size
    return merged


class _Calls:
    """What each API operation sends and how its answer is read (no I/O)."""

    @staticmethod
    def submit(request: RequestLike) -> Call:
        return Call("POST", "/v1/tasks", body=_as_body(request))

    @staticmethod
    def batch(requests: list[RequestLike]) -> Call:
        return Call("POST", "/v1/tasks/batch", body={"items": [_as_body(r) for r in requests]})

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


class Client:
    """Synchronous client. `wait_chunk_s` is how long one long-poll asks the server to hold."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        batch_size: int = 100,
        wait_chunk_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            transport=transport,
        )
        self._retry = retry or RetryPolicy()
        self._batch_size = batch_size
        self._wait_chunk_s = wait_chunk_s

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    json=call.body,
                    timeout=call.timeout_s or httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.ConnectError:
                delay = self._retry.delay(attempt, None)
                if delay is None:
                    raise
            else:
                delay = self._retry.delay(attempt, response)
                if delay is None:
                    return _parse(response)
            time.sleep(delay)

    def submit(self, request: RequestLike) -> TaskAccepted:
        return TaskAccepted.model_validate(self._send(_Calls.submit(request)))

    def submit_many(self, requests: Iterable[RequestLike]) -> list[BatchItemResult]:
        """Every request, in batches; one result per request, `index` in input order."""
        chunks = list(_chunks(list(requests), self._batch_size))
        results = [BatchResult.model_validate(self._send(_Calls.batch(c))) for c in chunks]
        return _merge(results, [len(c) for c in chunks])

    def get(self, task_id: uuid.UUID | str) -> TaskView:
        return TaskView.model_validate(self._send(_Calls.get(task_id)))

    def wait(self, task_id: uuid.UUID | str, timeout_s: float | None = None) -> TaskView:
        """The task once terminal, or as it is when `timeout_s` runs out."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = self._wait_chunk_s if deadline is None else deadline - time.monotonic()
            chunk = max(0.0, min(self._wait_chunk_s, left))
            view = TaskView.model_validate(self._send(_Calls.get(task_id, chunk)))
            if view.status.is_terminal or chunk == 0:
                return view

    def iter_results(
        self, task_ids: Iterable[uuid.UUID | str], timeout_s: float | None = None
    ) -> Iterator[TaskView]:
        """Each task's terminal view, in the order given (long-polling the first unfinished
        one, so later ones that finished meanwhile come back at once)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for task_id in task_ids:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            yield self.wait(task_id, left)

    def cancel(self, task_id: uuid.UUID | str) -> TaskView:
        return TaskView.model_validate(self._send(_Calls.cancel(task_id)))

    def tasks(self, **filters: Any) -> Iterator[TaskSummary]:
        """Every task matching `filters` (status, task_type, path, created_after,
        created_before, tag, limit), following cursors."""
        cursor = None
        while True:
            page = TaskPage.model_validate(self._send(_Calls.tasks(cursor, filters)))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def paths(self) -> list[PathHealthView]:
        return [PathHealthView.model_validate(p) for p in self._send(_Calls.paths())]


class AsyncClient:
    """The same operations for asyncio code."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        batch_size: int = 100,
        wait_chunk_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            transport=transport,
        )
        self._retry = retry or RetryPolicy()
        self._batch_size = batch_size
        self._wait_chunk_s = wait_chunk_s

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    json=call.body,
                    timeout=call.timeout_s or httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.ConnectError:
                delay = self._retry.delay(attempt, None)
                if delay is None:
                    raise
            else:
                delay = self._retry.delay(attempt, response)
                if delay is None:
                    return _parse(response)
            await asyncio.sleep(delay)

    async def submit(self, request: RequestLike) -> TaskAccepted:
        return TaskAccepted.model_validate(await self._send(_Calls.submit(request)))

    async def submit_many(self, requests: Iterable[RequestLike]) -> list[BatchItemResult]:
        chunks = list(_chunks(list(requests), self._batch_size))
        results = [BatchResult.model_validate(await self._send(_Calls.batch(c))) for c in chunks]
        return _merge(results, [len(c) for c in chunks])

    async def get(self, task_id: uuid.UUID | str) -> TaskView:
        return TaskView.model_validate(await self._send(_Calls.get(task_id)))

    async def wait(self, task_id: uuid.UUID | str, timeout_s: float | None = None) -> TaskView:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = self._wait_chunk_s if deadline is None else deadline - time.monotonic()
            chunk = max(0.0, min(self._wait_chunk_s, left))
            view = TaskView.model_validate(await self._send(_Calls.get(task_id, chunk)))
            if view.status.is_terminal or chunk == 0:
                return view

    async def iter_results(
        self, task_ids: Iterable[uuid.UUID | str], timeout_s: float | None = None
    ) -> AsyncIterator[TaskView]:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for task_id in task_ids:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            yield await self.wait(task_id, left)

    async def cancel(self, task_id: uuid.UUID | str) -> TaskView:
        return TaskView.model_validate(await self._send(_Calls.cancel(task_id)))

    async def paths(self) -> list[PathHealthView]:
        return [PathHealthView.model_validate(p) for p in await self._send(_Calls.paths())]
