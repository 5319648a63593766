"""The live figures routing reads, from real attempts in PostgreSQL and queues in Redis: what
an accepted output costs (failed attempts counted once), and how long a path takes."""

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from genroute.config import batch_widths
from genroute.contract import PathName
from genroute.db.models import Attempt, Task
from genroute.db.service_times import service_times
from genroute.db.session import make_engine, make_session_factory
from genroute.runtime.live_figures import LiveFigures
from genroute.runtime.queueing import redis_from_broker_url
from genroute.settings import Settings
from tests.helpers import isolated_settings, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def own(settings: Settings) -> Iterator[Settings]:
    with isolated_settings(settings, redis_db=2) as own:
        yield own


def _figures(settings: Settings) -> Iterator[LiveFigures]:
    engine = make_engine(settings.database_url, pool_size=1)
    broker = redis_from_broker_url(settings.broker_url)
    try:
        yield LiveFigures(
            make_session_factory(engine),
            broker,
            batch_widths(settings.paths_file),
            window_s=3600,
            refresh_s=0,
        )
    finally:
        broker.close()
        engine.dispose()


def _seed(settings: Settings, path: str, attempts: list[dict]) -> None:
    """First attempts at synthetic_examples on `path`, finished just now."""
    now = datetime.now(UTC)
    engine = make_engine(settings.database_url, pool_size=1)
    with Session(engine) as session:
        for fields in attempts:
            task = Task(
                id=uuid.uuid4(), task_type="synthetic_examples", request={"input": "x"},
                status="succeeded", route_path=path, route_rule="r", policy_version="v1",
                route_reason="seeded", max_output_tokens=64, queue=path, attempt_count=1,
                max_attempts=3, created_at=now,
            )  # fmt: skip
            session.add(task)
            session.flush()
            timings = {
                "enqueued_at": now - timedelta(seconds=10),
                "started_at": now - timedelta(seconds=8),
                "finished_at": now,
            }
            session.add(
                Attempt(task_id=task.id, attempt_no=1, path=path, queue=path, **timings | fields)
            )
        session.commit()
    engine.dispose()


def test_failed_attempts_cost_an_accepted_output_once(own: Settings) -> None:
    """Half the attempts error at the same cost as a success: an accepted output costs two
    attempts (2.0), not the 4.0 of charging the errors to the units and dividing by the
    acceptance again."""
    succeeded = {"outcome": "succeeded", "cost": 1.0, "tokens_out": 10}
    failed = {"outcome": "error", "cost": 1.0, "tokens_out": None}
    _seed(own, "autoregressive", [succeeded, succeeded, failed, failed])
    for figures in _figures(own):
        cost = figures.costs("synthetic_examples")[PathName.autoregressive]
        assert cost.acceptance == pytest.approx(0.5)
        assert cost.per_accepted(10) == pytest.approx(2.0)


def test_errors_that_cost_nothing_add_nothing(own: Settings) -> None:
    succeeded = {"outcome": "succeeded", "cost": 1.0, "tokens_out": 10}
    free_error = {"outcome": "error", "cost": 0.0, "tokens_out": None}
    _seed(own, "autoregressive", [succeeded, free_error])
    for figures in _figures(own):
        cost = figures.costs("synthetic_examples")[PathName.autoregressive]
        assert cost.per_accepted(10) == pytest.approx(1.0)


def test_service_time_is_the_engine_run_not_the_wait_for_a_batch(own: Settings) -> None:
    """Claimed 8 s before it finished, but its batch ran 2 s: the path serves in 2 s (latency
    budgets and the capacity model both read this), the other 6 s were queueing."""
    now = datetime.now(UTC)
    engine_run = {"engine_started_at": now - timedelta(seconds=2), "engine_finished_at": now}
    _seed(own, "autoregressive", [{"outcome": "succeeded", "tokens_out": 10, **engine_run}] * 3)
    for figures in _figures(own):
        estimate = figures.estimates("synthetic_examples", 5, 64)[PathName.autoregressive]
        assert estimate.service_s == pytest.approx(2.0, abs=0.01)
    engine = make_engine(own.database_url, pool_size=1)
    with Session(engine) as session:
        [row] = [r for r in service_times(session, None) if r["path"] == "autoregressive"]
    engine.dispose()
    assert row["mean_s"] == pytest.approx(2.0, abs=0.01)


def test_a_slow_re_read_holds_up_no_other_request(own: Settings) -> None:
    """While one thread's re-read of the figures waits on the database (the attempts table
    locked by another transaction), a request on another thread is answered at once from the
    figures already read: the reading holds no lock the others need."""
    engine = make_engine(own.database_url, pool_size=2)
    broker = redis_from_broker_url(own.broker_url)
    figures = LiveFigures(
        make_session_factory(engine),
        broker,
        batch_widths(own.paths_file),
        window_s=3600,
        refresh_s=0,  # every call would re-read
    )
    blocker = make_engine(own.database_url, pool_size=1)
    try:
        assert figures.estimates("synthetic_examples", 5, 64)  # the first reading
        with blocker.begin() as locked:
            locked.execute(text("LOCK TABLE attempts IN ACCESS EXCLUSIVE MODE"))
            reader = threading.Thread(target=figures.estimates, args=("chat", 5, 64))
            reader.start()
            wait_until(lambda: _waiting_on_a_lock(own), 10, "the re-read waiting on the lock")
            answered: list[object] = []
            other = threading.Thread(target=lambda: answered.append(figures.costs("chat")))
            other.start()
            other.join(2.0)
            assert answered, "a request waited for another thread's re-read"
        reader.join(10)
        other.join(10)
    finally:
        blocker.dispose()
        broker.close()
        engine.dispose()


def _waiting_on_a_lock(settings: Settings) -> bool:
    engine = make_engine(settings.database_url, pool_size=1)
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    try:
        with engine.connect() as connection:
            return connection.execute(query).scalar_one() > 0
    finally:
        engine.dispose()
