"""Persist, then publish. A task's row is committed as queued before its Celery message is
sent, and the publish is recorded after; every place that queues work (submission, fallback,
diversion, an operator's requeue, evaluation runs, the sweeper) comes through
`publish_committed`. If the broker or this process fails in between, the row stays
unpublished and the sweeper sends it, so nothing is lost between the database and the broker.
"""

from collections.abc import Sequence

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from genroute.db.models import Task
from genroute.db.tasks import mark_published
from genroute.runtime.db_retry import with_db_retry
from genroute.runtime.queueing import DEFAULT_PRIORITY, Message, publish_many


def message_for(task: Task) -> Message:
    """The message that queues `task` as it stands: its queue, its request's priority, its
    trace."""
    priority = task.request.get("priority", DEFAULT_PRIORITY)
    return Message(task.id, task.queue, priority, task.task_type, trace=task.trace)


def publish_committed(
    app: Celery,
    sessions: sessionmaker[Session],
    messages: Sequence[Message],
    *,
    requeued: bool = False,
    retry_budget_s: float = 0.0,
) -> None:
    """Send `messages` for tasks already committed as queued, then mark them published in a
    short transaction of their own, retried through a database outage for `retry_budget_s`
    (a requeue also restarts their queue wait). Raises if the broker refuses; the tasks then
    stay unpublished and the sweeper sends them."""
    if not messages:
        return
    publish_many(app, messages)
    task_ids = [message.task_id for message in messages]

    def mark() -> None:
        with sessions.begin() as session:
            mark_published(session, task_ids, requeued=requeued)

    with_db_retry(mark, retry_budget_s, "recording a publish")
