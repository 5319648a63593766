"""Republishes tasks whose broker message may be missing, so nothing is lost between the
database and the broker: tasks committed but never published (a crash between the two), and
tasks whose claimant stopped renewing its lease (a whole worker died), and tasks queued for
longer than `stale_queued_s` since their last publish (a Redis crash can lose the last second
of acknowledged writes under `appendfsync everysec`).

Candidates are found in a short transaction that skips rows other transactions hold, and
published after it commits, so a worker's claim never waits behind a publish. Two API
processes may both send one task's message; a duplicate is a no-op claim.
"""

import logging
import threading

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from genroute.db.tasks import tasks_to_republish
from genroute.runtime.publishing import publish_committed
from genroute.runtime.queueing import DEFAULT_PRIORITY, Message

log = logging.getLogger(__name__)


def sweep_once(
    sessions: sessionmaker[Session], app: Celery, unpublished_grace_s: float, stale_queued_s: float
) -> int:
    """Republish every task that needs it; returns how many were sent."""
    with sessions.begin() as session:
        due = [
            (
                Message(t.id, t.queue, t.request.get("priority", DEFAULT_PRIORITY), t.task_type),
                t.status,
            )
            for t in tasks_to_republish(session, unpublished_grace_s, stale_queued_s)
        ]
    for requeued in (False, True):
        # A claimed task whose lease lapsed goes back on its queue: its queue wait restarts.
        batch = [message for message, status in due if (status != "queued") is requeued]
        publish_committed(app, sessions, batch, requeued=requeued)
        for message in batch:
            log.warning("republished task %s on %s", message.task_id, message.queue)
    return len(due)


class Sweeper:
    """Runs `sweep_once` every `interval_s` on a daemon thread until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        app: Celery,
        *,
        interval_s: float,
        grace_s: float,
        stale_queued_s: float,
    ) -> None:
        self._sessions = sessions
        self._app = app
        self._interval_s = interval_s
        self._grace_s = grace_s
        self._stale_queued_s = stale_queued_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval_s + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                sweep_once(self._sessions, self._app, self._grace_s, self._stale_queued_s)
            except Exception:  # the broker or database may be briefly away; try next round
                log.exception("sweep failed")
