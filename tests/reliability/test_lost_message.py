"""A message the broker lost (as a Redis crash under `appendfsync everysec` can lose the last
second of publishes): the task stays queued in PostgreSQL, the sweeper publishes it again
once it has waited `republish_queued_after_s`, and it ends with exactly one accepted output
(a classification, routed to the autoregressive path, whose label scoring always answers)."""

import pytest

from genroute.local.stack import running_stack, wait_for_workers
from genroute.runtime.queueing import redis_from_broker_url
from genroute.settings import Settings
from tests.helpers import isolated_settings, ticket, wait_for_task

pytestmark = pytest.mark.reliability


def test_a_lost_publish_is_republished(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("lost-message")
    with (
        isolated_settings(settings, redis_db=10, republish_queued_after_s=3) as own,
        running_stack(own, [], folder / "logs") as stack,  # no worker yet: the message waits
        stack.http() as http,
    ):
        body = ticket(task_type="classification", requires_deep_reasoning=True)
        task_id = http.post("/v1/tasks", json=body).json()["id"]
        broker = redis_from_broker_url(own.broker_url)
        try:
            # kombu keeps one list per priority step: "autoregressive", "autoregressive\x06\x163"...
            lists = [key for key in broker.scan_iter(match="autoregressive*")]
            assert sum(broker.llen(key) for key in lists) == 1
            broker.delete(*lists)  # the crash: the acknowledged publish is gone
        finally:
            broker.close()
        wait_for_workers(own, {"autoregressive": stack.start_worker("autoregressive")}, 240)
        view = wait_for_task(http, task_id, timeout_s=120)
    assert view.status.value == "succeeded", view.error
    accepted = [a for a in view.attempts if a.outcome.value == "succeeded"]
    assert len(accepted) == 1 and view.output == accepted[0].output_text
