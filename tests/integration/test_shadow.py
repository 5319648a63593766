"""Shadow traffic: a rule with a shadow share copies matching requests to another path. The
copy is recorded and scored; the producer only ever sees the primary (its result, its
attempts, its listing), and the copy has one attempt and no fallback."""

import uuid

import pytest
from sqlalchemy import select

from genroute.client import Client
from genroute.contract import Scope
from genroute.db.models import Task
from genroute.local.stack import Stack, issue_key
from genroute.settings import Settings
from tests.helpers import ticket, wait_until

pytestmark = pytest.mark.integration


def _shadow_of(sessions, primary: uuid.UUID, timeout_s: float = 120) -> Task:
    def finished_shadow() -> Task | None:
        with sessions() as session:
            shadow = session.scalars(select(Task).where(Task.shadow_of == primary)).one()
            session.expunge(shadow)
        return shadow if shadow.status in ("succeeded", "failed") else None

    return wait_until(finished_shadow, timeout_s, f"the shadow of {primary} finishing")


def test_a_shadow_copy_runs_beside_the_primary(stack: Stack, settings: Settings, sessions) -> None:
    owner = f"shadowed-{uuid.uuid4().hex[:8]}"
    key = issue_key(settings, owner, (Scope.submit, Scope.read))
    with Client(stack.api_url, key) as client:
        # tests/policy.yaml shadows every batch_summary on the autoregressive path.
        request = ticket(task_type="batch_summary", max_output_tokens=24)
        accepted = client.submit(request)
        assert accepted.route.path.value == "diffusion" and accepted.route.rule == (
            "batch-summary-shadowed"
        )
        primary = client.wait(accepted.id, timeout_s=180)
        shadow = _shadow_of(sessions, accepted.id)
        assert primary.status.is_terminal
        assert (shadow.purpose, shadow.route_path, shadow.queue) == (
            "shadow",
            "autoregressive",
            "autoregressive",
        )
        assert shadow.fallback_path is None and shadow.max_attempts == 1
        assert shadow.status in ("succeeded", "failed") and shadow.attempt_count == 1
        assert shadow.request["input"] == request["input"]  # the same request, copied
        # The producer sees the primary alone.
        shadow_attempts = {str(a.id) for a in _attempts(sessions, shadow.id)}
        assert not shadow_attempts & {str(a.id) for a in primary.attempts}
        assert [t.id for t in client.tasks()] == [accepted.id]
        card = client.scorecard(by="path,task_type")
        purposes = {(row.purpose, row.path): row.requests for row in card.rows}
        assert purposes == {("production", "diffusion"): 1, ("shadow", "autoregressive"): 1}


def _attempts(sessions, task_id: uuid.UUID) -> list:
    with sessions() as session:
        task = session.get(Task, task_id)
        return list(task.attempts)
