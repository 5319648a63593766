"""Budget periods, admission against budgets (spent vs held), and path prices."""

import uuid
from datetime import UTC, datetime

import pytest

from genroute.api.spend_admission import SpendAdmission
from genroute.contract.spend import BudgetPeriod
from genroute.db.budgets import Ledger, budget_state
from genroute.db.models import BudgetPeriodSpend, SpendBudget

NOW = datetime(2026, 12, 31, 22, 15, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (BudgetPeriod.day, datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (BudgetPeriod.week, datetime(2026, 12, 28, tzinfo=UTC), datetime(2027, 1, 4, tzinfo=UTC)),
        (BudgetPeriod.month, datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_periods_start_and_reset_at_midnight_utc(period, start, end) -> None:
    assert period.start(NOW) == start
    assert period.end(NOW) == end
    assert period.start(end) == end  # the reset instant opens the next period


def test_a_month_of_31_days_resets_on_the_first() -> None:
    january = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)
    assert BudgetPeriod.month.end(january) == datetime(2027, 2, 1, tzinfo=UTC)


def _ledger(limit: float, spent: float, held: float = 0.0, soft: float | None = None) -> Ledger:
    budget = SpendBudget(
        id=uuid.uuid4(),
        subject_kind="key",
        subject="k1",
        period="day",
        limit_usd=limit,
        soft_limit_usd=soft,
    )
    period = BudgetPeriodSpend(
        budget_id=budget.id, period_start=BudgetPeriod.day.start(NOW), spent_usd=spent
    )
    period.held_usd = held
    return Ledger(budget, period)


def test_requests_are_admitted_while_spend_and_holds_stay_under_the_limit() -> None:
    admission = SpendAdmission([_ledger(1.0, spent=0.5)], NOW, retry_s=5)
    assert admission.admit(0.3) is None
    assert admission.admit(0.3) is None  # 0.8 committed: still room, so it may overshoot once
    refused = admission.admit(0.3)
    assert refused is not None and not refused.final
    assert refused.retry_after_s == 5 and refused.status_code == 429
    assert "held by requests in flight" in refused.message


def test_a_spent_budget_refuses_until_its_reset() -> None:
    refused = SpendAdmission([_ledger(1.0, spent=1.0)], NOW, retry_s=5).admit(0.0)
    assert refused is not None and refused.final and refused.openai_code == "budget_exceeded"
    assert refused.field == "budget"
    assert (
        "$1.0000 this period" in refused.message and "2027-01-01T00:00:00+00:00" in refused.message
    )
    assert refused.retry_after_s == pytest.approx(
        (datetime(2027, 1, 1, tzinfo=UTC) - NOW).total_seconds()
    )


def test_every_budget_must_have_room_and_a_zero_limit_admits_nothing() -> None:
    roomy, empty = _ledger(10.0, spent=0.0), _ledger(0.0, spent=0.0)
    assert SpendAdmission([roomy, empty], NOW, retry_s=5).admit(0.1) is not None
    assert SpendAdmission([], NOW, retry_s=5).admit(100.0) is None  # no budget: uncapped


def test_budget_state_warns_past_the_soft_limit() -> None:
    assert budget_state(_ledger(1.0, spent=0.85, soft=0.8)).state == "warning"
    assert budget_state(_ledger(1.0, spent=0.5, soft=0.8)).state == "ok"
    assert budget_state(_ledger(1.0, spent=1.2, soft=0.8)).state == "exceeded"
