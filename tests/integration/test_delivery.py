"""Nothing is lost between the database and the broker, and nothing runs twice."""

import uuid

import httpx
import pytest
from sqlalchemy import select

from genroute.contract import TaskRequest
from genroute.db.models import Attempt
from genroute.db.tasks import create_task
from genroute.local.stack import Stack
from genroute.policies import load_catalog, load_policy
from genroute.runtime.queueing import (
    Message,
    make_celery,
    publish_many,
    queue_depth,
    redis_from_broker_url,
    with_broker_database,
)
from genroute.settings import Settings
from tests.helpers import ticket, wait_for_task, wait_until

pytestmark = pytest.mark.integration


def _commit_unpublished(settings: Settings, sessions, **overrides) -> str:
    """A task committed as the API does, but whose process 'crashed' before publishing."""
    policy = load_policy(settings.policy_file, load_catalog(settings.task_types_file))
    request = TaskRequest.model_validate(ticket(**overrides))
    with sessions.begin() as session:
        task = create_task(session, request, policy.decide(request), settings.max_attempts)
        return str(task.id)


def test_sweeper_publishes_a_task_that_was_never_published(
    client: httpx.Client, settings: Settings, sessions
) -> None:
    task_id = _commit_unpublished(settings, sessions, fallback="none")
    view = wait_for_task(client, task_id, timeout_s=90)
    assert view.status.is_terminal
    assert len(view.attempts) == 1


def test_a_message_delivered_twice_runs_once(
    stack: Stack, client: httpx.Client, settings: Settings, sessions
) -> None:
    task_id = _commit_unpublished(
        settings, sessions, task_type="synthetic_examples", fallback="none"
    )
    app = make_celery(settings, settings.broker_url)
    for _ in range(3):
        publish_many(app, [Message(task_id, "diffusion")])
    view = wait_for_task(client, task_id, timeout_s=90)
    assert view.status.is_terminal
    log = stack.log_dir / "worker-diffusion.log"
    wait_until(
        lambda: log.read_text().count(f"task {task_id}: nothing to do") == 2,
        60,
        "both duplicates finding the task finished",
    )
    with sessions() as session:
        attempts = session.scalars(select(Attempt).where(Attempt.task_id == view.id)).all()
    assert len(attempts) == 1


def test_a_publish_in_round_trips_sends_every_message_and_its_event(settings: Settings) -> None:
    """1,500 messages over two queues and two priority steps go out in pipelined round trips
    (3,000 commands, past one trip's thousand): each lands in its queue's list for its
    priority, and each one's task-sent event (what Flower shows before a worker takes it)
    is published too."""
    broker_url = with_broker_database(settings.broker_url, 2)
    client = redis_from_broker_url(broker_url)
    client.flushdb()
    events = client.pubsub()
    events.psubscribe("*celeryev/task.sent")
    events.get_message(timeout=1)  # the subscription's confirmation
    app = make_celery(settings, broker_url)
    messages = [
        Message(uuid.uuid4(), queue, priority, "chat")
        for queue, priority in (("diffusion", 5), ("autoregressive", 0))
        for _ in range(750)
    ]
    try:
        publish_many(app, messages)
        assert queue_depth(client, "diffusion") == 750 == queue_depth(client, "autoregressive")
        assert client.llen("autoregressive") == 750  # priority 0: the first step's list
        sent = 0
        while events.get_message(timeout=2) is not None:
            sent += 1
        assert sent == len(messages)
    finally:
        events.close()
        app.close()
        client.flushdb()
        client.close()
