"""Path states: the rollback controller's state for every (path, task type), and where each
path's engine sends data; each path's estimate for a request now (latency budgets); and the
adaptive shares."""

import math
from typing import Annotated

from fastapi import APIRouter, Query

from genroute.api.auth import Reader
from genroute.api.deps import LiveFiguresDep, PathStatesDep, PolicyDep, SessionDep
from genroute.api.errors import ERROR_RESPONSES
from genroute.contract import PathEstimateView, PathStateView, ShareView, TaskTypeName
from genroute.runtime.path_state_views import path_state_views
from genroute.runtime.share_controller import share_views

router = APIRouter(prefix="/v1/paths", tags=["paths"], responses=ERROR_RESPONSES)


@router.get("")
def path_states(_principal: Reader, policy: PolicyDep, store: PathStatesDep) -> list[PathStateView]:
    """Every (path, task type) pair; a pair with no outcomes yet is `active`."""
    return path_state_views(policy, store)


@router.get("/shares")
def adaptive_shares(_principal: Reader, policy: PolicyDep, session: SessionDep) -> list[ShareView]:
    """Every adaptive share of the policy: each rule's split of each task type it covers,
    as the controller last moved it (events with their evidence are in `share_events`)."""
    return share_views(session, policy)


@router.get("/estimates")
def path_estimates(
    _principal: Reader,
    policy: PolicyDep,
    live: LiveFiguresDep,
    task_type: TaskTypeName,
    priority: Annotated[int, Query(ge=0, le=9)] = 5,
    max_output_tokens: Annotated[int | None, Query(ge=1, le=8192)] = None,
) -> list[PathEstimateView]:
    """How soon each path could finish a request of `task_type` at `priority` now (what a
    `latency_budget_ms` is judged by at submit), and what an accepted output of at most
    `max_output_tokens` (the type's default) is expected to cost there."""
    bound = max_output_tokens or policy.catalog.get(task_type).default_max_output_tokens
    costs = live.costs(task_type)
    views = []
    for path, estimate in sorted(live.estimates(task_type, priority, bound).items()):
        cost = costs.get(path)
        completion = estimate.completion_s
        views.append(
            PathEstimateView(
                path=path.value,
                task_type=task_type,
                priority=priority,
                queued_ahead=estimate.queued_ahead,
                slots=estimate.slots,
                service_s=estimate.service_s,
                completion_s=completion
                if completion is not None and math.isfinite(completion)
                else None,
                summary=estimate.describe(),
                cost_per_accepted_output=cost.per_accepted(bound) if cost else None,
                cost_summary=cost.describe(bound) if cost else "",
            )
        )
    return views
