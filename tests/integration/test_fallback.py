"""Invalid outputs fall back to the autoregressive path until the attempt budget is spent;
every verdict is stored; dead letters can be listed and requeued."""

import json
import uuid

import httpx
import pytest
from sqlalchemy import select

from genroute.db.models import Attempt, AttemptValidation
from genroute.settings import Settings
from tests.helpers import run_genroute, ticket, wait_for_task

pytestmark = pytest.mark.integration


def test_invalid_diffusion_output_falls_back_to_autoregressive(
    client: httpx.Client, sessions
) -> None:
    # Random diffusion text is never one of the allowed classification labels; the
    # autoregressive fallback scores the labels, so its answer always is one.
    response = client.post("/v1/tasks", json=ticket(task_type="classification"))
    assert response.json()["route"]["path"] == "diffusion"
    view = wait_for_task(client, response.json()["id"], timeout_s=180)
    assert view.status.is_terminal
    first, *rest = view.attempts
    assert (first.path, first.queue, first.outcome.value) == ("diffusion", "diffusion", "invalid")
    assert first.error.startswith("failed validation:") and "allowed_values" in first.error
    verdict = next(v for v in first.validations if v.validator == "allowed_values")
    assert not verdict.passed and "allowed" in verdict.details
    [fallback] = rest
    assert (fallback.path, fallback.queue, fallback.outcome.value) == (
        "autoregressive",
        "fallback",
        "succeeded",
    )
    assert view.status.value == "succeeded" and view.output == fallback.output_text
    assert fallback.engine_facts["decoding"] == "choice_scoring"

    with sessions() as session:
        stored = session.scalars(
            select(AttemptValidation).join(Attempt).where(Attempt.task_id == view.id)
        ).all()
    assert len(stored) >= 3 * len(view.attempts) - 1  # every validator, every produced output


def test_task_fails_when_the_attempt_budget_is_spent(client: httpx.Client) -> None:
    # A schema no model here will ever satisfy: every attempt is invalid.
    schema = {"type": "object", "required": ["refund_authorisation_code"]}
    body = ticket(task_type="classification", json_schema=schema, schema_required=True)
    view = wait_for_task(client, client.post("/v1/tasks", json=body).json()["id"], timeout_s=180)
    assert view.status.value == "failed"
    assert [(a.queue, a.outcome.value) for a in view.attempts] == [
        ("diffusion", "invalid"),
        ("fallback", "invalid"),
        ("fallback", "invalid"),
    ]
    assert "attempt budget of 3 spent" in view.error
    assert view.output is None


def test_fallback_none_fails_after_one_attempt(client: httpx.Client) -> None:
    body = ticket(task_type="classification", fallback="none")
    view = wait_for_task(client, client.post("/v1/tasks", json=body).json()["id"])
    assert view.status.value == "failed"
    assert [a.outcome.value for a in view.attempts] == ["invalid"]
    assert "fallback is off" in view.error


def test_failed_tasks_can_be_listed_and_requeued(client: httpx.Client, settings: Settings) -> None:
    body = ticket(task_type="classification", fallback="none")
    task_id = client.post("/v1/tasks", json=body).json()["id"]
    assert wait_for_task(client, task_id).status.value == "failed"

    listed = [
        json.loads(line) for line in run_genroute(settings, "failed", "list", "--json").splitlines()
    ]
    assert task_id in {row["id"] for row in listed}

    out = run_genroute(
        settings, "failed", "requeue", task_id, "--queue", "autoregressive", "--attempts", "1"
    )
    assert f"{task_id}: requeued on autoregressive" in out
    view = wait_for_task(client, task_id)
    assert view.status.is_terminal
    assert [a.queue for a in view.attempts] == ["diffusion", "autoregressive"]

    again = run_genroute(settings, "failed", "requeue", str(uuid.uuid4()))
    assert again == ""
