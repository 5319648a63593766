"""Shared test helpers: building requests, waiting on tasks over real HTTP, and isolated
databases for stacks that must not share state with the session's stack."""

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from genroute.contract import TaskView
from genroute.db.migrate import upgrade
from genroute.db.models import Attempt
from genroute.db.scratch import scratch_database
from genroute.local.embedded import child_environment
from genroute.runtime.queueing import redis_from_broker_url, with_broker_database
from genroute.settings import Settings


def wait_for_task(client: httpx.Client, task_id: str, timeout_s: float = 120) -> TaskView:
    """The task once terminal (or as it is at the deadline), by long polls (`?wait=`): the API
    answers the moment it ends, so no poll interval is added to a test."""
    deadline = time.monotonic() + timeout_s
    while True:
        wait = {"wait": max(0.0, min(20.0, deadline - time.monotonic()))}
        answer = client.get(f"/v1/tasks/{task_id}", params=wait, timeout=wait["wait"] + 30)
        view = TaskView.model_validate(answer.raise_for_status().json())
        if view.status.is_terminal or time.monotonic() > deadline:
            return view


def wait_until(
    condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05
) -> Any:
    """Poll `condition` every `interval_s` until it returns something truthy (returned), or
    fail naming `what`: tests wait on conditions, not on fixed sleeps."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval_s)
    raise AssertionError(f"{what} did not happen within {timeout_s}s")


def running_attempt(
    sessions: Callable[[], Session], task_id: uuid.UUID, timeout_s: float = 60
) -> Attempt:
    """The task's first attempt once it is generating (claimed, lease live)."""

    def running() -> Attempt | None:
        with sessions() as session:
            return session.scalars(
                select(Attempt).where(Attempt.task_id == task_id, Attempt.outcome == "running")
            ).first()

    return wait_until(running, timeout_s, f"task {task_id} generating")


def ticket(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "task_type": "ticket_summary",
        "input": "Hi, I'm Maria Lopez. Order #A-10293 from 2026-11-02 ($149.99) arrived broken.",
        "max_output_tokens": 12,
    }
    request.update(overrides)
    return request


def fresh_database(server_url: str) -> contextlib.AbstractContextManager[str]:
    """A uniquely named database on `server_url`'s server, dropped afterwards."""
    return scratch_database(server_url, "genroute_test")


@contextlib.contextmanager
def isolated_database(settings: Settings, **updates: Any) -> Iterator[Settings]:
    """`settings` with a migrated database of its own: a stack on another broker must never
    share the session stack's database, or its sweeper would republish that stack's tasks."""
    with fresh_database(settings.database_url) as database_url:
        upgrade(database_url)
        yield settings.model_copy(update={"database_url": database_url, **updates})


@contextlib.contextmanager
def isolated_settings(settings: Settings, redis_db: int, **updates: Any) -> Iterator[Settings]:
    """`settings` with a migrated database and a flushed Redis database of their own, so a
    second stack's sweeper and workers never touch the session stack's tasks or queues."""
    broker_url = with_broker_database(settings.broker_url, redis_db)
    client = redis_from_broker_url(broker_url)
    client.flushdb()
    client.close()
    with isolated_database(settings, broker_url=broker_url, **updates) as own:
        yield own


def run_genroute(settings: Settings, *args: str, timeout_s: float = 120) -> str:
    """`genroute ARGS` against `settings`' servers; its standard output (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "genroute", *args],
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
