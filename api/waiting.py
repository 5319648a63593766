"""Waiting for a task to end without holding a database connection: the task's finish
notification wakes the wait, and its status is re-read now and then in case one was missed.
Shared by the long poll of `GET /v1/tasks/{id}` and the OpenAI-compatible chat completion."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request

from genroute.contract import TaskStatus
from genroute.runtime.finish_events import FinishWaiters, WaitPlace


async def wait_until_terminal(
    waiters: FinishWaiters,
    place: WaitPlace,
    task_id: uuid.UUID,
    status: Callable[[], TaskStatus],
    budget_s: float,
) -> None:
    """Return once the task is terminal or `budget_s` has passed, in a place the caller
    reserved (and gives back). `status` reads the task's status (on the waiters' own threads:
    however many wait, submissions keep the threads and connections they need)."""
    deadline = time.monotonic() + budget_s
    finished = place.watch(task_id)  # before the first read: no notification falls between
    state = await waiters.read(status)
    while not state.is_terminal and (left := deadline - time.monotonic()) > 0:
        await waiters.wait(finished, min(left, waiters.recheck_s))
        if finished.is_set():
            return  # a notification means the task finished
        state = await waiters.read(status)


async def hung_up(request: Request) -> None:
    """Return once the client has closed the connection. The body has been read by then, so
    the next message the server has for this request is its disconnect."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_hung_up(wait: Awaitable[None], request: Request) -> bool:
    """Run `wait` to its end unless the client hangs up first (the wait is then cancelled);
    whether it hung up."""
    waiting = asyncio.ensure_future(wait)
    watching = asyncio.ensure_future(hung_up(request))
    try:
        await asyncio.wait({waiting, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, watching):
            task.cancel()
    if waiting.done() and not waiting.cancelled():
        waiting.result()  # its error, if it failed
        return False
    return True
