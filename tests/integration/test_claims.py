"""The claim on real PostgreSQL: a late original whose lease was taken over can finish, but
its output is never accepted; only the attempt holding the claim finishes the task."""

from datetime import timedelta

import pytest
from sqlalchemy import func, update

from genroute.contract import AttemptOutcome, TaskRequest, TaskStatus
from genroute.db.attempts import (
    AttemptResult,
    WorkerIdentity,
    claim_task,
    record_attempt,
)
from genroute.db.models import Task
from genroute.db.tasks import (
    create_task,
    db_now,
    finish_task,
    get_task,
    mark_published,
    tasks_to_republish,
)
from genroute.policies import load_catalog, load_policy
from genroute.settings import Settings
from tests.helpers import ticket

pytestmark = pytest.mark.integration

WORKER = WorkerIdentity("autoregressive", "e", "m", "host", "w", 1, None)


def test_late_original_cannot_produce_a_second_accepted_output(
    settings: Settings, sessions
) -> None:
    policy = load_policy(settings.policy_file, load_catalog(settings.task_types_file))
    request = TaskRequest.model_validate(ticket(task_type="reasoning_answer"))
    with sessions.begin() as session:
        task_id = create_task(session, request, policy.decide(request), 3).id
        # Marked published so the running stack's sweeper leaves this hand-driven task alone.
        mark_published(session, [task_id])
    with sessions.begin() as session:
        original = claim_task(session, task_id, "autoregressive", WORKER, 30).attempt.id
    with sessions.begin() as session:  # the original's worker stops renewing; its lease lapses
        session.execute(
            update(Task).where(Task.id == task_id).values(lease_expires_at=Task.created_at)
        )
    with sessions.begin() as session:
        takeover = claim_task(session, task_id, "autoregressive", WORKER, 30).attempt.id
    done = AttemptResult(AttemptOutcome.succeeded, output_text="late", tokens_out=1)
    with sessions.begin() as session:
        assert record_attempt(session, original, done).next == "superseded"
    winner = AttemptResult(AttemptOutcome.succeeded, output_text="winner", tokens_out=1)
    with sessions.begin() as session:
        assert record_attempt(session, takeover, winner).next == "succeeded"
    with sessions.begin() as session:  # and a second late write changes nothing either
        assert record_attempt(session, original, done).next == "superseded"
    with sessions() as session:
        task = get_task(session, task_id)
        outcomes = {a.id: a.outcome for a in task.attempts}
        assert task.status == "succeeded" and task.output_text == "winner"
        assert task.result_attempt_id == takeover
        assert outcomes == {original: "worker_lost", takeover: "succeeded"}


def test_a_claim_decides_on_the_locked_row_not_an_earlier_read(
    settings: Settings, sessions
) -> None:
    """A duplicate delivery that read the task (queued) before another worker claimed it must
    see the claim once it holds the lock: wait for the lease, never a second attempt 1."""
    policy = load_policy(settings.policy_file, load_catalog(settings.task_types_file))
    request = TaskRequest.model_validate(ticket(task_type="reasoning_answer"))
    with sessions.begin() as session:
        task_id = create_task(session, request, policy.decide(request), 3).id
        mark_published(session, [task_id])
    with sessions.begin() as duplicate:
        early = get_task(duplicate, task_id)  # the early, unlocked read, still referenced
        assert early.status == "queued"
        with sessions.begin() as first:
            assert claim_task(first, task_id, "autoregressive", WORKER, 30).attempt is not None
        late = claim_task(duplicate, task_id, "autoregressive", WORKER, 30)
        assert late.attempt is None and late.retry_after_s is not None
    with sessions.begin() as session:  # tidy: finish it so nothing else picks it up
        task = get_task(session, task_id)
        done = AttemptResult(AttemptOutcome.succeeded, output_text="x", tokens_out=1)
        assert record_attempt(session, task.current_attempt_id, done).next == "succeeded"


def test_the_sweeper_leaves_a_fresh_requeue_to_its_worker(settings: Settings, sessions) -> None:
    """An old task just requeued (unpublished until its worker publishes it after commit) is
    not republished by the sweeper within the grace period; a publish that never came is.
    One transaction throughout, so the running stack's own sweeper never sees this task."""
    policy = load_policy(settings.policy_file, load_catalog(settings.task_types_file))
    request = TaskRequest.model_validate(ticket(task_type="reasoning_answer"))
    with sessions.begin() as session:
        task_id = create_task(session, request, policy.decide(request), 3).id

        def age(**ages: timedelta) -> None:
            values = {column: func.now() - delta for column, delta in ages.items()}
            session.execute(update(Task).where(Task.id == task_id).values(**values))

        def swept() -> bool:
            return task_id in {t.id for t in tasks_to_republish(session, 60, 3600)}

        age(created_at=timedelta(hours=1), updated_at=timedelta(0))  # requeued just now
        assert not swept()
        age(updated_at=timedelta(minutes=5))  # and its publish never came
        assert swept()
        finish_task(session, get_task(session, task_id), db_now(session), TaskStatus.failed)
