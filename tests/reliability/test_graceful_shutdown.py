"""SIGTERM on a worker under load (as a supervisor or `docker stop` sends it): the worker stops
taking tasks, lets the running one finish or hands it back within the grace period, and exits;
a new worker takes the rest. Every task ends with exactly one accepted output."""

import os
import signal
import uuid

import pytest

from genroute.db.session import make_engine, make_session_factory
from genroute.local.stack import running_stack, wait_for_workers
from genroute.settings import Settings
from tests.helpers import isolated_settings, running_attempt, ticket, wait_for_task, wait_until

pytestmark = pytest.mark.reliability
GRACE_S = 8


def test_sigterm_under_load_loses_nothing(
    settings: Settings, sessions, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("sigterm")
    with (
        isolated_settings(settings, redis_db=7, worker_shutdown_grace_s=GRACE_S) as own,
        running_stack(own, ["autoregressive"], folder / "logs") as stack,
        stack.http() as http,
    ):
        # One long task in flight at SIGTERM (a reasoning answer that ends by itself after
        # ~130 tokens, see test_worker_killed), five quick ones queued behind it; all of them
        # are always accepted when they run to the end.
        long = ticket(task_type="reasoning_answer", max_output_tokens=256)
        quick = ticket(task_type="classification", requires_deep_reasoning=True)
        ids = [http.post("/v1/tasks", json=body).json()["id"] for body in [long] + [quick] * 5]
        engine = make_engine(own.database_url, pool_size=1)
        try:
            running_attempt(make_session_factory(engine), uuid.UUID(ids[0]))
        finally:
            engine.dispose()
        worker = stack.workers["autoregressive"]
        os.kill(worker.pid, signal.SIGTERM)  # the parent only, as a supervisor does
        wait_until(lambda: not worker.alive(), GRACE_S + 20, "the worker exiting in its grace")

        replacement = stack.start_worker("autoregressive")
        wait_for_workers(own, {"autoregressive": replacement}, 240)
        views = [wait_for_task(http, task_id, timeout_s=240) for task_id in ids]
    for view in views:
        accepted = [a for a in view.attempts if a.outcome.value == "succeeded"]
        assert view.status.value == "succeeded", view.error
        assert len(accepted) == 1 and view.output == accepted[0].output_text
        assert all(a.outcome.value != "running" for a in view.attempts)
    # The task running at SIGTERM either finished within the grace period or was handed back
    # and taken over after its lease ran out; either way it has a single accepted output.
    in_flight = views[0].attempts[0]
    assert in_flight.outcome.value in ("succeeded", "worker_lost"), in_flight.outcome
