"""Human feedback on task outputs: one verdict per task, a later one replaces it. Does not
commit: the caller owns the transaction."""

import uuid
from datetime import datetime

from rapidfuzz.distance import Levenshtein
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.contract import FeedbackIn, Purpose
from genroute.db.models import Task, TaskFeedback


def edit_distance(output: str, edited: str) -> float:
    """Levenshtein distance over the longer text's length: 0 unchanged, 1 rewritten."""
    return Levenshtein.normalized_distance(output, edited)


def record_feedback(
    session: Session,
    task_id: uuid.UUID,
    output: str,
    feedback: FeedbackIn,
    api_key_id: uuid.UUID | None,
) -> TaskFeedback:
    """Store `feedback` on the task whose accepted output is `output`, replacing any earlier."""
    values = {
        "verdict": feedback.verdict,
        "edited_text": feedback.edited_text,
        "reason": feedback.reason,
        "usefulness": feedback.usefulness,
        "edit_distance": (
            edit_distance(output, feedback.edited_text)
            if feedback.verdict == "edited" and feedback.edited_text is not None
            else None
        ),
        "api_key_id": api_key_id,
    }
    statement = (
        insert(TaskFeedback)
        .values(task_id=task_id, **values)
        .on_conflict_do_update(
            index_elements=[TaskFeedback.task_id], set_={**values, "updated_at": func.now()}
        )
        .returning(TaskFeedback)
    )
    return session.scalars(statement, execution_options={"populate_existing": True}).one()


def reviewed_outputs(
    session: Session, task_type: str, since: datetime | None, owner: str | None
) -> list[tuple[Task, TaskFeedback]]:
    """Production tasks of `task_type` (created since `since`, of `owner`) with a verdict on
    their output, oldest first."""
    query = (
        select(Task, TaskFeedback)
        .join(TaskFeedback, TaskFeedback.task_id == Task.id)
        .where(Task.task_type == task_type, Task.purpose == Purpose.production.value)
        .order_by(Task.created_at)
    )
    if since is not None:
        query = query.where(Task.created_at >= since)
    if owner is not None:
        query = query.where(Task.owner == owner)
    return [(task, feedback) for task, feedback in session.execute(query)]
