"""Row locks and leases on real PostgreSQL: who locks what, in which order, and for how long.
A late record locks the task before its attempt (the order a takeover uses, so the two never
deadlock); the sweeper publishes after its transaction, holding no row a claim needs; a claim
with no recorded publish is still found when its lease lapses; a lease keeper notices a
takeover."""

import threading
import uuid
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from sqlalchemy import func, text, update
from sqlalchemy.exc import OperationalError

from genroute.contract import AttemptOutcome, TaskRequest
from genroute.db.attempts import AttemptResult, WorkerIdentity, claim_task, record_attempt
from genroute.db.models import Task
from genroute.db.session import make_engine, make_session_factory
from genroute.db.tasks import create_task, mark_published, task_row, tasks_to_republish
from genroute.policies import load_catalog, load_policy
from genroute.runtime.queueing import make_celery, redis_from_broker_url
from genroute.runtime.sweeper import SweepTimes, sweep_once
from genroute.settings import Settings
from genroute.workers.lease import LeaseKeeper
from tests.helpers import isolated_settings, ticket, wait_until

pytestmark = pytest.mark.integration

WORKER = WorkerIdentity("autoregressive", "e", "m", "host", "w", 1, None)


def _claimed_task(settings: Settings, sessions, lease_s: float = 60) -> tuple[uuid.UUID, uuid.UUID]:
    """A task claimed by a hand-driven attempt, marked published so no sweeper touches it."""
    policy = load_policy(settings.policy_file, load_catalog(settings.task_types_file))
    request = TaskRequest.model_validate(ticket(task_type="reasoning_answer"))
    with sessions.begin() as session:
        task_id = create_task(session, request, policy.decide(request), 3).id
        mark_published(session, [task_id])
    with sessions.begin() as session:
        attempt = claim_task(session, task_id, "autoregressive", WORKER, lease_s).attempt
        assert attempt is not None
        return task_id, attempt.id


def _finish(sessions, attempt_id: uuid.UUID) -> None:
    done = AttemptResult(AttemptOutcome.succeeded, output_text="x", tokens_out=1)
    with sessions.begin() as session:
        record_attempt(session, attempt_id, done)


def test_a_late_record_locks_the_task_before_the_attempt(settings: Settings, sessions) -> None:
    task_id, attempt_id = _claimed_task(settings, sessions)
    holder = sessions()
    holder.execute(text("SELECT id FROM tasks WHERE id = :id FOR UPDATE"), {"id": task_id})
    recorder = threading.Thread(target=_finish, args=(sessions, attempt_id))
    recorder.start()  # it waits for the task's row lock
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE '%FROM tasks%FOR UPDATE%'"
    )

    def record_waits() -> int:
        with sessions() as fresh:  # a new transaction: activity statistics are per snapshot
            return fresh.scalar(waiting)

    probe = sessions()
    try:
        wait_until(record_waits, 10, "the record waiting for the task lock")
        # While it waits, the attempt row is free: a takeover (task, then attempt) could go on.
        probe.execute(
            text("SELECT id FROM attempts WHERE id = :id FOR UPDATE NOWAIT"), {"id": attempt_id}
        )
    finally:
        probe.rollback()
        probe.close()
        holder.rollback()
        holder.close()
        recorder.join(timeout=30)
    with sessions() as session:
        assert session.get(Task, task_id).status == "succeeded"


def test_a_claim_with_no_recorded_publish_is_found_when_its_lease_lapses(
    settings: Settings, sessions
) -> None:
    task_id, attempt_id = _claimed_task(settings, sessions)
    with sessions.begin() as session:  # one transaction: the stack's sweeper never sees it
        session.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(published_at=None, lease_expires_at=func.now() - timedelta(seconds=5))
        )
        assert task_id in {t.id for t in tasks_to_republish(session, 60, 3600)}
        session.rollback()
    _finish(sessions, attempt_id)


def test_the_sweeper_publishes_after_its_transaction(settings: Settings) -> None:
    """While each message is published, a claim could lock the task's row at once."""
    with isolated_settings(settings, redis_db=8) as own:
        engine = make_engine(own.database_url)
        sessions = make_session_factory(engine)
        policy = load_policy(own.policy_file, load_catalog(own.task_types_file))
        request = TaskRequest.model_validate(ticket())
        with sessions.begin() as session:
            row = task_row(request, policy.decide(request), 3)
            session.add(Task(**{**row, "enqueued_at": func.now()}))
        locked_while_publishing: list[bool] = []

        def try_lock(headers: dict | None = None, **_kwargs: object) -> None:
            with sessions() as other:
                try:
                    other.execute(
                        text("SELECT id FROM tasks WHERE id = :id FOR UPDATE NOWAIT"),
                        {"id": uuid.UUID(headers["id"])},
                    )
                    locked_while_publishing.append(False)
                except OperationalError:
                    locked_while_publishing.append(True)
                other.rollback()

        app = make_celery(own, own.broker_url)
        broker = redis_from_broker_url(own.broker_url)
        before_task_publish.connect(try_lock, weak=False)
        try:
            times = SweepTimes(unpublished_grace_s=0, stale_queued_s=3600, orphaned_s=3600)
            assert sweep_once(sessions, app, broker, times) == 1
        finally:
            before_task_publish.disconnect(try_lock)
            broker.close()
            app.close()
            engine.dispose()
        assert locked_while_publishing == [False]


def test_a_lease_keeper_notices_a_takeover(settings: Settings, sessions) -> None:
    task_id, attempt_id = _claimed_task(settings, sessions, lease_s=1.5)
    with LeaseKeeper(sessions, attempt_id, lease_s=1.5, max_hold_s=60) as lease:
        assert not lease.lost.is_set()
        with sessions.begin() as session:  # another worker's claim took the task over
            session.execute(
                update(Task).where(Task.id == task_id).values(current_attempt_id=uuid.uuid4())
            )
        wait_until(lease.lost.is_set, 5, "the lease keeper noticing the takeover")
    with sessions.begin() as session:
        session.execute(
            update(Task).where(Task.id == task_id).values(current_attempt_id=attempt_id)
        )
    _finish(sessions, attempt_id)
