"""Shared test helpers: building requests and waiting on tasks over real HTTP."""

import time
from typing import Any

import httpx

from genroute.contract import TaskView


def wait_for_task(client: httpx.Client, task_id: str, timeout_s: float = 120) -> TaskView:
    deadline = time.monotonic() + timeout_s
    while True:
        view = TaskView.model_validate(client.get(f"/v1/tasks/{task_id}").raise_for_status().json())
        if view.status.is_terminal or time.monotonic() > deadline:
            return view
        time.sleep(0.25)


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
