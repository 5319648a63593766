"""A whole worker (the process holding the model, as when a GPU node dies) SIGKILLed
mid-generation: its claim's lease runs out, the sweeper republishes the task, the replacement
worker takes it over, and exactly one output is accepted, well before the broker's own
visibility timeout would have redelivered the message."""

import os
import signal
import time
import uuid

import httpx
import pytest
from sqlalchemy import select

from genroute.db.models import Attempt, Task
from genroute.local.stack import Stack
from genroute.settings import Settings
from tests.helpers import running_attempt, ticket, wait_for_task

pytestmark = pytest.mark.reliability


def test_killed_worker_process_is_recovered_by_lease_and_sweeper(
    client: httpx.Client, sessions, stack: Stack, settings: Settings
) -> None:
    # Diffusion runs on the threads pool: one process, no parent to requeue for it.
    request = ticket(task_type="synthetic_examples", max_output_tokens=256)
    response = client.post("/v1/tasks", json=request)
    assert response.status_code == 202, response.text
    task_id = uuid.UUID(response.json()["id"])
    victim = running_attempt(sessions, task_id)
    worker = stack.workers["diffusion"]
    assert victim.worker_pid == worker.pid
    os.killpg(worker.pid, signal.SIGKILL)
    killed_at = time.monotonic()

    stack.restart_worker("diffusion")
    view = wait_for_task(client, str(task_id), timeout_s=120)
    recovery_s = time.monotonic() - killed_at
    assert view.status.value == "succeeded", view.error
    assert recovery_s < settings.visibility_timeout_s / 4

    with sessions() as session:
        task = session.get(Task, task_id)
        attempts = session.scalars(
            select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.attempt_no)
        ).all()
    assert [a.outcome for a in attempts] == ["worker_lost", "succeeded"]
    assert attempts[1].worker_pid == stack.workers["diffusion"].pid != victim.worker_pid
    assert task.result_attempt_id == attempts[1].id
    assert task.output_text == attempts[1].output_text
