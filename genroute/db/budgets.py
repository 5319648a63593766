"""Spend budgets' ledgers: set and list budgets, lock a caller's current periods at submit,
hold what admitted requests are expected to cost, charge each recorded attempt's cost (in the
transaction that records it) and release a task's holds when it ends. Only production
requests are charged: evaluation runs and shadow copies are the operators' own spend. None of
these commits: the caller owns the transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.contract import Purpose
from genroute.contract.spend import BudgetPeriod, BudgetState, BudgetSubject
from genroute.db.models import Attempt, BudgetHold, BudgetPeriodSpend, SpendBudget, Task


@dataclass(frozen=True)
class Ledger:
    """A budget with its current period's row (locked by `locked_ledgers`)."""

    budget: SpendBudget
    period: BudgetPeriodSpend

    @property
    def resets_at(self) -> datetime:
        return BudgetPeriod(self.budget.period).end(self.period.period_start)


def _subject_filter(key_id: uuid.UUID | None, owner: str | None) -> ColumnElement[bool]:
    return or_(
        (SpendBudget.subject_kind == BudgetSubject.key.value)
        & (SpendBudget.subject == str(key_id)),
        (SpendBudget.subject_kind == BudgetSubject.owner.value) & (SpendBudget.subject == owner),
    )


def _spent_since(session: Session, budget: SpendBudget, start: datetime) -> float:
    """What the subject's production attempts recorded since `start` cost."""
    subject = (
        Task.api_key_id == uuid.UUID(budget.subject)
        if budget.subject_kind == BudgetSubject.key.value
        else Task.owner == budget.subject
    )
    query = (
        select(func.coalesce(func.sum(Attempt.cost), 0.0))
        .join(Task, Task.id == Attempt.task_id)
        .where(subject, Task.purpose == Purpose.production.value, Attempt.finished_at >= start)
    )
    return float(session.scalar(query) or 0.0)


def set_budget(
    session: Session,
    kind: BudgetSubject,
    subject: str,
    limit_usd: float,
    period: BudgetPeriod,
    soft_limit_usd: float | None = None,
) -> SpendBudget:
    """Create or change the budget of `subject`. Its current period starts with what the
    subject has already spent in it, so a budget set mid-month caps the month."""
    query = select(SpendBudget).where(
        SpendBudget.subject_kind == kind.value, SpendBudget.subject == subject
    )
    budget = session.scalars(query.with_for_update()).one_or_none()
    if budget is None:
        budget = SpendBudget(id=uuid.uuid4(), subject_kind=kind.value, subject=subject)
        session.add(budget)
    elif budget.period != period.value:
        session.execute(delete(BudgetPeriodSpend).where(BudgetPeriodSpend.budget_id == budget.id))
    budget.period, budget.limit_usd, budget.soft_limit_usd = period.value, limit_usd, soft_limit_usd
    budget.updated_at = func.now()
    session.flush()
    start = period.start(_now(session))
    spent = _spent_since(session, budget, start)
    row = {"budget_id": budget.id, "period_start": start, "spent_usd": spent}
    session.execute(insert(BudgetPeriodSpend).values(row).on_conflict_do_nothing())
    return budget


def remove_budget(session: Session, kind: BudgetSubject, subject: str) -> bool:
    """Remove `subject`'s budget (its ledgers and holds go with it); False if it had none."""
    removed = session.execute(
        delete(SpendBudget).where(
            SpendBudget.subject_kind == kind.value, SpendBudget.subject == subject
        )
    )
    return removed.rowcount > 0


def _now(session: Session) -> datetime:
    return session.scalar(select(func.now()))


def _current_rows(session: Session, budgets: list[SpendBudget], now: datetime) -> None:
    """Each budget's row for the period holding `now`, made if this is its first use."""
    rows = [{"budget_id": b.id, "period_start": BudgetPeriod(b.period).start(now)} for b in budgets]
    if rows:
        session.execute(insert(BudgetPeriodSpend).values(rows).on_conflict_do_nothing())


def _ledgers(
    session: Session, budgets: list[SpendBudget], now: datetime, *, lock: bool
) -> list[Ledger]:
    _current_rows(session, budgets, now)
    ledgers = []
    for budget in sorted(budgets, key=lambda b: b.id):  # one lock order everywhere
        query = select(BudgetPeriodSpend).where(
            BudgetPeriodSpend.budget_id == budget.id,
            BudgetPeriodSpend.period_start == BudgetPeriod(budget.period).start(now),
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        ledgers.append(Ledger(budget, session.scalars(query).one()))
    return ledgers


def locked_ledgers(session: Session, key_id: uuid.UUID | None, owner: str | None) -> list[Ledger]:
    """The current periods of every budget on this key or owner, locked until the caller
    commits: a submission admits against them and records its holds before anyone else can."""
    budgets = list(session.scalars(select(SpendBudget).where(_subject_filter(key_id, owner))))
    return _ledgers(session, budgets, _now(session), lock=True) if budgets else []


def add_holds(session: Session, ledgers: list[Ledger], holds: dict[uuid.UUID, float]) -> None:
    """Hold `holds` (task id: expected cost) of every ledger's period: the tasks exist."""
    total = sum(holds.values())
    if not ledgers or not holds:
        return
    rows = [
        {
            "task_id": task_id,
            "budget_id": ledger.budget.id,
            "period_start": ledger.period.period_start,
            "held_usd": usd,
        }
        for ledger in ledgers
        for task_id, usd in holds.items()
    ]
    session.execute(insert(BudgetHold).values(rows))
    for ledger in ledgers:
        ledger.period.held_usd += total


def charge_attempt(session: Session, task: Task, usd: float, now: datetime) -> None:
    """Charge `usd` of a recorded attempt to the budgets of the request behind `task` (in the
    current period), taking as much off the task's holds."""
    if task.purpose != Purpose.production.value or not usd:
        return
    budgets = list(
        session.scalars(select(SpendBudget).where(_subject_filter(task.api_key_id, task.owner)))
    )
    for budget in sorted(budgets, key=lambda b: b.id):
        row = {
            "budget_id": budget.id,
            "period_start": BudgetPeriod(budget.period).start(now),
            "spent_usd": usd,
        }
        statement = insert(BudgetPeriodSpend).values(row)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[BudgetPeriodSpend.budget_id, BudgetPeriodSpend.period_start],
                set_={"spent_usd": BudgetPeriodSpend.spent_usd + statement.excluded.spent_usd},
            )
        )
    holds = session.scalars(
        select(BudgetHold).where(BudgetHold.task_id == task.id).with_for_update()
    )
    for hold in holds:
        taken = min(max(usd, 0.0), hold.held_usd)
        hold.held_usd -= taken
        _unhold(session, hold.budget_id, hold.period_start, taken)


def release_holds(session: Session, task_id: uuid.UUID) -> None:
    """What the ended task still held goes back to its budgets."""
    released = session.execute(
        delete(BudgetHold)
        .where(BudgetHold.task_id == task_id)
        .returning(BudgetHold.budget_id, BudgetHold.period_start, BudgetHold.held_usd)
    )
    for budget_id, period_start, usd in released.all():
        _unhold(session, budget_id, period_start, usd)


def _unhold(session: Session, budget_id: uuid.UUID, period_start: datetime, usd: float) -> None:
    if usd:
        session.execute(
            update(BudgetPeriodSpend)
            .where(
                BudgetPeriodSpend.budget_id == budget_id,
                BudgetPeriodSpend.period_start == period_start,
            )
            .values(held_usd=func.greatest(BudgetPeriodSpend.held_usd - usd, 0.0))
        )


def budget_state(ledger: Ledger) -> BudgetState:
    budget, period = ledger.budget, ledger.period
    spent, soft = period.spent_usd, budget.soft_limit_usd
    state = "exceeded" if spent >= budget.limit_usd else "ok"
    if state == "ok" and soft is not None and spent >= soft:
        state = "warning"
    return BudgetState(
        id=budget.id,
        subject_kind=BudgetSubject(budget.subject_kind),
        subject=budget.subject,
        period=BudgetPeriod(budget.period),
        limit_usd=budget.limit_usd,
        soft_limit_usd=soft,
        period_start=period.period_start,
        resets_at=ledger.resets_at,
        spent_usd=round(spent, 8),
        held_usd=round(period.held_usd, 8),
        state=state,
    )


def budget_states(
    session: Session, owner: str | None, key_ids: list[uuid.UUID] | None = None
) -> list[BudgetState]:
    """Every budget (`owner` None) or those on `owner` and its keys, as they stand now."""
    query = select(SpendBudget)
    if owner is not None:
        keys = [str(k) for k in key_ids or []]
        query = query.where(
            (
                (SpendBudget.subject_kind == BudgetSubject.owner.value)
                & (SpendBudget.subject == owner)
            )
            | (
                (SpendBudget.subject_kind == BudgetSubject.key.value)
                & SpendBudget.subject.in_(keys)
            )
        )
    budgets = list(session.scalars(query))
    return [
        budget_state(ledger) for ledger in _ledgers(session, budgets, _now(session), lock=False)
    ]
