"""Observers never fail a job. The rollback controller's store is broken for one (path, task
type) (its Redis key holds a list, so every read answers WRONGTYPE, a real Redis error): the
API routes by the rules alone, the worker records its attempt anyway and the task falls back
and is accepted as usual, with no attempt burnt; the failure is only logged."""

import httpx
import pytest
import redis

from genroute.local.stack import Stack
from genroute.runtime.redis_keys import path_state_key
from tests.helpers import ticket, wait_for_task

pytestmark = pytest.mark.integration


def test_a_broken_path_state_costs_no_attempt(
    stack: Stack, client: httpx.Client, redis_client: redis.Redis
) -> None:
    redis_client.rpush(path_state_key("diffusion", "classification"), "not a state")
    accepted = client.post("/v1/tasks", json=ticket(task_type="classification"))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["route"]["health"] == "unknown"
    view = wait_for_task(client, accepted.json()["id"], timeout_s=90)
    outcomes = [(a.path, a.queue, a.outcome.value) for a in view.attempts]
    assert view.status.value == "succeeded", (view.error, outcomes)
    assert outcomes == [
        ("diffusion", "diffusion", "invalid"),
        ("autoregressive", "fallback", "succeeded"),
    ]
    log = (stack.log_dir / "worker-diffusion.log").read_text()
    assert "could not feed the rollback controller for diffusion/classification" in log
