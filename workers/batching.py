"""Collects concurrent requests into one batched `generate` call for an in-process engine, and
waits for one request's result.

Task threads submit a request and wait on a future; one thread takes the first waiting request,
gathers more until the batch is full or `max_wait_s` has passed, runs the engine once and hands
each caller its own result. A GPU is thus fed batches that grow with load, not one request at
a time, while a lone request waits at most `max_wait_s` extra. A request whose attempt lost its
claim before its batch starts is dropped, and nothing that goes wrong in one batch (inside
the engine or around it) stops the thread that runs the next.
"""

import logging
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from genroute.errors import ClaimLost, EngineError, EngineTimeout
from genroute.interfaces import Engine, Generation, GenerationRequest

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    request: GenerationRequest
    future: "Future[Generation]"


class Batcher:
    """Runs `engine` on batches of at most `max_batch` requests from a single thread."""

    def __init__(self, engine: Engine, max_batch: int, max_wait_s: float) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def submit(self, request: GenerationRequest) -> "Future[Generation]":
        future: Future[Generation] = Future()
        self._queue.put(_Pending(request, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _collect(self, first: _Pending) -> list[_Pending]:
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = self._queue.get(timeout=remaining)
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

    def _run_batch(self, batch: list[_Pending]) -> None:
        live = [p for p in batch if _wanted(p) and p.future.set_running_or_notify_cancel()]
        if not live:
            return
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
    future: "Future[Generation]", cancel: threading.Event | None, timeout_s: float
) -> Generation:
    """The generation, unless `cancel` is set first (ClaimLost) or `timeout_s` passes
    (EngineTimeout); either way the future is cancelled if it has not started."""
    deadline = time.monotonic() + timeout_s
    while True:
        if cancel is not None and cancel.is_set():
            future.cancel()
            raise ClaimLost("the task was taken over by another worker; generation abandoned")
        left = deadline - time.monotonic()
        if left <= 0:
            future.cancel()
            raise EngineTimeout(f"no result within the soft limit of {timeout_s:g}s")
        try:
            return future.result(timeout=min(left, 0.25))
        except FutureTimeout:
            continue
