"""Retries are bounded and spread. A worker that cannot reach PostgreSQL puts a message back a
bounded number of times and then gives it up (the task stays in the database for the sweeper,
which republishes it); database writes retry with jittered backoff, so workers that failed
together do not come back together."""

import random
import time
import uuid

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from genroute.local.embedded import child_environment
from genroute.local.processes import ManagedProcess
from genroute.local.stack import wait_for_workers
from genroute.runtime import db_retry
from genroute.runtime.queueing import (
    Message,
    make_celery,
    publish_many,
    queue_depth,
    redis_from_broker_url,
    with_broker_database,
)
from genroute.settings import Settings
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def test_a_worker_gives_up_a_message_it_cannot_claim(settings: Settings, tmp_path) -> None:
    absent = f"{settings.database_url.rsplit('/', 1)[0]}/genroute_absent_{uuid.uuid4().hex[:8]}"
    own = settings.model_copy(
        update={
            "database_url": absent,
            "broker_url": with_broker_database(settings.broker_url, 6),
            "db_retry_budget_s": 8,  # two puts back, about 5 s apart
        }
    )
    client = redis_from_broker_url(own.broker_url)
    client.flushdb()
    worker = ManagedProcess(
        "worker", ["worker", "--path", "diffusion"], child_environment(own), tmp_path
    )
    app = make_celery(own, own.broker_url)
    try:
        wait_for_workers(own, {"diffusion": worker}, 240)
        publish_many(app, [Message(uuid.uuid4(), "diffusion")])
        log = tmp_path / "worker.log"
        wait_until(lambda: "giving this message up" in log.read_text(), 60, "the message given up")
        # Acknowledged, not left to redeliver forever (the ack follows the line logged).
        wait_until(lambda: client.hlen("unacked") == 0, 10, "the given-up message acknowledged")
        assert queue_depth(client, "diffusion") == 0
        assert log.read_text().count("Retry in") == 2
    finally:
        worker.stop()
        app.close()
        client.close()


def test_database_retries_are_jittered(monkeypatch: pytest.MonkeyPatch) -> None:
    def runs(seed: int) -> list[float]:
        random.seed(seed)
        pauses: list[float] = []
        monkeypatch.setattr(time, "sleep", pauses.append)
        failures = iter(range(3))

        def write() -> str:
            if next(failures, None) is not None:
                raise OperationalError("SELECT 1", {}, Exception("connection refused"))
            return "written"

        assert db_retry.with_db_retry(write, budget_s=60, what="testing") == "written"
        return pauses

    first, second = runs(1), runs(2)
    assert len(first) == len(second) == 3 and first != second
    for pauses in (first, second):  # each within half and one and a half of 0.5, 1, 2 s
        for pause, base in zip(pauses, (0.5, 1.0, 2.0), strict=True):
            assert 0.5 * base <= pause < 1.5 * base


def test_deadlocks_and_serialization_failures_are_retried_like_outages() -> None:
    def wrapped(original: Exception) -> DBAPIError:
        return DBAPIError("UPDATE tasks ...", {}, original)

    assert db_retry.is_transient(wrapped(psycopg.errors.DeadlockDetected("deadlock detected")))
    assert db_retry.is_transient(wrapped(psycopg.errors.SerializationFailure("could not")))
    assert db_retry.is_transient(OperationalError("SELECT 1", {}, Exception("refused")))
    assert not db_retry.is_transient(wrapped(psycopg.errors.UniqueViolation("duplicate key")))
