"""The two shells over `genroute.client.core.Operations`: `Client` drives each operation with
httpx's sync client and `time.sleep`, `AsyncClient` with httpx's async client and
`asyncio.sleep`. Each public method is one line, and a test holds the two to the same
methods and signatures."""

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from genroute.client.calls import Call, RequestLike, request_options
from genroute.client.core import (
    Answer,
    Item,
    Operation,
    Operations,
    RetryPolicy,
    Sleep,
    Step,
    client_options,
)
from genroute.contract import (
    BatchItemResult,
    FeedbackView,
    PathStateView,
    Scorecard,
    TaskAccepted,
    TaskSummary,
    TaskView,
)
from genroute.contract.openai_batch import FileObject


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
        self._ops = Operations(
            retry or RetryPolicy(), batch_size, wait_chunk_s, time.monotonic, random.random
        )

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _step(self, step: Step) -> Answer:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        assert isinstance(step, Call)
        try:
            if step.upload is None:
                return self._http.request(**request_options(step))
            with step.upload.open("rb") as upload:
                return self._http.request(**request_options(step, upload))
        except httpx.ConnectError as exc:
            return exc

    def _run(self, operation: Operation) -> Any:
        answer: Answer = None
        try:
            while True:
                answer = self._step(operation.send(answer))
        except StopIteration as done:
            return done.value

    def _iterate(self, operation: Operation) -> Iterator[Any]:
        answer: Answer = None
        while True:
            try:
                step = operation.send(answer)
            except StopIteration:
                return
            if isinstance(step, Item):
                yield step.value
                answer = None
            else:
                answer = self._step(step)

    def submit(self, request: RequestLike) -> TaskAccepted:
        return self._run(self._ops.submit(request))

    def submit_many(self, requests: Iterable[RequestLike]) -> list[BatchItemResult]:
        """Every request, in batches; one result per request, `index` in input order."""
        return self._run(self._ops.submit_many(requests))

    def get(self, task_id: uuid.UUID | str) -> TaskView:
        return self._run(self._ops.get(task_id))

    def wait(self, task_id: uuid.UUID | str, timeout_s: float | None = None) -> TaskView:
        """The task once terminal, or as it is when `timeout_s` runs out."""
        return self._run(self._ops.wait(task_id, timeout_s))

    def iter_results(
        self, task_ids: Iterable[uuid.UUID | str], timeout_s: float | None = None
    ) -> Iterator[TaskView]:
        """Each task's terminal view, in the order given."""
        return self._iterate(self._ops.iter_results(task_ids, timeout_s))

    def cancel(self, task_id: uuid.UUID | str) -> TaskView:
        return self._run(self._ops.cancel(task_id))

    def tasks(self, **filters: Any) -> Iterator[TaskSummary]:
        """Every task matching `filters` (status, task_type, path, created_after,
        created_before, tag, limit, purpose), following cursors."""
        return self._iterate(self._ops.tasks(filters))

    def paths(self) -> list[PathStateView]:
        return self._run(self._ops.paths())

    def feedback(
        self,
        task_id: uuid.UUID | str,
        verdict: str,
        edited_text: str | None = None,
        reason: str | None = None,
    ) -> FeedbackView:
        """Record a person's verdict (accepted, edited with `edited_text`, rejected)."""
        return self._run(self._ops.feedback(task_id, verdict, edited_text, reason))

    def upload_file(self, path: Path, purpose: str = "vision") -> FileObject:
        """Upload a file (an image or video to name in `attachments` by `file_id`)."""
        return self._run(self._ops.upload_file(Path(path), purpose))

    def scorecard(self, **filters: Any) -> Scorecard:
        """The scorecard (since, by, purpose, diversity) of this key's tasks."""
        return self._run(self._ops.scorecard(filters))


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
        self._ops = Operations(
            retry or RetryPolicy(), batch_size, wait_chunk_s, time.monotonic, random.random
        )

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _step(self, step: Step) -> Answer:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        assert isinstance(step, Call)
        try:
            if step.upload is None:
                return await self._http.request(**request_options(step))
            with step.upload.open("rb") as upload:  # httpx streams it in pieces
                return await self._http.request(**request_options(step, upload))
        except httpx.ConnectError as exc:
            return exc

    async def _run(self, operation: Operation) -> Any:
        answer: Answer = None
        try:
            while True:
                answer = await self._step(operation.send(answer))
        except StopIteration as done:
            return done.value

    async def _iterate(self, operation: Operation) -> AsyncIterator[Any]:
        answer: Answer = None
        while True:
            try:
                step = operation.send(answer)
            except StopIteration:
                return
            if isinstance(step, Item):
                yield step.value
                answer = None
            else:
                answer = await self._step(step)

    async def submit(self, request: RequestLike) -> TaskAccepted:
        return await self._run(self._ops.submit(request))

    async def submit_many(self, requests: Iterable[RequestLike]) -> list[BatchItemResult]:
        """Every request, in batches; one result per request, `index` in input order."""
        return await self._run(self._ops.submit_many(requests))

    async def get(self, task_id: uuid.UUID | str) -> TaskView:
        return await self._run(self._ops.get(task_id))

    async def wait(self, task_id: uuid.UUID | str, timeout_s: float | None = None) -> TaskView:
        """The task once terminal, or as it is when `timeout_s` runs out."""
        return await self._run(self._ops.wait(task_id, timeout_s))

    def iter_results(
        self, task_ids: Iterable[uuid.UUID | str], timeout_s: float | None = None
    ) -> AsyncIterator[TaskView]:
        """Each task's terminal view, in the order given."""
        return self._iterate(self._ops.iter_results(task_ids, timeout_s))

    async def cancel(self, task_id: uuid.UUID | str) -> TaskView:
        return await self._run(self._ops.cancel(task_id))

    def tasks(self, **filters: Any) -> AsyncIterator[TaskSummary]:
        """Every task matching `filters` (status, task_type, path, created_after,
        created_before, tag, limit, purpose), following cursors."""
        return self._iterate(self._ops.tasks(filters))

    async def paths(self) -> list[PathStateView]:
        return await self._run(self._ops.paths())

    async def feedback(
        self,
        task_id: uuid.UUID | str,
        verdict: str,
        edited_text: str | None = None,
        reason: str | None = None,
    ) -> FeedbackView:
        """Record a person's verdict (accepted, edited with `edited_text`, rejected)."""
        return await self._run(self._ops.feedback(task_id, verdict, edited_text, reason))

    async def upload_file(self, path: Path, purpose: str = "vision") -> FileObject:
        """Upload a file (an image or video to name in `attachments` by `file_id`)."""
        return await self._run(self._ops.upload_file(Path(path), purpose))

    async def scorecard(self, **filters: Any) -> Scorecard:
        """The scorecard (since, by, purpose, diversity) of this key's tasks."""
        return await self._run(self._ops.scorecard(filters))
