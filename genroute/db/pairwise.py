"""Blind pairwise review of shadow pairs: the next pair a reviewer has not judged (a production
task's accepted output and its shadow copy's, from two different paths), recording which one
they preferred, and the tally per (path, task type) the scorecard turns into win rates. None of
these commits: the caller owns the transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.db.models import PairwiseReview

_PAIRS = """
    SELECT t.id AS task_id, s.id AS shadow_id, t.task_type, t.request ->> 'input' AS input,
           ta.path AS task_path, ta.output_text AS task_output,
           sa.path AS shadow_path, sa.output_text AS shadow_output
    FROM tasks t
    JOIN tasks s ON s.shadow_of = t.id AND s.status = 'succeeded'
    JOIN attempts ta ON ta.id = t.result_attempt_id AND ta.outcome = 'succeeded'
    JOIN attempts sa ON sa.id = s.result_attempt_id AND sa.outcome = 'succeeded'
    WHERE t.status = 'succeeded' AND t.purpose = 'production' AND ta.path <> sa.path
"""
_NEXT_PAIR = text(
    _PAIRS
    + """
      AND (CAST(:owner AS text) IS NULL OR t.owner = :owner)
      AND NOT EXISTS (SELECT 1 FROM pairwise_reviews p
                      WHERE p.task_id = t.id AND p.api_key_id = :key_id)
    ORDER BY t.finished_at DESC
    LIMIT 1
    """
)
_PAIR_OF = text(_PAIRS + " AND t.id = :task_id LIMIT 1")

# Each judged pair counts once for both of its paths: the preferred one wins 1, a tie half.
_TALLY = text(
    """
    SELECT side.path, t.task_type, count(*) AS comparisons,
           sum(CASE WHEN p.preferred_path IS NULL THEN 0.5
                    WHEN p.preferred_path = side.path THEN 1 ELSE 0 END) AS wins
    FROM pairwise_reviews p
    JOIN tasks t ON t.id = p.task_id
    CROSS JOIN LATERAL (VALUES (p.task_path), (p.shadow_path)) AS side(path)
    WHERE (CAST(:start AS timestamptz) IS NULL OR t.created_at >= :start)
      AND (CAST(:owner AS text) IS NULL OR t.owner = :owner)
    GROUP BY side.path, t.task_type
    """
)


@dataclass(frozen=True)
class Pair:
    """Two answers to one input, from two paths."""

    task_id: uuid.UUID
    shadow_id: uuid.UUID
    task_type: str
    input: str
    task_path: str
    task_output: str
    shadow_path: str
    shadow_output: str


def next_pair(session: Session, owner: str | None, key_id: uuid.UUID) -> Pair | None:
    """The newest shadow pair of `owner`'s requests (None: anyone's) this key has not judged."""
    row = session.execute(_NEXT_PAIR, {"owner": owner, "key_id": key_id}).mappings().first()
    return Pair(**row) if row is not None else None


def pair_of(session: Session, task_id: uuid.UUID) -> Pair | None:
    """The shadow pair whose production task is `task_id`, if it is one."""
    row = session.execute(_PAIR_OF, {"task_id": task_id}).mappings().first()
    return Pair(**row) if row is not None else None


def record_preference(
    session: Session,
    pair: Pair,
    key_id: uuid.UUID,
    preferred_path: str | None,
    shown_first: str,
) -> None:
    """The key's preference on `pair` (None: a tie); a second answer for it is ignored."""
    row = {
        "task_id": pair.task_id,
        "shadow_task_id": pair.shadow_id,
        "api_key_id": key_id,
        "task_path": pair.task_path,
        "shadow_path": pair.shadow_path,
        "preferred_path": preferred_path,
        "shown_first": shown_first,
    }
    session.execute(insert(PairwiseReview).values(row).on_conflict_do_nothing())


def preference_tallies(
    session: Session, start: datetime | None, owner: str | None
) -> dict[tuple[str, str], tuple[int, float]]:
    """(path, task type): (pairs judged, wins) over production tasks created since `start`."""
    rows = session.execute(_TALLY, {"start": start, "owner": owner})
    return {(path, kind): (int(count), float(wins)) for path, kind, count, wins in rows}


_HEAD_TO_HEAD = text(
    """
    SELECT count(*) AS pairs,
           count(*) FILTER (WHERE p.preferred_path = :candidate) AS candidate_wins,
           count(*) FILTER (WHERE p.preferred_path = :incumbent) AS incumbent_wins
    FROM pairwise_reviews p JOIN tasks t ON t.id = p.task_id
    WHERE t.task_type = :task_type
      AND ((p.task_path = :candidate AND p.shadow_path = :incumbent)
           OR (p.task_path = :incumbent AND p.shadow_path = :candidate))
      AND (CAST(:start AS timestamptz) IS NULL OR t.created_at >= :start)
    """
)


@dataclass(frozen=True)
class HeadToHead:
    """Blind pairwise judgements between two paths on one task type."""

    pairs: int
    candidate_wins: int
    incumbent_wins: int

    @property
    def ties(self) -> int:
        return self.pairs - self.candidate_wins - self.incumbent_wins


def head_to_head(
    session: Session, task_type: str, candidate: str, incumbent: str, start: datetime | None
) -> HeadToHead:
    """Every judgement between `candidate` and `incumbent` on `task_type` since `start`."""
    params = {
        "task_type": task_type,
        "candidate": candidate,
        "incumbent": incumbent,
        "start": start,
    }
    row = session.execute(_HEAD_TO_HEAD, params).one()
    return HeadToHead(int(row.pairs), int(row.candidate_wins), int(row.incumbent_wins))
