"""Redis restarted while tasks are queued and one is running: its append-only file brings the
queues back, the worker reconnects, and every accepted task ends with exactly one accepted
output. Runs on a Redis server of its own (the embedded one, AOF on), since it stops it, and
on a database of its own, so its sweeper never sees the session stack's tasks."""

import uuid

import httpx
import pytest

from genroute.db.session import make_engine, make_session_factory
from genroute.local.embedded import embedded_redis
from genroute.local.stack import Stack, running_stack
from genroute.settings import Settings
from tests.helpers import isolated_database, running_attempt, ticket, wait_for_task, wait_until

pytestmark = pytest.mark.reliability


def _unready(stack: Stack) -> bool:
    return httpx.get(f"{stack.ops_url}/readyz", timeout=10).status_code == 503


def test_every_task_ends_terminal_across_a_redis_restart(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("redis-restart")
    first = embedded_redis(folder)
    broker = first.__enter__()
    first_running, second = True, None
    try:
        with (
            isolated_database(settings, broker_url=broker) as own,
            running_stack(own, ["autoregressive"], folder / "logs") as stack,
            stack.http() as http,
        ):
            engine = make_engine(own.database_url, pool_size=1)
            # Ends by itself after ~130 tokens (see test_worker_killed): accepted when whole.
            body = ticket(task_type="reasoning_answer", max_output_tokens=256)
            ids = [http.post("/v1/tasks", json=body).json()["id"] for _ in range(4)]
            running_attempt(make_session_factory(engine), uuid.UUID(ids[0]))  # 1 runs, 3 wait
            first.__exit__(None, None, None)
            first_running = False
            # Redis stays down until the API sees it gone (its readiness fails on the broker).
            wait_until(lambda: _unready(stack), 30, "the API seeing Redis gone")
            second = embedded_redis(folder)
            assert second.__enter__() == broker
            views = [wait_for_task(http, task_id, timeout_s=240) for task_id in ids]
            engine.dispose()
        for view in views:
            accepted = [a for a in view.attempts if a.outcome.value == "succeeded"]
            assert view.status.value == "succeeded", view.error
            assert len(accepted) == 1 and view.output == accepted[0].output_text
    finally:
        if first_running:
            first.__exit__(None, None, None)
        if second is not None:
            second.__exit__(None, None, None)
