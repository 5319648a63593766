"""Spend over HTTP: what the caller's production requests cost, grouped by key, owner, task
type and path, with its budgets (every owner's for an admin key)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from genroute.analysis.durations import parse_duration
from genroute.api.auth import Reader
from genroute.api.deps import SessionsDep
from genroute.api.errors import ERROR_RESPONSES
from genroute.contract.spend import SpendReport
from genroute.db.spend import parse_spend_by, spend_report
from genroute.errors import RequestRejected

router = APIRouter(prefix="/v1/spend", tags=["spend"], responses=ERROR_RESPONSES)


@router.get("")
async def spend(
    principal: Reader,
    sessions: SessionsDep,
    since: Annotated[str, Query(description="how far back: 30m, 24h, 7d")] = "24h",
    until: Annotated[
        datetime | None, Query(description="end of the window (ISO 8601); now if absent")
    ] = None,
    by: Annotated[
        str, Query(description="comma-separated: owner, key, task_type, path")
    ] = "owner,key,task_type,path",
) -> SpendReport:
    """Every attempt's recorded cost in the window (failed, refused, judged and cached ones
    included), per group, with the outputs that passed validation and the cost of each; and
    the budgets as they stand now. A non-admin key sees its own owner's spend."""
    groups = parse_spend_by(by)
    end = until or datetime.now(UTC)
    if end.tzinfo is None:
        raise RequestRejected("until", "give a time zone (for example 2026-12-05T10:00:00Z)")
    start = end - parse_duration(since)

    def report() -> SpendReport:
        with sessions() as session:
            return spend_report(session, start, end, groups, principal.owner_filter())

    return await run_in_threadpool(report)
