"""Spend budgets and spend reports: what a key or owner may spend in US dollars per period,
and what its attempts cost. Every attempt's cost (failed, refused, judged and cached ones
too) is charged to the budgets of the request that caused it."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field


class BudgetPeriod(StrEnum):
    """How often a budget resets, at midnight UTC (weeks start on Monday)."""

    day = "day"
    week = "week"
    month = "month"

    def start(self, at: datetime) -> datetime:
        """The start of the period that holds `at`."""
        day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if self is BudgetPeriod.week:
            return day - timedelta(days=day.weekday())
        if self is BudgetPeriod.month:
            return day.replace(day=1)
        return day

    def end(self, at: datetime) -> datetime:
        """When the period that holds `at` resets."""
        start = self.start(at)
        if self is BudgetPeriod.day:
            return start + timedelta(days=1)
        if self is BudgetPeriod.week:
            return start + timedelta(weeks=1)
        return (start + timedelta(days=32)).replace(day=1)


class BudgetSubject(StrEnum):
    """Whose spend a budget caps: one API key's, or every key of an owner."""

    key = "key"
    owner = "owner"


class BudgetState(BaseModel):
    """A budget and its current period: `spent_usd` is what recorded attempts cost,
    `held_usd` what requests still in flight are expected to cost (admission counts both).
    `state` is `warning` past the soft limit and `exceeded` once spend reaches the limit."""

    id: UUID
    subject_kind: BudgetSubject
    subject: str
    period: BudgetPeriod
    limit_usd: float
    soft_limit_usd: float | None = None
    period_start: datetime
    resets_at: datetime
    spent_usd: float
    held_usd: float
    state: str


# The SpendRow field each group of a report (`by`) fills.
SPEND_GROUP_FIELDS = {
    "owner": "owner",
    "key": "api_key_id",
    "task_type": "task_type",
    "path": "path",
}


class SpendRow(BaseModel):
    """One group's attempts in the window and what they cost, with the cost of each output
    that passed validation (None: none did)."""

    owner: str | None = None
    api_key_id: UUID | None = None
    task_type: str | None = None
    path: str | None = None
    attempts: int
    cost_usd: float
    accepted_outputs: int
    cached_outputs: int = 0
    cost_per_accepted_usd: float | None = None


class SpendReport(BaseModel):
    """Spend of production requests over [since, until), grouped by `by`, and the caller's
    budgets. `total_usd` is the sum of every attempt's recorded cost in the window."""

    since: datetime
    until: datetime
    by: list[str]
    rows: list[SpendRow]
    total_usd: float
    accepted_outputs: int
    cost_per_accepted_usd: float | None = None
    budgets: list[BudgetState] = Field(default_factory=list)
