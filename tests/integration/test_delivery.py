"""Nothing is lost between the database and the broker, and nothing runs twice."""

import httpx
import pytest
from sqlalchemy import select

from genroute.contract import TaskRequest
from genroute.db.models import Attempt
from genroute.db.tasks import create_task
from genroute.local.stack import Stack
from genroute.policies import load_catalog, load_policy
from genroute.runtime.queueing import Message, make_celery, publish_many
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
