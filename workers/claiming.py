"""Claiming a delivered task: a new attempt under the task's row lock, with the engine request
built from the catalog, in one transaction. Work routed to this path before it was rolled
back goes to the fallback queue instead, without an attempt."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from genroute.contract import Purpose
from genroute.db.attempts import Claim, claim_task
from genroute.db.tasks import FALLBACK_QUEUE, divert_to_fallback, get_task, refuse_task
from genroute.interfaces import CONTENT_FREE_INPUTS, GenerationRequest
from genroute.policies.catalog import TaskType
from genroute.workers import attempt_metrics
from genroute.workers.attachments import untaken_input
from genroute.workers.context import WorkerContext
from genroute.workers.validation.pipeline import output_schema


def calibration_prompts(task_type: TaskType) -> tuple[str, ...]:
    return tuple(task_type.render_prompt(text) for text in CONTENT_FREE_INPUTS)


def conversation(task_type: TaskType, request: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A conversational task's turns as the engine takes them; none for other task types."""
    if not task_type.conversation or not request.get("messages"):
        return ()
    return tuple((turn["role"], turn["content"]) for turn in request["messages"])


def engine_request(
    task_type: TaskType, task_request: dict[str, Any], max_output_tokens: int
) -> GenerationRequest:
    """What the engine is asked for a task: the catalog's prompts around its input, and the
    labels, schema or conversation its task type adds."""
    choices = tuple(task_type.validation.allowed_values or ())
    return GenerationRequest(
        system_prompt=task_type.system_prompt,
        prompt=task_type.render_prompt(task_request["input"]),
        max_output_tokens=max_output_tokens,
        choices=choices,
        json_schema=output_schema(task_type, task_request),
        calibration_prompts=calibration_prompts(task_type) if choices else (),
        messages=conversation(task_type, task_request),
        temperature=task_request.get("temperature"),
    )


@dataclass(frozen=True)
class Prepared:
    """A claimed attempt, the engine request built for it, and what validation needs."""

    task_id: uuid.UUID
    attempt_id: uuid.UUID
    request: GenerationRequest
    task_type: TaskType
    task_type_name: str
    task_request: dict[str, Any]
    created_at: datetime
    attempt_no: int
    # Only production outcomes feed the rollback controller: an evaluation run or a shadow
    # copy measures a path without steering traffic.
    steers_rollback: bool
    # Why it went where it went, for the attempt's trace.
    route_rule: str = ""
    policy_version: str = ""


def claim(context: WorkerContext, task_id: uuid.UUID, queue: str) -> tuple[Claim, Prepared | None]:
    """Claim the task and build its prompt, in one transaction."""
    with context.sessions.begin() as session:
        task = get_task(session, task_id)
        production = task is not None and task.purpose == Purpose.production.value
        if production and context.path_closed(task.task_type, queue):
            why = f"rerouted to fallback at claim: {queue} was rolled back for {task.task_type}"
            if divert_to_fallback(session, task_id, queue, why):
                claimed = Claim(skipped=why, requeued_on=FALLBACK_QUEUE, task_type=task.task_type)
                return claimed, None
        untaken = task and untaken_input(task.request, context.path_config.capabilities.modalities)
        if untaken and refuse_task(session, task_id, f"{context.identity.path}: {untaken}"):
            return Claim(skipped=untaken, finished=True), None
        result = claim_task(
            session, task_id, queue, context.identity, context.settings.claim_lease_s
        )
        if result.attempt is None:
            return result, None
        assert task is not None
        task_type = context.catalog.get(task.task_type)
        request = engine_request(task_type, task.request, task.max_output_tokens)
        prepared = Prepared(
            task_id,
            result.attempt.id,
            request,
            task_type,
            task.task_type,
            task.request,
            task.created_at,
            result.attempt.attempt_no,
            production,
            task.route_rule,
            task.policy_version,
        )
        attempt_metrics.claimed(queue, result.attempt.enqueued_at, result.attempt.started_at)
        return result, prepared
