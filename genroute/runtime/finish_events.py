"""Task-finished notifications over Redis pub/sub, so a long poll wakes when its task ends
instead of polling the database. A notification is only a hint: the waiter re-reads the task
from PostgreSQL, and re-reads anyway every `recheck_s` in case one was missed (Redis
restarting, the listener reconnecting)."""

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

import anyio
import anyio.to_thread
import redis
import redis.asyncio

from genroute.errors import Overloaded
from genroute.observability.metrics import LONG_POLLS
from genroute.runtime.redis_keys import FINISHED_CHANNEL

log = logging.getLogger(__name__)

T = TypeVar("T")


def announce_finished(client: redis.Redis, task_ids: Iterable[uuid.UUID]) -> None:
    """Tell waiting API processes these tasks are terminal (after the commit that made them
    so). Observing only: a Redis failure is logged, never raised."""
    try:
        with client.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                pipe.publish(FINISHED_CHANNEL, str(task_id))
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not announce finished tasks (waiters re-read on their own): %s", exc)


class FinishWaiters:
    """The API process's long polls: at most `limit` at once, each an event set when its
    task's notification arrives on the one subscription this process keeps, and their reads
    of the database on at most `reader_threads` threads."""

    def __init__(self, url: str, limit: int, reader_threads: int, recheck_s: float = 5.0) -> None:
        self._url = url
        self._limit = limit
        self._reader_threads = reader_threads
        self.recheck_s = recheck_s
        self._events: dict[str, set[asyncio.Event]] = {}
        self._waiting = 0
        self._listener: asyncio.Task[None] | None = None
        self._readers: anyio.CapacityLimiter | None = None

    async def start(self) -> None:
        self._readers = anyio.CapacityLimiter(self._reader_threads)
        self._listener = asyncio.create_task(self._listen(), name="finish-listener")

    async def read(self, function: Callable[[], T]) -> T:
        """`function` (a short database read) on one of the waiters' own threads."""
        return await anyio.to_thread.run_sync(function, limiter=self._readers)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    @property
    def held(self) -> int:
        """Places held now."""
        return self._waiting

    def reserve(self) -> "WaitPlace":
        """A place among the long polls, taken now or refused with 503 now. A call that will
        submit and then wait reserves first, so overload is answered before any task exists
        (checking, then creating the task, then taking the place would let two calls pass the
        check and one of them fail after its task was made). No await lies between the check
        and the count, so the event loop makes the two one step."""
        if self._waiting >= self._limit:
            raise Overloaded(
                "wait",
                f"this API process already holds {self._limit} long polls "
                "(GENROUTE_MAX_LONG_POLLS); retry shortly, or read without `wait`",
            )
        self._waiting += 1
        LONG_POLLS.inc()
        return WaitPlace(self)

    def _watch(self, task_id: uuid.UUID) -> tuple[str, asyncio.Event]:
        key, event = str(task_id), asyncio.Event()
        self._events.setdefault(key, set()).add(event)
        return key, event

    def _release(self, watched: tuple[str, asyncio.Event] | None) -> None:
        self._waiting -= 1
        LONG_POLLS.dec()
        if watched is None:
            return
        key, event = watched
        events = self._events.get(key, set())
        events.discard(event)
        if not events:
            self._events.pop(key, None)

    async def wait(self, event: asyncio.Event, timeout_s: float) -> None:
        """Until the event is set or `timeout_s` passes, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    def _wake(self, task_id: str) -> None:
        for event in self._events.get(task_id, ()):
            event.set()

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            client = redis.asyncio.Redis.from_url(self._url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(FINISHED_CHANNEL)
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._wake(message["data"].decode())
            except (redis.RedisError, OSError) as exc:
                log.warning(
                    "finish notifications lost (%s); long polls re-read every %gs meanwhile",
                    exc,
                    self.recheck_s,
                )
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 10.0)
            finally:
                await client.aclose()


class WaitPlace:
    """One reserved place among a process's long polls: it watches one task once that task
    exists, and is given back exactly once, however the wait ends (a second release is a
    no-op, so a response and its generator may both release it)."""

    def __init__(self, waiters: FinishWaiters) -> None:
        self._waiters = waiters
        self._watched: tuple[str, asyncio.Event] | None = None
        self._held = True

    def watch(self, task_id: uuid.UUID) -> asyncio.Event:
        """The event set when `task_id`'s finish notification arrives."""
        if self._watched is None:
            self._watched = self._waiters._watch(task_id)
        return self._watched[1]

    def release(self) -> None:
        if self._held:
            self._held = False
            self._waiters._release(self._watched)

    def __enter__(self) -> "WaitPlace":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
