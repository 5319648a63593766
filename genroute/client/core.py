"""The client's I/O-free core: how each API call is built, how answers are read, when to retry,
and every operation written once as a generator of steps. An operation yields a `Call` (and
is sent back the httpx response, or the connection error), a `Sleep` (sent back nothing) or,
for listings, an `Item` to hand to the caller; it returns its answer. `genroute.client.clients`
drives the same operations with httpx, sync and async, so the two clients cannot drift apart.
"""

import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from genroute.client.calls import Call, Calls, RequestLike
from genroute.contract import (
    BatchItemResult,
    BatchResult,
    FeedbackView,
    PathStateView,
    Scorecard,
    TaskAccepted,
    TaskPage,
    TaskView,
)
from genroute.contract.openai_batch import FileObject

RETRIED_STATUSES = frozenset({429, 503})


class ApiError(Exception):
    """The API refused a call; `status` and `body` are its answer."""

    def __init__(self, status: int, body: Any) -> None:
        detail = body.get("detail") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 8
    max_delay_s: float = 30.0
    base_delay_s: float = 0.5

    def delay(self, attempt: int, response: httpx.Response | None, draw: float) -> float | None:
        """Seconds before retry `attempt` (1-based), or None when the answer is final. `draw`
        (uniform in [0, 1), the caller's randomness) spreads the wait: clients refused
        together must not all come back in the same instant. Retry-After is a floor, stretched
        by up to a fifth; exponential backoff is halved, then up to the rest added back."""
        if attempt > self.max_retries:
            return None
        if response is not None and response.status_code not in RETRIED_STATUSES:
            return None
        header = response.headers.get("retry-after") if response is not None else None
        if header and header.replace(".", "", 1).isdigit():
            return min(self.max_delay_s, float(header) * (1 + 0.2 * draw))
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return backoff * (0.5 + 0.5 * draw)


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


def client_options(base_url: str, api_key: str, timeout_s: float) -> dict[str, Any]:
    """What both httpx clients are built with."""
    return {
        "base_url": base_url,
        "headers": {"Authorization": f"Bearer {api_key}"},
        "timeout": timeout_s,
    }


def wait_chunk(deadline: float | None, now: float, chunk_s: float) -> float:
    """How long the next long-poll should ask the server to hold."""
    left = chunk_s if deadline is None else deadline - now
    return max(0.0, min(chunk_s, left))


@dataclass(frozen=True)
class Sleep:
    """Wait this long before the next step (a retry's delay)."""

    seconds: float


@dataclass(frozen=True)
class Item:
    """One result of a listing operation, for the caller."""

    value: Any


Step = Call | Sleep | Item
# The answer to a Call: the response, or the connection error the driver caught.
Answer = httpx.Response | httpx.ConnectError | None
Operation = Generator[Step, Answer, Any]


def send(call: Call, retry: RetryPolicy, draw: Callable[[], float]) -> Operation:
    """`call`, retried as `retry` says (429 and 503 after Retry-After, a refused connection,
    which sent nothing); returns the parsed body or raises ApiError."""
    attempt = 0
    while True:
        attempt += 1
        answer = yield call
        response = answer if isinstance(answer, httpx.Response) else None
        delay = retry.delay(attempt, response, draw())
        if delay is None:
            if isinstance(answer, httpx.ConnectError):
                raise answer
            assert response is not None, "a driver answers every Call"
            return parse(response)
        yield Sleep(delay)


class Operations:
    """Every API operation, once, with no I/O: `clock` (seconds, monotonic) is the only time
    source and `draw` (uniform in [0, 1)) the only randomness, both passed in by the driver."""

    def __init__(
        self,
        retry: RetryPolicy,
        batch_size: int,
        wait_chunk_s: float,
        clock: Callable[[], float],
        draw: Callable[[], float],
    ) -> None:
        self.retry = retry
        self.batch_size = batch_size
        self.wait_chunk_s = wait_chunk_s
        self.clock = clock
        self.draw = draw

    def _send(self, call: Call) -> Operation:
        return send(call, self.retry, self.draw)

    def submit(self, request: RequestLike) -> Operation:
        return TaskAccepted.model_validate((yield from self._send(Calls.submit(request))))

    def submit_many(self, requests: Iterable[RequestLike]) -> Operation:
        """Every request, in batches; one result per request, `index` in input order."""
        batches = list(chunks(list(requests), self.batch_size))
        results = []
        for batch in batches:
            body = yield from self._send(Calls.batch(batch))
            results.append(BatchResult.model_validate(body))
        return merge(results, [len(batch) for batch in batches])

    def get(self, task_id: uuid.UUID | str) -> Operation:
        return TaskView.model_validate((yield from self._send(Calls.get(task_id))))

    def wait(self, task_id: uuid.UUID | str, timeout_s: float | None = None) -> Operation:
        """The task once terminal, or as it is when `timeout_s` runs out (long polls)."""
        deadline = None if timeout_s is None else self.clock() + timeout_s
        while True:
            chunk = wait_chunk(deadline, self.clock(), self.wait_chunk_s)
            body = yield from self._send(Calls.get(task_id, chunk))
            view = TaskView.model_validate(body)
            if view.status.is_terminal or chunk == 0:
                return view

    def iter_results(
        self, task_ids: Iterable[uuid.UUID | str], timeout_s: float | None = None
    ) -> Operation:
        """Each task's terminal view, in the order given (long-polling the first unfinished
        one, so later ones that finished meanwhile come back at once)."""
        deadline = None if timeout_s is None else self.clock() + timeout_s
        for task_id in task_ids:
            left = None if deadline is None else max(0.0, deadline - self.clock())
            yield Item((yield from self.wait(task_id, left)))

    def cancel(self, task_id: uuid.UUID | str) -> Operation:
        return TaskView.model_validate((yield from self._send(Calls.cancel(task_id))))

    def tasks(self, filters: dict[str, Any]) -> Operation:
        """Every task matching `filters` (status, task_type, path, created_after,
        created_before, tag, limit, purpose), following cursors."""
        cursor = None
        while True:
            body = yield from self._send(Calls.tasks(cursor, filters))
            page = TaskPage.model_validate(body)
            for task in page.items:
                yield Item(task)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def paths(self) -> Operation:
        body = yield from self._send(Calls.paths())
        return [PathStateView.model_validate(entry) for entry in body]

    def feedback(
        self,
        task_id: uuid.UUID | str,
        verdict: str,
        edited_text: str | None = None,
        reason: str | None = None,
    ) -> Operation:
        call = Calls.feedback(task_id, verdict, edited_text, reason)
        return FeedbackView.model_validate((yield from self._send(call)))

    def upload_file(self, path: Path, purpose: str) -> Operation:
        """A file sent to `/v1/files` (streamed from disk), e.g. an image for attachments."""
        return FileObject.model_validate((yield from self._send(Calls.upload(path, purpose))))

    def scorecard(self, filters: dict[str, Any]) -> Operation:
        return Scorecard.model_validate((yield from self._send(Calls.scorecard(filters))))
