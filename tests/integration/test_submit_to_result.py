"""Submit over HTTP, a real worker process generates with SmolLM2, read back from PostgreSQL."""

import uuid

import httpx
import pytest
from sqlalchemy import select

from genroute.db.models import Attempt, Task
from tests.helpers import ticket, wait_for_task

pytestmark = pytest.mark.integration


def test_task_runs_on_its_routed_path_and_is_recorded(client: httpx.Client, sessions) -> None:
    response = client.post("/v1/tasks", json=ticket())
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["route"]["path"] == "diffusion"
    assert accepted["route"]["rule"] == "bounded-batch-diffusion"

    view = wait_for_task(client, accepted["id"])
    assert view.status.value == "succeeded", view.error
    assert view.output and view.output.strip()
    [attempt] = view.attempts
    assert attempt.outcome.value == "succeeded"
    assert attempt.engine == "transformers-causal"
    assert attempt.model == "smollm2-135m-instruct"
    assert attempt.queue == "diffusion"
    assert 0 < attempt.tokens_out <= 12
    assert attempt.tokens_in > 20
    assert attempt.enqueued_at <= attempt.started_at <= attempt.first_output_at
    assert attempt.first_output_at <= attempt.finished_at

    with sessions() as session:
        task = session.get(Task, uuid.UUID(accepted["id"]))
        rows = session.scalars(select(Attempt).where(Attempt.task_id == task.id)).all()
        assert task.status == "succeeded"
        assert task.result_attempt_id == rows[0].id
        assert task.output_text == rows[0].output_text == view.output
        assert task.request["input"].startswith("Hi, I'm Maria Lopez")
        assert task.policy_version.startswith("2026-11-27.1+")
        assert rows[0].worker_pid and rows[0].worker_host and rows[0].worker_name


def test_extraction_goes_to_the_autoregressive_queue(client: httpx.Client) -> None:
    response = client.post("/v1/tasks", json=ticket(task_type="extraction", max_output_tokens=16))
    assert response.status_code == 202, response.text
    assert response.json()["route"]["path"] == "autoregressive"
    view = wait_for_task(client, response.json()["id"])
    assert view.status.value == "succeeded", view.error
    assert [a.queue for a in view.attempts] == ["autoregressive"]
    assert view.attempts[0].path == "autoregressive"


def test_reading_an_unknown_task_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v1/tasks/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "no task with id" in response.json()["detail"]


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
