"""Submit over HTTP, a real worker process generates with SmolLM2, read back from PostgreSQL."""

import uuid

import httpx
import pytest
from sqlalchemy import select

from genroute.db.models import Attempt, Task
from tests.helpers import ticket, wait_for_task

pytestmark = pytest.mark.integration


def test_task_runs_on_its_routed_path_and_is_recorded(client: httpx.Client, sessions) -> None:
    # Synthetic examples only need 20 characters that do not echo the prompt, which even the
    # random-weight diffusion model produces, so the first attempt is accepted.
    response = client.post(
        "/v1/tasks", json=ticket(task_type="synthetic_examples", max_output_tokens=40)
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["route"]["path"] == "diffusion"
    assert accepted["route"]["rule"] == "bounded-batch-diffusion"

    view = wait_for_task(client, accepted["id"])
    assert view.status.value == "succeeded", view.error
    [attempt] = view.attempts
    assert attempt.outcome.value == "succeeded"
    assert {v.validator for v in attempt.validations} == {"non_empty", "bounds", "banned_claims"}
    assert all(v.passed for v in attempt.validations)
    assert attempt.engine == "diffusion-gemma"
    assert attempt.model == "diffusiongemma-tiny-random"
    assert attempt.queue == "diffusion"
    assert 0 <= attempt.tokens_out <= 40
    assert attempt.tokens_in > 20
    assert attempt.enqueued_at <= attempt.started_at <= attempt.first_output_at
    assert attempt.first_output_at <= attempt.finished_at
    facts = attempt.engine_facts
    # Canvas rounding: 40 tokens asked of a 32-token canvas is paid as up to 2 whole canvases.
    assert facts["canvas_length"] == 32
    assert 1 <= facts["canvases"] <= 2
    assert facts["canvas_tokens"] == 32 * facts["canvases"] >= attempt.tokens_out
    assert 1 <= facts["denoising_steps"] <= 4 * facts["canvases"]
    assert facts["gpu_seconds"] > 0 and facts["cost"] > 0
    # Stored as columns too; the test paths cost 2.5 per GPU-hour.
    assert (attempt.gpu_seconds, attempt.cost) == (facts["gpu_seconds"], facts["cost"])
    assert attempt.cost == pytest.approx(attempt.gpu_seconds * 2.5 / 3600, rel=1e-3)

    with sessions() as session:
        task = session.get(Task, uuid.UUID(accepted["id"]))
        rows = session.scalars(select(Attempt).where(Attempt.task_id == task.id)).all()
        assert task.status == "succeeded"
        assert task.result_attempt_id == rows[0].id
        assert task.output_text == rows[0].output_text == view.output
        assert task.request["input"].startswith("Hi, I'm Maria Lopez")
        assert len(rows[0].validations) == 3
        assert task.policy_version.startswith("2026-11-27.1+")
        assert rows[0].worker_pid and rows[0].worker_host and rows[0].worker_name


def test_concurrent_diffusion_requests_share_a_batch(client: httpx.Client) -> None:
    request = ticket(task_type="synthetic_examples", max_output_tokens=8)
    ids = [client.post("/v1/tasks", json=request).json()["id"] for _ in range(4)]
    views = [wait_for_task(client, task_id) for task_id in ids]
    assert all(v.status.is_terminal for v in views)
    sizes = [v.attempts[0].engine_facts["batch_size"] for v in views]
    assert max(sizes) > 1, sizes


def test_extraction_goes_to_the_autoregressive_queue(client: httpx.Client) -> None:
    response = client.post("/v1/tasks", json=ticket(task_type="extraction", max_output_tokens=16))
    assert response.status_code == 202, response.text
    assert response.json()["route"]["path"] == "autoregressive"
    view = wait_for_task(client, response.json()["id"])
    assert view.status.is_terminal
    first = view.attempts[0]
    assert (first.queue, first.path) == ("autoregressive", "autoregressive")
    assert (first.engine, first.model) == ("transformers-causal", "smollm2-135m-instruct")
    assert first.output_text and first.output_text.strip()
    # Extraction output is checked as JSON against the task type's schema.
    assert "json_schema" in {v.validator for v in first.validations}


def test_reading_an_unknown_task_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v1/tasks/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "no task with id" in response.json()["detail"]


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_when_everything_answers(stack) -> None:
    ready = httpx.get(f"{stack.ops_url}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"database", "broker", "policy_files"}
