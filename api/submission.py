"""Accepting requests: route each (rules, privacy tier, path state), insert the new ones in
one statement with their idempotency keys, commit, then publish. Single and batch submission
both come through here, so they behave the same; a single submit is a batch of one.

Persist first, then publish: a task is never in the broker without its row, and one that
misses the broker is republished by the sweeper.
"""

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Response

from genroute.api.attachment_intake import AttachmentIntake, keep_pending
from genroute.api.auth import Submitter
from genroute.api.cached_answers import look_up
from genroute.api.call_routes import CallRoutes
from genroute.api.deps import (
    AutoTaskTypesDep,
    CeleryDep,
    FileStoreDep,
    LiveFiguresDep,
    PathStatesDep,
    PolicyDep,
    RateLimiterDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from genroute.api.rate_limits import charge
from genroute.api.replays import Outcome, Submitted, repeat_of, replay_of
from genroute.api.shadows import priority_of, shadow_rows
from genroute.api.spend_admission import SpendAdmission
from genroute.api.submission_items import Staged, SubmittedItem
from genroute.contract import (
    TaskAccepted,
    TaskRequest,
    TaskStatus,
)
from genroute.db.output_cache import answer_from_cache
from genroute.db.submissions import insert_tasks, tasks_by_idempotency_key
from genroute.db.tasks import db_now, task_row
from genroute.errors import RequestRejected
from genroute.observability.logs import log_context
from genroute.observability.metrics import CACHE_LOOKUPS, TASKS_SUBMITTED
from genroute.observability.tracing import current_carrier
from genroute.runtime.publishing import publish_committed
from genroute.runtime.queueing import Message

log = logging.getLogger(__name__)


@dataclass
class Submission:
    """One API call's submissions, on behalf of `principal`."""

    # Typed by their dependencies, so FastAPI builds a route's Submission itself.
    session: SessionDep
    sessions: SessionsDep
    policy: PolicyDep
    path_states: PathStatesDep
    settings: SettingsDep
    celery: CeleryDep
    principal: Submitter
    limiter: RateLimiterDep
    auto: AutoTaskTypesDep
    live: LiveFiguresDep
    store: FileStoreDep
    # Budgets past their soft limit after `submit`, in words (not a dependency: init=False).
    budget_warnings: list[str] = field(init=False, default_factory=list)

    def charge(self, cost: int) -> None:
        """Spend `cost` of the key's submission rate, or refuse the whole call with 429."""
        charge(self.limiter, self.principal, self.settings.rate_limit_per_minute, cost)

    def submit(self, requests: list[TaskRequest]) -> list[Outcome]:
        """One outcome per request, in order: stage them, commit, then publish."""
        staged = self.stage(requests)
        self.session.commit()
        self.publish(staged)
        self.budget_warnings = staged.budget_warnings
        return staged.outcomes

    def warn(self, response: Response) -> None:
        """Name the caller's budgets past their soft limit in the answer's headers."""
        if self.budget_warnings:
            response.headers["Genroute-Budget-Warning"] = "; ".join(self.budget_warnings)

    def stage(self, requests: list[TaskRequest]) -> "Staged":
        """The requests' tasks in the caller's transaction, through these steps: resolve
        `auto` task types; decode and name attachments; answer replays of earlier
        idempotency keys and route the rest by the rules (split, cheapest output, budget);
        admit each route by path state; look each up in the cache of accepted outputs (a hit
        is answered at once, unpublished); admit each against the caller's spend budgets (a
        request with no room left refuses itself); keep the accepted ones' attachment files
        and insert the new tasks and their shadow copies, each holding its expected cost of
        the budgets; answer repeats of a key within the call. The
        caller commits (with its own records of the outcomes, under any lock it holds), then
        publishes: nothing is in the broker before its row."""
        items = [SubmittedItem(request) for request in requests]
        routes = CallRoutes(self.policy, self.path_states, self.live, self.settings.max_input_chars)
        self._resolve_auto(items)
        self._take_in_attachments(items)
        self._route_by_rules(items, routes)
        self._admit(items, routes)
        for item in items:
            if item.decision is not None and item.outcome is None:
                item.cache = look_up(
                    self.session,
                    self.policy,
                    item.request,
                    item.stored or [],
                    item.decision,
                    self.principal.owner,
                )
        spend = self._hold_spend(items)
        created, shadows = self._insert(items)
        for item in created:
            if item.cache is not None:
                result = "hit" if item.cached else "miss"
                CACHE_LOOKUPS.labels(item.request.task_type, result).inc()
        holds = {i.row["id"]: i.hold_usd for i in created if i.row and not i.cached}
        spend.record(self.session, holds)
        for item in items:
            if item.repeats is not None:
                first = item.repeats
                item.outcome = repeat_of(first.outcome, first.request, item.request)
        outcomes = [item.outcome for item in items if item.outcome is not None]
        return Staged(outcomes, created, shadows, spend.warnings)

    def publish(self, staged: "Staged") -> None:
        """Once the staged tasks are committed: count and log each, and publish them."""
        for item in staged.created:
            self._accepted(item)
        queued = [item.row for item in staged.created if item.row and not item.cached]
        self._publish(queued + staged.shadows)

    def _resolve_auto(self, items: list[SubmittedItem]) -> None:
        """A request for `auto` becomes the task type its words resemble; one that cannot
        be resolved refuses itself, not the whole call."""
        for item in items:
            try:
                item.request, item.classification = self.auto.resolve(item.request)
            except RequestRejected as exc:
                item.outcome = exc

    def _take_in_attachments(self, items: list[SubmittedItem]) -> None:
        """Each request's attachments decoded, bounded and named before it is routed, so a
        bad one is refused at submit (naming it) and an idempotent replay compares what they
        hold; one that cannot be taken in refuses its request, not the whole call. Their new
        bytes are written only for requests accepted (`_insert`)."""
        for item in items:
            if item.outcome is not None or not item.request.attachments:
                continue
            intake = AttachmentIntake(
                self.session,
                self.sessions,
                self.store,
                self.settings,
                self.principal.owner,
                item.request.privacy_tier,
            )
            try:
                task_type = self.policy.catalog.get(item.request.task_type)
                taken = intake.take_in(item.request.attachments, task_type.video_frames_per_s)
                item.stored, item.pending = taken.stored, tuple(taken.pending)
            except RequestRejected as exc:
                item.outcome = exc

    def _route_by_rules(self, items: list[SubmittedItem], routes: CallRoutes) -> None:
        """The rules' route for each request that needs a new task. A key an earlier task
        holds answers with it; a key repeated within the call waits for its first item."""
        keys = [i.request.idempotency_key for i in items if i.request.idempotency_key]
        earlier = tasks_by_idempotency_key(self.session, self.principal.owner, keys)
        first_of_key: dict[str, SubmittedItem] = {}
        for item in items:
            if item.outcome is not None:
                continue
            key = item.request.idempotency_key
            if key in earlier:
                item.outcome = replay_of(earlier[key], item.request, item.stored)
            elif key is not None and key in first_of_key:
                item.repeats = first_of_key[key]
            else:
                try:
                    item.decision = routes.decide(item.request)
                except RequestRejected as exc:
                    item.outcome = exc
                    continue
                if key is not None:
                    first_of_key[key] = item

    def _admit(self, items: list[SubmittedItem], routes: CallRoutes) -> None:
        """Each route as the rollback controller leaves it; a refused one answers."""
        routed = [item for item in items if item.decision is not None and item.outcome is None]
        decided = [(item.request, item.decision) for item in routed if item.decision]
        for item, admitted in zip(routed, routes.admit(self.session, decided), strict=True):
            if isinstance(admitted, RequestRejected):
                item.outcome, item.decision = admitted, None
            else:
                item.decision = admitted

    def _hold_spend(self, items: list[SubmittedItem]) -> SpendAdmission:
        """Admit each routed request against the caller's budgets (locked until commit)."""
        spend = SpendAdmission.lock(self.session, self.principal, self.settings.budget_retry_s)
        for item in items:
            if spend.ledgers and item.decision is not None and item.outcome is None:
                measured = self.live.costliest_request(item.decision.path, item.request.task_type)
                if not item.cached:  # a cached answer costs nothing
                    item.hold_usd = (
                        self.settings.unmeasured_hold_usd if measured is None else measured
                    )
                if refused := spend.admit(item.hold_usd):
                    item.outcome, item.decision = refused, None
        return spend

    def _insert(
        self, items: list[SubmittedItem]
    ) -> tuple[list[SubmittedItem], list[dict[str, Any]]]:
        """Keep the routed requests' new attachment files, and insert their tasks and shadow
        copies. A row another transaction beat to its idempotency key answers with the
        winner's task (whose files hold the same bytes)."""
        routed = [item for item in items if item.decision is not None and item.outcome is None]
        trace = current_carrier()  # the call's span, the parent of each task's trace
        for item in routed:
            assert item.decision is not None
            keep_pending(self.session, self.principal.owner, item.pending)
            item.row = task_row(
                item.request,
                item.decision,
                self.settings.max_attempts,
                self.principal.owner,
                self.principal.key_id,
                classification=item.classification,
                attachments=item.stored,
            )
            item.row["cache"] = item.cache.record() if item.cache else None
            item.row["trace"] = trace
        inserted = insert_tasks(self.session, [item.row for item in routed if item.row])
        created = [item for item in routed if item.row and item.row["id"] in inserted]
        hits = [(item.row["id"], item.cache.hit) for item in created if item.row and item.cached]
        now = db_now(self.session) if hits else None
        for task_id, entry in hits:
            assert entry is not None and now is not None
            answer_from_cache(self.session, task_id, entry, now)
        shadows = shadow_rows(
            self.policy,
            self.principal,
            [
                (i.row, i.request, i.decision)
                for i in created
                if i.row and i.decision and not i.cached
            ],
        )
        insert_tasks(self.session, shadows)
        lost = [item for item in routed if item.row and item.row["id"] not in inserted]
        winners = tasks_by_idempotency_key(
            self.session, self.principal.owner, [i.request.idempotency_key or "" for i in lost]
        )
        for item in created:
            assert item.row is not None and item.decision is not None
            status = TaskStatus.succeeded if item.cached else TaskStatus.queued
            accepted = TaskAccepted(id=item.row["id"], status=status, route=item.decision)
            item.outcome = Submitted(accepted)
        for item in lost:
            winner = winners[item.request.idempotency_key or ""]
            item.outcome = replay_of(winner, item.request, item.stored)
        return created, shadows

    def _accepted(self, item: SubmittedItem) -> None:
        """Count and log one new task. The line carries its id, like the workers' lines, and
        the route's rule and reason: why it went where it went (a split, the cheapest accepted
        output, a latency budget) is then in the log, not only on the task."""
        assert item.row is not None and item.decision is not None
        decision = item.decision
        path, task_type = decision.path.value, item.request.task_type
        TASKS_SUBMITTED.labels(path, task_type).inc()
        with log_context(
            task_id=str(item.row["id"]),
            path=path,
            owner=self.principal.owner,
            rule=decision.rule,
            route_reason=decision.reason,
        ):
            log.info("accepted %s task on %s (%s)", task_type, path, decision.rule)

    def _publish(self, rows: list[dict[str, Any]]) -> None:
        messages = [
            Message(row["id"], row["queue"], priority_of(row), row["task_type"], row.get("trace"))
            for row in rows
        ]
        try:
            publish_committed(self.celery, self.sessions, messages)
        except Exception:  # rows are committed; the sweeper publishes what is left
            log.exception("publishing %d tasks failed; the sweeper will retry", len(rows))


SubmissionDep = Annotated[Submission, Depends(Submission)]
