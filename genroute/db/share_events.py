"""Adaptive shares in PostgreSQL: every move is a row with its evidence, and the current share
of a (rule, task type) is its latest row (none yet: the rule's starting share)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.db.models import ShareEvent


@dataclass(frozen=True)
class CurrentShare:
    """The latest move of one (rule, task type)'s share."""

    share: float
    path: str
    other_path: str
    reason: str
    event_id: int
    changed_at: datetime


def current_shares(session: Session) -> dict[tuple[str, str], CurrentShare]:
    """The latest share of every (rule, task type) that has moved."""
    newest_ids = select(func.max(ShareEvent.id)).group_by(ShareEvent.rule, ShareEvent.task_type)
    latest = select(ShareEvent).where(ShareEvent.id.in_(newest_ids))
    return {
        (event.rule, event.task_type): CurrentShare(
            event.to_share,
            event.path,
            event.other_path,
            event.reason,
            event.id,
            event.created_at,
        )
        for event in session.scalars(latest)
    }


def add_share_event(session: Session, **columns: Any) -> None:
    """Add one move's row; the caller commits."""
    session.add(ShareEvent(**columns))
