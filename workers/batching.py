"""Collects concurrent requests into one batched `generate` call for an in-process engine, and
waits for one request's result.

Task threads submit a request and wait on a future; one thread runs the engine once per batch
and hands each caller its own result. The engine is fed continuously: the worker claims more
requests than one batch holds (a path's `claim_ahead`), they queue here while a batch runs,
and when it ends the next batch starts at once with every request that waited (up to
`max_batch`), rather than gathering only after the last one drained. Only an idle engine
waits for company: a request arriving then waits at most `max_wait_s` for others to join.
A request whose attempt lost its claim before its batch starts is dropped, and nothing that
goes wrong in one batch (inside the engine or around it) stops the thread that runs the next.

Each request carries an EngineRun that says when its batch started and how many shared it:
the soft time limit and a failed attempt's cost run from there, not from the claim, because
a claimed-ahead request may wait a whole batch before the engine takes it.
"""

import logging
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime

from genroute.errors import ClaimLost, EngineError, EngineTimeout
from genroute.interfaces import Engine, Generation, GenerationRequest

log = logging.getLogger(__name__)


@dataclass
class EngineRun:
    """When the engine started the batch that holds one request, and how many requests shared
    it; set once by whoever runs the engine, read by the attempt."""

    started: float | None = None  # time.monotonic()
    started_at: datetime | None = None
    batch_size: int = 1

    def begin(self, batch_size: int) -> None:
        self.started, self.started_at = time.monotonic(), datetime.now(UTC)
        self.batch_size = batch_size

    def share_s(self) -> float:
        """This request's share of the engine time so far (none before its batch started)."""
        if self.started is None:
            return 0.0
        return (time.monotonic() - self.started) / max(1, self.batch_size)


@dataclass
class _Pending:
    request: GenerationRequest
    future: "Future[Generation]"
    submitted: float  # time.monotonic()
    run: EngineRun = field(default_factory=EngineRun)


class Batcher:
    """Runs `engine` on batches of at most `max_batch` requests from a single thread."""

    def __init__(self, engine: Engine, max_batch: int, max_wait_s: float) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._last_batch_ended = float("-inf")  # time.monotonic()
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def submit(
        self, request: GenerationRequest, run: EngineRun | None = None
    ) -> "Future[Generation]":
        future: Future[Generation] = Future()
        self._queue.put(_Pending(request, future, time.monotonic(), run or EngineRun()))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _collect(self, first: _Pending) -> list[_Pending]:
        batch = [first]
        # A request that queued while the engine was busy has waited enough: take only what
        # is waiting now. One that found the engine idle waits up to the window for others.
        idle = first.submitted > self._last_batch_ended
        deadline = first.submitted + self.max_wait_s if idle else time.monotonic()
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:  # past the deadline, only what is already waiting joins
                if remaining > 0:
                    item = self._queue.get(timeout=remaining)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # let the loop see the close after this batch
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = self._collect(first)
            try:
                self._run_batch(batch)
            except Exception as exc:  # a bug around the engine fails this batch, not the thread
                log.exception("a batch of %d failed outside the engine", len(batch))
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            self._last_batch_ended = time.monotonic()

    def _run_batch(self, batch: list[_Pending]) -> None:
        live = [p for p in batch if _wanted(p) and p.future.set_running_or_notify_cancel()]
        if not live:
            return
        for pending in live:
            pending.run.begin(len(live))
        try:
            results = self.engine.generate([p.request for p in live])
        except Exception as exc:  # every waiter learns of the failure, then we go on
            for pending in live:
                pending.future.set_exception(exc)
            return
        if len(results) != len(live):
            raise EngineError(f"the engine answered {len(results)} of {len(live)} requests")
        for pending, result in zip(live, results, strict=True):
            pending.future.set_result(result)


def _wanted(pending: _Pending) -> bool:
    """False (and the future cancelled) when the request's attempt already gave it up."""
    cancel = pending.request.cancel
    if cancel is not None and cancel.is_set():
        pending.future.cancel()
        return False
    return True


def wait_for_result(
    future: "Future[Generation]",
    cancel: threading.Event | None,
    timeout_s: float,
    run: EngineRun | None = None,
) -> Generation:
    """The generation, unless `cancel` is set first (ClaimLost) or `timeout_s` passes
    (EngineTimeout); either way the future is cancelled if it has not started. With `run`,
    `timeout_s` counts from the start of the request's batch (waiting for a batch is bounded
    by `timeout_s` too)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if cancel is not None and cancel.is_set():
            future.cancel()
            raise ClaimLost("the task was taken over by another worker; generation abandoned")
        if run is not None and run.started is not None:
            deadline = run.started + timeout_s
        left = deadline - time.monotonic()
        if left <= 0:
            future.cancel()
            raise EngineTimeout(f"no result within the soft limit of {timeout_s:g}s")
        try:
            return future.result(timeout=min(left, 0.25))
        except FutureTimeout:
            continue
