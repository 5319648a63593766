"""Collects concurrent requests into one batched `generate` call for an in-process engine.

Task threads submit a request and wait on a future; one thread takes the first waiting request,
gathers more until the batch is full or `max_wait_s` has passed, runs the engine once and hands
each caller its own result. A GPU is thus fed batches that grow with load, not one request at
a time, while a lone request waits at most `max_wait_s` extra.
"""

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

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
            batch = [p for p in self._collect(first) if p.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                results = self.engine.generate([p.request for p in batch])
            except Exception as exc:  # every waiter learns of the failure, then we go on
                for pending in batch:
                    pending.future.set_exception(exc)
                continue
            for pending, result in zip(batch, results, strict=True):
                pending.future.set_result(result)
