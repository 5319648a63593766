"""Redis restarted while tasks are queued and one is running: its append-only file brings the
queues back, the worker reconnects, and every accepted task ends terminal. Runs on a Redis
server of its own (the embedded one, AOF on), since it stops it."""

import time
import uuid

import pytest

from genroute.local.embedded import embedded_redis
from genroute.local.stack import running_stack
from genroute.settings import Settings
from tests.helpers import ticket, wait_for_task
from tests.reliability.test_worker_killed import _running_attempt

pytestmark = pytest.mark.reliability


def test_every_task_ends_terminal_across_a_redis_restart(
    settings: Settings, sessions, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("redis-restart")
    first = embedded_redis(folder)
    broker = first.__enter__()
    first_running, second = True, None
    try:
        own = settings.model_copy(update={"broker_url": broker})
        with (
            running_stack(own, ["autoregressive"], folder / "logs") as stack,
            stack.http() as http,
        ):
            body = ticket(task_type="reasoning_answer", max_output_tokens=40)
            ids = [http.post("/v1/tasks", json=body).json()["id"] for _ in range(4)]
            _running_attempt(sessions, uuid.UUID(ids[0]))  # one running, three queued
            first.__exit__(None, None, None)
            first_running = False
            time.sleep(3)
            second = embedded_redis(folder)
            assert second.__enter__() == broker
            views = [wait_for_task(http, task_id, timeout_s=240) for task_id in ids]
        assert all(view.status.is_terminal for view in views), [v.status for v in views]
        for view in views:
            accepted = [a for a in view.attempts if a.outcome.value == "succeeded"]
            assert len(accepted) == (1 if view.status.value == "succeeded" else 0)
    finally:
        if first_running:
            first.__exit__(None, None, None)
        if second is not None:
            second.__exit__(None, None, None)
