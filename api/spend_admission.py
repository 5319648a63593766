"""Admitting a call's requests against the spend budgets of its key and owner, before any
task exists: each admitted request holds what it is expected to cost (the costliest recent
request of its task type on its path, else `GENROUTE_UNMEASURED_HOLD_USD`), its attempts' actual
costs replace the hold as they are recorded, and the task's end releases the rest.

A request is admitted while a budget's spend plus what is held stays under its limit, under a
lock on the budget's current period that every API process takes: so concurrent submitters
stop within one request's cost of the cap. Spent to the limit, the answer is final until the
period resets; held to the limit, retry shortly (requests in flight may cost less)."""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from genroute.api.auth import Principal
from genroute.db.budgets import Ledger, add_holds, locked_ledgers
from genroute.db.tasks import db_now
from genroute.errors import BudgetExceeded

log = logging.getLogger(__name__)


@dataclass
class SpendAdmission:
    """One call's admissions against its caller's locked budget periods."""

    ledgers: list[Ledger]
    now: datetime
    retry_s: float
    pending: dict[uuid.UUID, float] = field(default_factory=dict)
    # Budgets past their soft limit, in words, for the answer's Genroute-Budget-Warning header.
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def lock(cls, session: Session, principal: Principal, retry_s: float) -> "SpendAdmission":
        """The caller's budgets, locked until the call's transaction ends."""
        ledgers = locked_ledgers(session, principal.key_id, principal.owner)
        # The database's clock names a reset; with no budget nothing is refused, and a
        # submission spends no round trip on it.
        now = db_now(session) if ledgers else datetime.now(UTC)
        return cls(ledgers, now, retry_s)

    def admit(self, hold_usd: float) -> BudgetExceeded | None:
        """Admit one request that holds `hold_usd`, or the refusal of the first budget
        without room for it."""
        for ledger in self.ledgers:
            spent, limit = ledger.period.spent_usd, ledger.budget.limit_usd
            committed = spent + ledger.period.held_usd + self.pending.get(ledger.budget.id, 0.0)
            if committed >= limit:
                return self._refusal(ledger, spent, committed - spent)
        for ledger in self.ledgers:
            budget_id = ledger.budget.id
            self.pending[budget_id] = self.pending.get(budget_id, 0.0) + hold_usd
            self._warn_past_soft_limit(ledger)
        return None

    def record(self, session: Session, holds: dict[uuid.UUID, float]) -> None:
        """The created tasks' holds (task id: USD), in the call's transaction."""
        add_holds(session, self.ledgers, holds)

    def _refusal(self, ledger: Ledger, spent: float, held: float) -> BudgetExceeded:
        budget = ledger.budget
        name = f"the {budget.subject_kind} budget of {budget.subject}"
        cap = f"${budget.limit_usd:.4f} a {budget.period}"
        resets = ledger.resets_at.isoformat()
        if spent >= budget.limit_usd:
            until_reset = (ledger.resets_at - self.now).total_seconds()
            message = f"{name} ({cap}) is spent: ${spent:.4f} this period; it resets at {resets}"
            return BudgetExceeded(message, max(1.0, until_reset), final=True)
        message = (
            f"{name} ({cap}) has ${spent:.4f} spent and ${held:.4f} held by requests in flight "
            f"(resets at {resets}); retry in {self.retry_s:g} s, as they finish"
        )
        return BudgetExceeded(message, self.retry_s, final=False)

    def _warn_past_soft_limit(self, ledger: Ledger) -> None:
        budget, spent = ledger.budget, ledger.period.spent_usd
        if budget.soft_limit_usd is None or spent < budget.soft_limit_usd:
            return
        warning = (
            f"the {budget.subject_kind} budget of {budget.subject} is past its soft limit: "
            f"${spent:.4f} of ${budget.soft_limit_usd:.4f} (limit ${budget.limit_usd:.4f})"
        )
        if warning not in self.warnings:
            self.warnings.append(warning)
            log.warning("%s", warning)
