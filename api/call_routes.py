"""Routing the requests of one call: the rules, their split and cheapest output, the latency
budget, then the rollback controller's admission. The live figures a rule reads (its share,
the paths' costs, queue depths, paths cooling down) are read once per call and kept for its
other requests, so a batch of 500 reads them once, not 500 times."""

import functools
import logging
import random
from collections import defaultdict
from collections.abc import Sequence

import redis
from sqlalchemy.orm import Session

from genroute.api.request_checks import check_request
from genroute.contract import PathName, RouteDecision, TaskRequest
from genroute.errors import RequestRejected
from genroute.policies import RoutingPolicy
from genroute.policies.adaptive_share import other_path
from genroute.policies.deadlines import meet_budget
from genroute.policies.route_steps import after_rules
from genroute.runtime.live_figures import LiveFigures
from genroute.runtime.path_states import Admission, PathStateStore, record_event

log = logging.getLogger(__name__)


class CallRoutes:
    """Routes for one call's requests, on the figures as they stood when the call began."""

    def __init__(
        self,
        policy: RoutingPolicy,
        path_states: PathStateStore,
        live: LiveFigures,
        max_input_chars: int,
    ) -> None:
        self._policy = policy
        self._path_states = path_states
        self._live = live
        self._max_input_chars = max_input_chars
        self.share = functools.cache(live.share)
        self.costs = functools.cache(live.costs)
        self.estimates = functools.cache(live.estimates)
        self.cooling_down = functools.cache(self._cooling_down)

    def decide(self, request: TaskRequest) -> RouteDecision:
        """Check the request, then route it: the rules, their split and cheapest output
        (route_steps), then its latency budget."""
        check_request(request, self._policy.catalog, self._max_input_chars)
        decision = self._policy.decide(request)
        splits = self._policy.adaptive_share(decision) is not None
        cheapest = self._policy.prefers_cheapest(decision)
        decision = after_rules(  # only the live figures the rule uses are read
            self._policy,
            request,
            decision,
            share_now=self.share(decision.rule, request.task_type) if splits else None,
            draw=random.random(),
            cooling_down=self.cooling_down(decision.path, request.task_type) if splits else set(),
            costs=self.costs(request.task_type) if cheapest else {},
        )
        if request.latency_budget_ms is None:
            return decision
        estimates = self.estimates(request.task_type, request.priority, decision.max_output_tokens)
        return meet_budget(decision, request, estimates, self._policy.allowed_paths(request))

    def admit(
        self,
        session: Session,
        decided: Sequence[tuple[TaskRequest, RouteDecision]],
    ) -> list[RouteDecision | RequestRejected]:
        """Each decision as the rollback controller leaves it, admitting a whole group of one
        (path, task type) in one Redis transaction; a transition it makes is recorded in
        `session`."""
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, (request, decision) in enumerate(decided):
            if self._policy.can_roll_back(decision.path):
                groups[(decision.path.value, request.task_type)].append(index)
        final: list[RouteDecision | RequestRejected] = [decision for _, decision in decided]
        for (path, task_type), indexes in groups.items():
            try:
                admissions = self._path_states.admit_many(path, task_type, len(indexes))
            except redis.RedisError:
                # Path states live in Redis; without them, keep accepting on the rules' route
                # (the task is persisted and the sweeper publishes it once the broker is back).
                log.warning("path state unreadable; routing %s by the rules alone", path)
                admissions = [None] * len(indexes)
            for index, admission in zip(indexes, admissions, strict=True):
                request, decision = decided[index]
                try:
                    final[index] = self._apply(session, decision, admission, request)
                except RequestRejected as exc:
                    final[index] = exc
        return final

    def _apply(
        self,
        session: Session,
        decision: RouteDecision,
        admission: Admission | None,
        request: TaskRequest,
    ) -> RouteDecision:
        if admission is None:
            return self._policy.with_path_state(decision, "unknown", True, request)
        if admission.transition is not None:
            record_event(session, decision.path.value, request.task_type, admission.transition)
        state = admission.state.value
        return self._policy.with_path_state(decision, state, admission.admitted, request)

    def _cooling_down(self, path: PathName, task_type: str) -> set[PathName]:
        """The paths of an adaptive split that are cooling down after a rollback."""
        pair = [p.value for p in (path, other_path(path))]
        try:
            return {PathName(p) for p in self._path_states.cooling_down_paths(pair, task_type)}
        except redis.RedisError:
            return set()  # admission still keeps traffic off a rolled-back path
