"""What one call's submission carries from step to step: each request with what every step
learned of it, and the staged result the caller commits and then publishes."""

from dataclasses import dataclass
from typing import Any

from genroute.api.attachment_intake import PendingFile
from genroute.api.cached_answers import CacheLookup
from genroute.api.replays import Outcome
from genroute.contract import RouteDecision, StoredAttachment, TaskRequest


@dataclass(eq=False)  # each item is itself, however alike two requests are
class SubmittedItem:
    """One request on its way through a call, with what each step learned of it."""

    request: TaskRequest
    classification: dict[str, Any] | None = None  # how an `auto` request was resolved
    stored: list[StoredAttachment] | None = None  # its attachments, decoded and named
    pending: tuple[PendingFile, ...] = ()  # their new bytes, kept once it is accepted
    outcome: Outcome | None = None  # its answer, once a step has one
    decision: RouteDecision | None = None
    row: dict[str, Any] | None = None  # the new task's row
    repeats: "SubmittedItem | None" = None  # the earlier item of this call with its idempotency key
    hold_usd: float = 0.0  # what it holds of its caller's spend budgets, once admitted
    cache: CacheLookup | None = None  # its key and live entry, where its task type caches

    @property
    def cached(self) -> bool:
        return self.cache is not None and self.cache.hit is not None


@dataclass(frozen=True)
class Staged:
    """A call's outcomes, in its requests' order, and the new tasks (with their shadow
    copies' rows) to publish once the transaction that holds them commits."""

    outcomes: list[Outcome]
    created: list[SubmittedItem]
    shadows: list[dict[str, Any]]
    budget_warnings: list[str]  # budgets past their soft limit, in words
