"""Shared test helpers: building requests, waiting on tasks over real HTTP, and isolated
databases for stacks that must not share state with the session's stack."""

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from genroute.contract import TaskView
from genroute.db.migrate import upgrade
from genroute.db.scratch import scratch_database
from genroute.local.embedded import child_environment
from genroute.runtime.queueing import redis_from_broker_url
from genroute.settings import Settings


def wait_for_task(client: httpx.Client, task_id: str, timeout_s: float = 120) -> TaskView:
    deadline = time.monotonic() + timeout_s
    while True:
        view = TaskView.model_validate(client.get(f"/v1/tasks/{task_id}").raise_for_status().json())
        if view.status.is_terminal or time.monotonic() > deadline:
            return view
        time.sleep(0.25)


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll `condition` until it returns something truthy (returned), or fail naming `what`:
    tests wait on conditions, not on fixed sleeps."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout_s}s")


def ticket(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "task_type": "ticket_summary",
        "input": "Hi, I'm Maria Lopez. Order #A-10293 from 2026-11-02 ($149.99) arrived broken.",
        "max_output_tokens": 12,
    }
    request.update(overrides)
    return request


def broker_url_with_db(broker_url: str, db: int) -> str:
    """The same Redis server, another database: a stack of its own with no shared queues."""
    if broker_url.startswith("redis+socket://"):
        return f"{broker_url.split('?')[0]}?virtual_host={db}"
    base, _, _ = broker_url.rpartition("/")
    return f"{base}/{db}" if base.count("/") >= 2 else f"{broker_url.rstrip('/')}/{db}"


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
    broker_url = broker_url_with_db(settings.broker_url, redis_db)
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
