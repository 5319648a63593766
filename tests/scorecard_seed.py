"""A database seeded with hand-made tasks and attempts whose scorecard figures are worked out
by hand in test_scorecard: failed attempts, fallbacks, timeouts, an in-flight task, a shadow
copy, a task outside a 7-day window, human feedback, repeated synthetic outputs and a rollback."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.contract import FeedbackIn
from genroute.db.feedback import record_feedback
from genroute.db.models import Attempt, RollbackEvent, Task
from genroute.db.rollups import rebuild

S = timedelta(seconds=1)


def _task(session: Session, t0: datetime, path: str, status: str, **extra: Any) -> Task:
    latency = extra.pop("latency", None)
    values: dict[str, Any] = dict(
        id=uuid.uuid4(),
        task_type="ticket_summary",
        request={"input": "x"},
        status=status,
        route_path=path,
        route_rule="rule",
        policy_version="v1",
        route_reason="seeded",
        max_output_tokens=64,
        queue=path,
        attempt_count=0,
        max_attempts=3,
        created_at=t0,
        finished_at=t0 + latency * S if latency is not None else None,
        owner="seed",
    )
    values.update(extra)
    task = Task(**values)
    session.add(task)
    session.flush()
    return task


def _attempt(
    session: Session,
    task: Task,
    t0: datetime,
    no: int,
    path: str,
    outcome: str,
    cost: float,
    gpu: float,
    tokens: int | None,
    times: tuple,
) -> None:
    enqueued, started, first, finished = times
    session.add(
        Attempt(
            task_id=task.id,
            attempt_no=no,
            path=path,
            queue="fallback" if no > 1 else path,
            outcome=outcome,
            cost=cost,
            gpu_seconds=gpu,
            tokens_out=tokens,
            enqueued_at=t0 + enqueued * S,
            started_at=t0 + started * S,
            first_output_at=t0 + first * S if first is not None else None,
            finished_at=t0 + finished * S,
        )
    )


def seed_scorecard(session: Session) -> datetime:
    """Seed, fill the rollups from what was seeded, and return when the seeded tasks were
    created: 20 minutes past an hour, two hours ago (so a window can start inside that hour)."""
    hour = session.execute(select(func.date_trunc("hour", func.now()))).scalar_one()
    t0 = hour - timedelta(hours=2) + timedelta(minutes=20)
    diff, ar = "diffusion", "autoregressive"
    # diffusion/ticket_summary: accepted at once; fell back then accepted; fell back and
    # failed (a timeout then an error); one still queued.
    t1 = _task(session, t0, diff, "succeeded", latency=3, output_text="The order arrived broken.")
    _attempt(session, t1, t0, 1, diff, "succeeded", 0.010, 2.0, 64, (0, 1, 1.5, 3))
    t2 = _task(session, t0, diff, "succeeded", latency=8, queue="fallback", output_text="Late.")
    _attempt(session, t2, t0, 1, diff, "invalid", 0.010, 2.0, 64, (0, 2, 2.5, 4))
    _attempt(session, t2, t0, 2, ar, "succeeded", 0.030, 3.0, 30, (4, 5, 5.2, 8))
    t3 = _task(session, t0, diff, "failed", latency=6.5, queue="fallback")
    _attempt(session, t3, t0, 1, diff, "timeout", 0.020, 4.0, None, (0, 1, None, 5))
    _attempt(session, t3, t0, 2, ar, "error", 0.005, 0.5, None, (5, 6, None, 6.5))
    _task(session, t0, diff, "queued")
    # Ten days old: outside a 7-day window.
    old = _task(session, t0 - timedelta(days=10), diff, "succeeded", latency=1, output_text="o")
    _attempt(
        session, old, t0 - timedelta(days=10), 1, diff, "succeeded", 9.0, 1.0, 10, (0, 0, 0, 1)
    )
    # autoregressive/ticket_summary: one accepted, rejected by a person.
    t5 = _task(session, t0, ar, "succeeded", latency=2.5, output_text="Refund issued.")
    _attempt(session, t5, t0, 1, ar, "succeeded", 0.020, 2.0, 40, (0, 0.5, 0.7, 2.5))
    # A shadow copy of t1 on the autoregressive path.
    shadow = _task(
        session, t0, ar, "succeeded", latency=4, purpose="shadow", shadow_of=t1.id, output_text="s"
    )
    _attempt(session, shadow, t0, 1, ar, "succeeded", 0.050, 5.0, 50, (0, 1, 1.1, 4))
    # synthetic_examples on diffusion: three copies of one line (case and spaces aside), one
    # different; and on autoregressive four different lines.
    repeated = ["Alpha example", "alpha example ", "Alpha example", "Billing asks for a refund."]
    varied = [
        "A customer cannot log in after the password reset.",
        "Invoice 1042 was charged twice this month.",
        "The mobile app crashes when uploading a photo.",
        "Please change the delivery address to Berlin.",
    ]
    for path, outputs in ((diff, repeated), (ar, varied)):
        for text in outputs:
            task = _task(
                session,
                t0,
                path,
                "succeeded",
                latency=1,
                task_type="synthetic_examples",
                output_text=text,
            )
            _attempt(session, task, t0, 1, path, "succeeded", 0.001, 0.1, 20, (0, 0, 0.1, 1))
    record_feedback(session, t1.id, t1.output_text, FeedbackIn(verdict="accepted"), None)
    edit = FeedbackIn(verdict="edited", edited_text="Lat!!")  # 2 of 5 characters changed
    record_feedback(session, t2.id, t2.output_text, edit, None)
    record_feedback(session, t5.id, t5.output_text, FeedbackIn(verdict="rejected"), None)
    session.add(
        RollbackEvent(
            path=diff,
            task_type="ticket_summary",
            from_state="active",
            to_state="rolled_back",
            samples=5,
            failures=3,
            failure_rate=0.6,
            cooldown_s=30,
            reason="seeded",
            created_at=t0 + 5 * S,
        )
    )
    rebuild(session)
    return t0
