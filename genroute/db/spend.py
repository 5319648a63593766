"""What production requests cost over a window, grouped by key, owner, task type and path:
every attempt's recorded cost (failed, refused, judged and cached attempts included), the
outputs that passed validation, and the cost of each. Read by `GET /v1/spend` and
`genroute spend`; the figures are sums of the attempts' `cost` column, the same column
budgets are charged from."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.contract import AttemptOutcome, Purpose
from genroute.contract.spend import SPEND_GROUP_FIELDS, SpendReport, SpendRow
from genroute.db.budgets import budget_states
from genroute.db.models import ApiKey, Attempt, Task
from genroute.errors import RequestRejected

# What each `by` name groups on.
SPEND_GROUPS = {
    "owner": Task.owner,
    "key": Task.api_key_id,
    "task_type": Task.task_type,
    "path": Attempt.path,
}


def parse_spend_by(text: str) -> list[str]:
    """`owner,key,task_type,path` (any of them, in any order) as a list; errors name `by`."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SPEND_GROUPS))
    if unknown:
        raise RequestRejected("by", f"unknown groups {unknown}; choose from {list(SPEND_GROUPS)}")
    return list(dict.fromkeys(names))


def spend_report(
    session: Session, since: datetime, until: datetime, by: list[str], owner: str | None
) -> SpendReport:
    """Spend of attempts that ended in [since, until), of `owner`'s requests (None: all), with
    the budgets on that owner and its keys as they stand now."""
    accepted = Task.result_attempt_id == Attempt.id
    cached = Attempt.outcome == AttemptOutcome.cached.value
    columns = [SPEND_GROUPS[name].label(name) for name in by]
    query = (
        select(
            *columns,
            func.count().label("attempts"),
            func.coalesce(func.sum(Attempt.cost), 0.0).label("cost"),
            func.count().filter(accepted).label("accepted"),
            func.count().filter(cached).label("cached"),
        )
        .join(Task, Task.id == Attempt.task_id)
        .where(
            Task.purpose == Purpose.production.value,
            Attempt.finished_at >= since,
            Attempt.finished_at < until,
        )
        .group_by(*columns)
        .order_by(func.sum(Attempt.cost).desc().nulls_last())
    )
    if owner is not None:
        query = query.where(Task.owner == owner)
    rows = [_row(by, found) for found in session.execute(query)]
    total = sum(row.cost_usd for row in rows)
    outputs = sum(row.accepted_outputs for row in rows)
    key_ids = list(session.scalars(select(ApiKey.id).where(ApiKey.owner == owner)))
    return SpendReport(
        since=since,
        until=until,
        by=by,
        rows=rows,
        total_usd=round(total, 8),
        accepted_outputs=outputs,
        cost_per_accepted_usd=round(total / outputs, 8) if outputs else None,
        budgets=budget_states(session, owner, key_ids),
    )


def _row(by: list[str], found: object) -> SpendRow:
    cost, outputs = float(found.cost), int(found.accepted)  # type: ignore[attr-defined]
    groups = {SPEND_GROUP_FIELDS[name]: getattr(found, name) for name in by}
    return SpendRow(
        **groups,
        attempts=int(found.attempts),  # type: ignore[attr-defined]
        cost_usd=round(cost, 8),
        accepted_outputs=outputs,
        cached_outputs=int(found.cached),  # type: ignore[attr-defined]
        cost_per_accepted_usd=round(cost / outputs, 8) if outputs else None,
    )
