"""The scorecard over time: acceptance and cost per accepted output per (path, task type), hour
by hour, read from the scorecard's hourly rollups (production traffic only), as chart specs the
console's and the report's script draws (report.js, kind `lines`)."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.contract import Purpose
from genroute.db.models import ScorecardRollup

EMPTY = "no finished requests in this window"


def _hourly(
    session: Session, since: datetime | None, owner: str | None
) -> dict[str, dict[datetime, tuple[int, int, float]]]:
    """(requests, accepted, cost) per "path/task type" and hour."""
    query = (
        select(
            ScorecardRollup.hour,
            ScorecardRollup.path,
            ScorecardRollup.task_type,
            func.sum(ScorecardRollup.requests),
            func.sum(ScorecardRollup.accepted),
            func.sum(ScorecardRollup.cost),
        )
        .where(ScorecardRollup.purpose == Purpose.production.value)
        .group_by(ScorecardRollup.hour, ScorecardRollup.path, ScorecardRollup.task_type)
    )
    if since is not None:
        query = query.where(ScorecardRollup.hour >= func.date_trunc("hour", since, "UTC"))
    if owner is not None:
        query = query.where(ScorecardRollup.owner == owner)
    series: dict[str, dict[datetime, tuple[int, int, float]]] = defaultdict(dict)
    for hour, path, task_type, requests, accepted, cost in session.execute(query):
        series[f"{path}/{task_type}"][hour] = (int(requests), int(accepted), float(cost or 0))
    return series


def _lines(
    hourly: dict[str, dict[datetime, tuple[int, int, float]]],
    value: Any,
    y_label: str,
    number_format: str,
) -> dict[str, Any]:
    hours = sorted({hour for by_hour in hourly.values() for hour in by_hour})
    series = [
        {"name": name, "values": [value(*by_hour[h]) if h in by_hour else None for h in hours]}
        for name, by_hour in sorted(hourly.items())
    ]
    series = [line for line in series if any(v is not None for v in line["values"])]
    if not series:
        return {"empty": EMPTY}
    return {
        "kind": "lines",
        "times": [hour.isoformat() for hour in hours],
        "series": series,
        "yLabel": y_label,
        "format": number_format,
    }


def trend_charts(session: Session, since: datetime | None, owner: str | None) -> dict[str, Any]:
    """Acceptance and cost per accepted output per hour, a line per (path, task type); an hour
    with no requests (or nothing accepted, for cost) is a gap, not a zero."""
    hourly = _hourly(session, since, owner)
    return {
        "acceptance_over_time": _lines(
            hourly,
            lambda requests, accepted, cost: accepted / requests if requests else None,
            "acceptance",
            "percent",
        ),
        "cost_over_time": _lines(
            hourly,
            lambda requests, accepted, cost: cost / accepted if accepted else None,
            "cost per accepted output",
            "money",
        ),
    }
