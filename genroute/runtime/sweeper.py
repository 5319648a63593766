"""Republishes tasks whose broker message may be missing, so nothing is lost between the
database and the broker: tasks committed but never published (a crash between the two), and
tasks whose claimant stopped renewing its lease (a whole worker died), and tasks queued for
longer than `stale_queued_s` since their last publish (a Redis crash can lose the last second
of acknowledged writes under `appendfsync everysec`), and, much sooner, tasks queued for
longer than `orphaned_s` whose message the broker no longer holds live (see broker_holdings).

Candidates are found in a short transaction that skips rows other transactions hold, and
published after it commits, so a worker's claim never waits behind a publish. Two API
processes may both send one task's message; a duplicate is a no-op claim.
"""

import logging
from dataclasses import dataclass

import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from genroute.db.tasks import queued_published_before, tasks_to_republish
from genroute.runtime.broker_holdings import broker_holdings
from genroute.runtime.periodic import Periodic
from genroute.runtime.publishing import message_for, publish_committed
from genroute.runtime.queueing import QUEUES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepTimes:
    """How long each kind of suspect waits before it is sent again."""

    unpublished_grace_s: float
    stale_queued_s: float
    orphaned_s: float


def sweep_once(
    sessions: sessionmaker[Session], app: Celery, broker: redis.Redis, times: SweepTimes
) -> int:
    """Republish every task that needs it; returns how many were sent."""
    with sessions.begin() as session:
        due = [
            (message_for(task), task.status)
            for task in tasks_to_republish(session, times.unpublished_grace_s, times.stale_queued_s)
        ]
    for requeued in (False, True):
        # A claimed task whose lease lapsed goes back on its queue: its queue wait restarts.
        batch = [message for message, status in due if (status != "queued") is requeued]
        publish_committed(app, sessions, batch, requeued=requeued)
        for message in batch:
            log.warning("republished task %s on %s", message.task_id, message.queue)
    return len(due) + _republish_orphans(sessions, app, broker, times.orphaned_s)


def _republish_orphans(
    sessions: sessionmaker[Session], app: Celery, broker: redis.Redis, orphaned_s: float
) -> int:
    """Queued tasks whose message the broker lost: the database is read first, so a message
    claimed meanwhile is seen in `unacked`, and one finished meanwhile costs a no-op claim."""
    with sessions() as session:
        suspects = [
            message_for(task) for task in queued_published_before(session, orphaned_s, QUEUES)
        ]
    if not suspects:
        return 0
    holdings = broker_holdings(broker, {message.queue for message in suspects}, orphaned_s)
    orphans = [m for m in suspects if holdings.lost(str(m.task_id), m.queue)]
    publish_committed(app, sessions, orphans)
    for message in orphans:
        log.warning("republished task %s on %s: no live message", message.task_id, message.queue)
    return len(orphans)


class Sweeper(Periodic):
    """Runs `sweep_once` every `interval_s` on a daemon thread until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        app: Celery,
        broker: redis.Redis,
        *,
        interval_s: float,
        times: SweepTimes,
    ) -> None:
        super().__init__("sweeper", interval_s, lambda: sweep_once(sessions, app, broker, times))
