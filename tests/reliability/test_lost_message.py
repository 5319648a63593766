"""Messages the broker lost while PostgreSQL says the task is queued, published: the sweeper
finds that no live message names the task and publishes it again within
`republish_orphaned_after_s`, long before the half-hour rule or the broker's visibility
timeout, and the task ends with exactly one accepted output (a classification, routed to the
autoregressive path, whose label scoring always answers).

- The message vanished from its list (as when Redis drops a consumer's connection between its
  BRPOP and its write to `unacked`, or a crash loses the last second of publishes).
- A consumer took the message and died before claiming it: the message sits in kombu's
  `unacked` hash, which nobody restores before the visibility timeout.
"""

import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from genroute.local.stack import running_stack, wait_for_workers
from genroute.runtime.queueing import redis_from_broker_url
from genroute.settings import Settings
from tests.helpers import isolated_settings, ticket, wait_for_task

pytestmark = pytest.mark.reliability

# A kombu consumer that takes one message without acknowledging it, says so, and waits to be
# killed: the state a worker leaves behind when it dies between delivery and claim.
HOLD_ONE = """
import signal, sys
from kombu import Connection
with Connection(sys.argv[1]) as conn:
    message = conn.channel().basic_get(queue="autoregressive", no_ack=False)
    print("held" if message else "none", flush=True)
    signal.pause()
"""


def _drop_from_list(settings: Settings) -> None:
    broker = redis_from_broker_url(settings.broker_url)
    try:
        # kombu keeps one list per priority step: "autoregressive", "autoregressive\x06\x163"...
        lists = [key for key in broker.scan_iter(match="autoregressive*")]
        assert sum(broker.llen(key) for key in lists) == 1
        broker.delete(*lists)  # the acknowledged publish is gone
    finally:
        broker.close()


def _die_holding_it(settings: Settings) -> None:
    consumer = subprocess.Popen(
        [sys.executable, "-c", HOLD_ONE, settings.broker_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert consumer.stdout is not None and consumer.stdout.readline().strip() == "held"
    finally:
        consumer.kill()  # SIGKILL: nothing restores the message
        consumer.communicate()
    broker = redis_from_broker_url(settings.broker_url)
    try:
        assert broker.hlen("unacked") == 1
    finally:
        broker.close()


@pytest.mark.parametrize("lose", [_drop_from_list, _die_holding_it], ids=["list", "unacked"])
def test_a_task_whose_message_was_lost_is_republished(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, lose: Callable
) -> None:
    folder = tmp_path_factory.mktemp("lost-message")
    with (
        isolated_settings(settings, redis_db=10, republish_orphaned_after_s=3) as own,
        running_stack(own, [], folder / "logs") as stack,  # no worker yet: the message waits
        stack.http() as http,
    ):
        body = ticket(task_type="classification", requires_deep_reasoning=True)
        task_id = http.post("/v1/tasks", json=body).json()["id"]
        lose(own)
        wait_for_workers(own, {"autoregressive": stack.start_worker("autoregressive")}, 240)
        view = wait_for_task(http, task_id, timeout_s=120)
    assert view.status.value == "succeeded", view.error
    accepted = [a for a in view.attempts if a.outcome.value == "succeeded"]
    assert len(accepted) == 1 and view.output == accepted[0].output_text
    assert own.republish_queued_after_s >= 1800  # the long rule could not have sent it


def test_a_live_message_is_not_sent_twice(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A message waiting in its list (no worker yet) stays the only one."""
    folder = tmp_path_factory.mktemp("live-message")
    with (
        isolated_settings(settings, redis_db=10, republish_orphaned_after_s=1) as own,
        running_stack(own, [], folder / "logs") as stack,
        stack.http() as http,
    ):
        body = ticket(task_type="classification", requires_deep_reasoning=True)
        http.post("/v1/tasks", json=body).raise_for_status()
        broker = redis_from_broker_url(own.broker_url)
        try:
            # Absence cannot be waited for: let the sweeper look a few times.
            time.sleep(own.republish_orphaned_after_s + 4 * own.sweep_interval_s)
            lists = [key for key in broker.scan_iter(match="autoregressive*")]
            assert sum(broker.llen(key) for key in lists) == 1
        finally:
            broker.close()
