"""Retention: with GENROUTE_RETENTION_DAYS set, finished tasks older than that are deleted with
their attempts, verdicts and feedback, and so are the images and videos no remaining task shows
(their files' bytes too, in PostgreSQL or the bucket) and the text read inside them. What the
scorecard has already rolled up stays: hourly sums, not anyone's data.

Each round deletes a bounded batch in short transactions that skip rows others hold, so two
API processes share the work and neither waits. A file a submission is reusing is held by it
(SELECT ... FOR SHARE until it commits), so the pruner skips it, and once that submission
commits, its task names the file and keeps it."""

import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import TaskStatus
from genroute.runtime.file_store import FileStore
from genroute.runtime.periodic import Periodic

log = logging.getLogger(__name__)

_TERMINAL = tuple(status.value for status in TaskStatus if status.is_terminal)
_PURPOSES = ("vision", "user_data")

_EXPIRED_TASKS = text(
    """
    DELETE FROM tasks WHERE id IN (
        SELECT id FROM tasks
        WHERE status IN :terminal AND finished_at < now() - make_interval(secs => :age_s)
        ORDER BY finished_at LIMIT :batch
        FOR UPDATE SKIP LOCKED)
    RETURNING id
    """
).bindparams(bindparam("terminal", value=_TERMINAL, expanding=True))
# A file no task names: neither as an attachment nor as one of a video's frames.
_UNSHOWN_FILES = text(
    """
    DELETE FROM files WHERE id IN (
        SELECT f.id FROM files f
        WHERE f.purpose IN :purposes AND f.created_at < now() - make_interval(secs => :age_s)
          AND NOT EXISTS (
              SELECT 1 FROM tasks t
              WHERE t.request ? 'attachments'
                AND (t.request -> 'attachments' @> jsonb_build_array(
                         jsonb_build_object('file_id', f.id))
                     OR t.request -> 'attachments' @> jsonb_build_array(jsonb_build_object(
                         'frames', jsonb_build_array(jsonb_build_object('file_id', f.id))))))
        ORDER BY f.created_at LIMIT :batch
        FOR UPDATE SKIP LOCKED)
    RETURNING id, location
    """
).bindparams(bindparam("purposes", value=_PURPOSES, expanding=True))
_OLD_READINGS = text(
    "DELETE FROM attachment_texts WHERE created_at < now() - make_interval(secs => :age_s)"
)


@dataclass(frozen=True)
class Pruned:
    tasks: int
    files: int
    readings: int


def prune_once(
    sessions: sessionmaker[Session], store: FileStore, age_s: float, batch: int = 500
) -> Pruned:
    """One round: a batch of expired tasks, then a batch of attachment files no task shows
    (their bytes deleted after the rows' commit: a crash between leaves bytes no row names,
    never a row without its bytes), then readings older than the age."""
    params = {"age_s": age_s, "batch": batch}
    with sessions.begin() as session:
        tasks = len(session.execute(_EXPIRED_TASKS, params).all())
    with sessions.begin() as session:
        files = session.execute(_UNSHOWN_FILES, params).all()
    for file_id, location in files:
        if location is None:
            continue
        try:
            store.delete(location)
        except Exception:  # the row is gone; its bytes are left, and logged
            log.exception("could not delete the bytes of file %s at %s", file_id, location)
    with sessions.begin() as session:
        readings = session.execute(_OLD_READINGS, params).rowcount
    if tasks or files or readings:
        log.info(
            "retention: deleted %d tasks, %d attachment files, %d readings", tasks, len(files),
            readings,
        )  # fmt: skip
    return Pruned(tasks, len(files), readings)


class Pruner(Periodic):
    """Runs `prune_once` every `interval_s` on a daemon thread until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: FileStore,
        *,
        retention_days: float,
        interval_s: float,
    ) -> None:
        age_s = retention_days * 86400
        super().__init__("retention", interval_s, lambda: prune_once(sessions, store, age_s))
