"""Shadow copies: a sampled share of a rule's new tasks also runs on the rule's shadow path, as
a task of its own (one attempt, no fallback, published last), recorded and scored but never
seen by the producer."""

import random
from collections.abc import Callable
from typing import Any

from genroute.api.auth import Principal
from genroute.contract import Purpose, RouteDecision, TaskRequest
from genroute.db.tasks import task_row
from genroute.policies import RoutingPolicy

SHADOW_PRIORITY = 9  # kombu's Redis transport serves lower numbers first: shadows wait


def shadow_rows(
    policy: RoutingPolicy,
    principal: Principal,
    created: list[tuple[dict[str, Any], TaskRequest, RouteDecision]],
    draw: Callable[[], float] = random.random,
) -> list[dict[str, Any]]:
    """Rows of the shadow copies of `created` (row, request, decision) whose rule shadows and
    whose draw falls in its share."""
    rows = []
    for row, request, decision in created:
        target = policy.shadow_path(request, decision, draw())
        if target is None:
            continue
        copy = decision.model_copy(
            update={
                "path": target,
                "fallback_path": None,
                "path_state": "active",
                "reason": f"shadow copy of task {row['id']} ({decision.rule})",
            }
        )
        shadow = task_row(request, copy, 1, principal.owner, principal.key_id)
        shadow.update(idempotency_key=None, purpose=Purpose.shadow.value, shadow_of=row["id"])
        shadow["request"] = row["request"]  # as stored at submit, attachments and all
        shadow["trace"] = row.get("trace")  # in the original request's trace
        rows.append(shadow)
    return rows


def priority_of(row: dict[str, Any]) -> int:
    """The request's priority; shadow copies go last, behind the traffic producers wait for."""
    return (
        SHADOW_PRIORITY
        if row.get("purpose") == Purpose.shadow.value
        else row["request"]["priority"]
    )
