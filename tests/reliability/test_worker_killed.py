"""A worker child SIGKILLed mid-generation loses nothing: the message is redelivered, the
expired claim is taken over, and exactly one attempt's output is accepted. A reasoning answer
of the development model ends by itself after about 130 tokens (9 s here), well inside its
256-token bound, so it is accepted when it runs to the end, and a kill lands mid-way."""

import os
import signal
import uuid

import httpx
import pytest
from sqlalchemy import select

from genroute.db.models import Attempt, Task
from tests.helpers import running_attempt, ticket, wait_for_task

pytestmark = pytest.mark.reliability


def test_killed_worker_child_does_not_lose_the_task(client: httpx.Client, sessions) -> None:
    response = client.post(
        "/v1/tasks", json=ticket(task_type="reasoning_answer", max_output_tokens=256)
    )
    assert response.status_code == 202, response.text
    task_id = uuid.UUID(response.json()["id"])

    victim = running_attempt(sessions, task_id)
    os.kill(victim.worker_pid, signal.SIGKILL)

    view = wait_for_task(client, str(task_id), timeout_s=180)
    assert view.status.value == "succeeded", view.error

    with sessions() as session:
        task = session.get(Task, task_id)
        attempts = session.scalars(
            select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.attempt_no)
        ).all()
    outcomes = [a.outcome for a in attempts]
    assert outcomes.count("succeeded") == 1, outcomes
    assert attempts[0].id == victim.id and attempts[0].outcome == "worker_lost"
    winner = next(a for a in attempts if a.outcome == "succeeded")
    assert winner.worker_pid != victim.worker_pid
    assert task.result_attempt_id == winner.id
    assert task.output_text == winner.output_text
    assert task.attempt_count == len(attempts) == 2


def test_repeated_kills_each_task_ends_with_one_accepted_output(
    client: httpx.Client, sessions
) -> None:
    killed = []
    for _ in range(3):
        body = ticket(task_type="reasoning_answer", max_output_tokens=256)
        task_id = uuid.UUID(client.post("/v1/tasks", json=body).json()["id"])
        victim = running_attempt(sessions, task_id)
        os.kill(victim.worker_pid, signal.SIGKILL)
        killed.append(task_id)
    for task_id in killed:
        view = wait_for_task(client, str(task_id), timeout_s=240)
        outcomes = [a.outcome.value for a in view.attempts]
        assert view.status.value == "succeeded", (view.error, outcomes)
        assert outcomes[0] == "worker_lost"
        accepted = [a for a in view.attempts if a.outcome.value == "succeeded"]
        assert len(accepted) == 1, outcomes
        assert view.output == accepted[0].output_text
