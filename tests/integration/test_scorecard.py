"""The scorecard over a seeded database, every figure against a hand-computed expectation:
failed attempts, fallbacks, timeouts, an in-flight task, a shadow copy, a task outside the
window, human feedback and repeated synthetic outputs."""

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.api_models import FeedbackIn
from genroute.db.feedback import record_feedback
from genroute.db.migrate import upgrade
from genroute.db.models import Attempt, Task
from genroute.db.session import make_engine
from genroute.diversity import similarity_figures
from genroute.scorecard import build_scorecard, format_scorecard
from tests.helpers import fresh_database

pytestmark = pytest.mark.integration

S = timedelta(seconds=1)


@pytest.fixture(scope="module")
def seeded(service_urls: tuple[str, str]) -> Iterator[Session]:
    with fresh_database(service_urls[0]) as url:
        upgrade(url)
        engine = make_engine(url, pool_size=1)
        with Session(engine) as session:
            _seed(session)
            session.commit()
            yield session
        engine.dispose()


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


def _seed(session: Session) -> None:
    t0 = session.execute(select(func.now())).scalar_one() - timedelta(hours=1)
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


def _rows(seeded: Session, **kwargs: Any) -> dict[tuple, Any]:
    card = build_scorecard(seeded, **kwargs)
    return {(r.purpose, r.path, r.task_type, r.policy_version): r for r in card.rows}


def test_every_figure_of_a_path_that_falls_back(seeded: Session) -> None:
    rows = _rows(seeded, since=timedelta(days=7))
    row = rows[("production", "diffusion", "ticket_summary", "v1")]
    assert (row.requests, row.in_flight, row.accepted, row.attempts) == (3, 1, 2, 5)
    assert row.acceptance_rate == pytest.approx(2 / 3)
    assert row.validation_failure_rate == pytest.approx(1 / 3)  # 1 invalid of 3 outputs
    assert row.fallback_rate == pytest.approx(2 / 3)
    assert row.timeout_rate == pytest.approx(1 / 5)
    # latencies 3, 6.5, 8 (continuous percentiles); queue waits 1, 2, 1, 1, 1
    assert row.latency_p50_s == pytest.approx(6.5)
    assert row.latency_p95_s == pytest.approx(6.5 + 0.9 * 1.5)
    assert row.latency_mean_s == pytest.approx(17.5 / 3)
    assert row.queue_wait_p50_s == pytest.approx(1.0)
    assert row.queue_wait_p95_s == pytest.approx(1.8)
    assert row.first_output_p50_s == pytest.approx(0.5)  # 0.5, 0.5, 0.2
    assert row.tokens_per_s == pytest.approx((64 + 64 + 30) / (2 + 2 + 3))
    # every attempt's cost, the failed ones and the fallbacks included
    assert row.cost == pytest.approx(0.075)
    assert row.cost_per_request == pytest.approx(0.075 / 3)
    assert row.cost_per_accepted_output == pytest.approx(0.075 / 2)
    assert (row.human_reviewed, row.human_acceptance_rate, row.human_edit_rate) == (2, 0.5, 0.5)
    assert row.human_rejection_rate == 0.0
    assert row.mean_edit_distance == pytest.approx(2 / 5)


def test_a_clean_path_a_shadow_copy_and_the_window(seeded: Session) -> None:
    rows = _rows(seeded, since=timedelta(days=7))
    clean = rows[("production", "autoregressive", "ticket_summary", "v1")]
    assert (clean.requests, clean.accepted, clean.attempts) == (1, 1, 1)
    assert (clean.acceptance_rate, clean.fallback_rate, clean.timeout_rate) == (1.0, 0.0, 0.0)
    assert clean.validation_failure_rate == 0.0
    assert clean.latency_p50_s == clean.latency_p95_s == pytest.approx(2.5)
    assert clean.cost_per_accepted_output == pytest.approx(0.02)
    assert clean.tokens_per_s == pytest.approx(20.0)
    assert (clean.human_reviewed, clean.human_rejection_rate) == (1, 1.0)
    shadow = rows[("shadow", "autoregressive", "ticket_summary", "v1")]
    assert (shadow.requests, shadow.accepted, shadow.cost) == (1, 1, pytest.approx(0.05))
    everything = _rows(seeded)[("production", "diffusion", "ticket_summary", "v1")]
    assert (everything.requests, everything.cost) == (4, pytest.approx(9.075))


def test_grouping_by_task_type_alone_and_one_purpose(seeded: Session) -> None:
    card = build_scorecard(seeded, ["task_type"], timedelta(days=7), "production")
    rows = {row.task_type: row for row in card.rows}
    assert set(rows) == {"ticket_summary", "synthetic_examples"}
    summary = rows["ticket_summary"]
    assert (summary.requests, summary.accepted, summary.attempts) == (4, 3, 6)
    assert summary.cost_per_accepted_output == pytest.approx(0.095 / 3)
    assert "ticket_summary" in format_scorecard(card)


def test_repetitive_outputs_show_up_as_such(seeded: Session) -> None:
    rows = _rows(
        seeded,
        since=timedelta(days=7),
        diversity_task_types=["synthetic_examples"],
        diversity_scorer=similarity_figures,
    )
    repeated = rows[("production", "diffusion", "synthetic_examples", "v1")].diversity
    varied = rows[("production", "autoregressive", "synthetic_examples", "v1")].diversity
    assert repeated is not None and varied is not None
    assert (repeated.outputs, repeated.exact_duplicate_rate) == (4, 0.5)
    assert repeated.near_duplicate_rate == 0.75  # three alike lines, each with a twin
    assert (varied.exact_duplicate_rate, varied.near_duplicate_rate) == (0.0, 0.0)
    assert repeated.mean_pairwise_similarity > varied.mean_pairwise_similarity + 0.2
    assert rows[("production", "diffusion", "ticket_summary", "v1")].diversity is None
