"""The review queue: accepted outputs of production requests, sampled by task id at a rate
(so every (path, task type) is sampled alike and every API process draws the same items),
that no one has reviewed yet, newest first. Answers from the cache are left out: their output
was a model's, reviewed where it was produced."""

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from genroute.db.models import Task

# Two random bytes of a version-4 task id, as a number in [0, 65536): the sampling draw.
_NEXT = text(
    """
    SELECT t.id FROM tasks t
    WHERE t.status = 'succeeded' AND t.purpose = 'production' AND t.output_text IS NOT NULL
      AND (CAST(:owner AS text) IS NULL OR t.owner = :owner)
      AND get_byte(uuid_send(t.id), 14) * 256 + get_byte(uuid_send(t.id), 15) < :threshold
      AND NOT EXISTS (SELECT 1 FROM task_feedback f WHERE f.task_id = t.id)
      AND NOT EXISTS (SELECT 1 FROM attempts c
                      WHERE c.id = t.result_attempt_id AND c.outcome = 'cached')
    ORDER BY t.finished_at DESC
    LIMIT 1
    """
)


def next_to_review(session: Session, owner: str | None, sample_rate: float) -> Task | None:
    """The newest sampled, unreviewed accepted output of `owner`'s requests (None: anyone's)."""
    params = {"owner": owner, "threshold": round(sample_rate * 65536)}
    task_id: uuid.UUID | None = session.execute(_NEXT, params).scalar_one_or_none()
    return session.get(Task, task_id) if task_id is not None else None
