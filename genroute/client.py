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
from typing import Any

import httpx

from genroute.api_models import (
    BatchItemResult,
    BatchResult,
    FeedbackView,
    PathHealthView,
    Scorecard,
    TaskAccepted,
    TaskPage,
    TaskSummary,
)
from genroute.client_core import (
    ApiError,
    Call,
    Calls,
    RequestLike,
    RetryPolicy,
    chunks,
    client_options,
    merge,
    parse,
    request_options,
    wait_chunk,
)
from genroute.contract import TaskView

__all__ = ["ApiError", "AsyncClient", "Client", "RetryPolicy"]


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
        options = client_options(base_url, api_key, timeout_s)
        self._http = httpx.Client(**options, transport=transport)
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
                response = self._http.request(**request_options(call))
            except httpx.ConnectError:
                delay = self._retry.delay(attempt, None)
                if delay is None:
                    raise
            else:
                delay = self._retry.delay(attempt, response)
                if delay is None:
                    return parse(response)
            time.sleep(delay)

    def submit(self, request: RequestLike) -> TaskAccepted:
        return TaskAccepted.model_validate(self._send(Calls.submit(request)))

    def submit_many(self, requests: Iterable[RequestLike]) -> list[BatchItemResult]:
        """Every request, in batches; one result per request, `index` in input order."""
        batches = list(chunks(list(requests), self._batch_size))
        results = [BatchResult.model_validate(self._send(Calls.batch(c))) for c in batches]
        return merge(results, [len(c) for c in batches])

    def get(self, task_id: uuid.UUID | str) -> TaskView:
        return TaskView.model_validate(self._send(Calls.get(task_id)))

    def wait(self, task_id: uuid.UUID | str, timeout_s: float | None = None) -> TaskView:
        """The task once terminal, or as it is when `timeout_s` runs out."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            chunk = wait_chunk(deadline, time.monotonic(), self._wait_chunk_s)
            view = TaskView.model_validate(self._send(Calls.get(task_id, chunk)))
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
        return TaskView.model_validate(self._send(Calls.cancel(task_id)))

    def tasks(self, **filters: Any) -> Iterator[TaskSummary]:
        """Every task matching `filters` (status, task_type, path, created_after,
        created_before, tag, limit), following cursors."""
        cursor = None
        while True:
            page = TaskPage.model_validate(self._send(Calls.tasks(cursor, filters)))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def paths(self) -> list[PathHealthView]:
        return [PathHealthView.model_validate(p) for p in self._send(Calls.paths())]

    def feedback(
        self,
        task_id: uuid.UUID | str,
        verdict: str,
        edited_text: str | None = None,
        reason: str | None = None,
    ) -> FeedbackView:
        """Record a person's verdict (accepted, edited with `edited_text`, rejected)."""
        call = Calls.feedback(task_id, verdict, edited_text, reason)
        return FeedbackView.model_validate(self._send(call))

    def scorecard(self, **filters: Any) -> Scorecard:
        """The scorecard (since, by, purpose, diversity) of this key's tasks."""
        return Scorecard.model_validate(self._send(Calls.scorecard(filters)))


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
        options = client_options(base_url, api_key, timeout_s)
        self._http = httpx.AsyncClient(**options, transport=transport)
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
                response = await self._http.request(**request_options(call))
            except httpx.ConnectError:
                delay = self._retry.delay(attempt, None)
                if delay is None:
                    raise
            else:
                delay = self._retry.delay(attempt, response)
                if delay is None:
                    return parse(response)
            await asyncio.sleep(delay)

    async def submit(self, request: RequestLike) -> TaskAccepted:
        return TaskAccepted.model_validate(await self._send(Calls.submit(request)))

    async def submit_many(self, requests: Iterable[RequestLike]) -> list[BatchItemResult]:
        batches = list(chunks(list(requests), self._batch_size))
        results = [BatchResult.model_validate(await self._send(Calls.batch(c))) for c in batches]
        return merge(results, [len(c) for c in batches])

    async def get(self, task_id: uuid.UUID | str) -> TaskView:
        return TaskView.model_validate(await self._send(Calls.get(task_id)))

    async def wait(self, task_id: uuid.UUID | str, timeout_s: float | None = None) -> TaskView:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            chunk = wait_chunk(deadline, time.monotonic(), self._wait_chunk_s)
            view = TaskView.model_validate(await self._send(Calls.get(task_id, chunk)))
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
        return TaskView.model_validate(await self._send(Calls.cancel(task_id)))

    async def paths(self) -> list[PathHealthView]:
        return [PathHealthView.model_validate(p) for p in await self._send(Calls.paths())]

    async def feedback(
        self,
        task_id: uuid.UUID | str,
        verdict: str,
        edited_text: str | None = None,
        reason: str | None = None,
    ) -> FeedbackView:
        call = Calls.feedback(task_id, verdict, edited_text, reason)
        return FeedbackView.model_validate(await self._send(call))

    async def scorecard(self, **filters: Any) -> Scorecard:
        return Scorecard.model_validate(await self._send(Calls.scorecard(filters)))
