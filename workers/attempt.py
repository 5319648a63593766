"""One claimed attempt: run the engine while the claim's lease is kept (relaying its output
as it comes where the caller streams), validate what came back, record it (retrying through a
database outage), then end the relay, feed the rollback controller and wake the API's
waiters, all after the commit and none able to fail the attempt."""

import dataclasses
import logging
from datetime import UTC, datetime

from celery.exceptions import SoftTimeLimitExceeded

from genroute.contract import AttemptOutcome
from genroute.db.attempts import AttemptResult, Recorded, record_attempt
from genroute.errors import ClaimLost, EngineTimeout
from genroute.interfaces import AttachmentText, ValidationInput, Verdict
from genroute.runtime.db_retry import with_db_retry
from genroute.runtime.output_streams import OutputStreamWriter
from genroute.workers import attempt_metrics
from genroute.workers.attachment_reading import AttachmentReader
from genroute.workers.attachments import images_of
from genroute.workers.batching import EngineRun
from genroute.workers.claiming import Prepared
from genroute.workers.context import WorkerContext
from genroute.workers.lease import LeaseKeeper
from genroute.workers.validation.pipeline import validate, validators_for

log = logging.getLogger(__name__)


def claim_kept(context: WorkerContext, prepared: Prepared) -> LeaseKeeper:
    """The attempt's claim renewed while the engine (or the judge) works on it."""
    settings = context.settings
    return LeaseKeeper(
        context.sessions,
        prepared.attempt_id,
        settings.claim_lease_s,
        settings.task_hard_time_limit_s,
    )


def generate_once(context: WorkerContext, prepared: Prepared) -> AttemptResult:
    """Run the engine with the claim kept alive; classify the outcome. If the claim is taken
    over meanwhile, the attempt stops waiting and records no output. The engine's own start
    and end are recorded apart from the claim: the wait for a batch between them is not
    service time."""
    run = EngineRun()
    with claim_kept(context, prepared) as lease:
        stream = output_stream(context, prepared)
        request = dataclasses.replace(
            prepared.request, cancel=lease.lost, on_output=stream.text if stream else None
        )
        try:
            images = images_of(context.sessions, context.files, prepared.task_request)
            request = dataclasses.replace(request, images=images)
            generation = context.generate(request, run)
        except Exception as exc:
            return _failed(context, prepared, exc, run)
    attempt_metrics.generated(context.identity.path, context.engine.name, generation)
    return AttemptResult(
        AttemptOutcome.succeeded,
        output_text=generation.text,
        tokens_in=generation.tokens_in,
        tokens_out=generation.tokens_out,
        first_output_at=generation.first_output_at,
        engine_facts={**generation.facts, **context.cost_facts(generation)},
        engine_started_at=generation.started_at,
        engine_finished_at=generation.finished_at,
    )


def output_stream(context: WorkerContext, prepared: Prepared) -> OutputStreamWriter | None:
    """Where this attempt relays its output, if its caller streams."""
    if not prepared.task_request.get("stream"):
        return None
    return context.output_relay.writer(prepared.task_id, prepared.attempt_no)


def _failed(
    context: WorkerContext, prepared: Prepared, exc: Exception, run: EngineRun
) -> AttemptResult:
    if isinstance(exc, ClaimLost):
        outcome = AttemptOutcome.worker_lost
    elif isinstance(exc, SoftTimeLimitExceeded | EngineTimeout):
        outcome = AttemptOutcome.timeout
    else:
        outcome = AttemptOutcome.error
        log.exception("engine %s failed on attempt %s", context.engine.name, prepared.attempt_id)
    # A failed or timed-out attempt costs its share of the engine time its batch used, as a
    # succeeded one does; waiting for a batch costs nothing (the engine served others).
    return AttemptResult(
        outcome,
        error=f"{type(exc).__name__}: {exc}",
        engine_facts=context.cost_of(run.share_s()),
        engine_started_at=run.started_at,
        engine_finished_at=datetime.now(UTC) if run.started_at else None,
    )


def check_output(
    context: WorkerContext, prepared: Prepared, result: AttemptResult
) -> tuple[AttemptResult, list[Verdict]]:
    """The task type's validators on a produced output (nothing to check otherwise), then its
    LLM judge if it has one and every other check passed: the judge's GPU time is added to
    the attempt's, so cost per accepted output includes it. Grounding also looks in the text
    read inside the task's attachments (read once, its cost on the attempt)."""
    if result.outcome is not AttemptOutcome.succeeded:
        return result, []
    validators = validators_for(prepared.task_type, prepared.task_request)
    texts: tuple[AttachmentText, ...] = ()
    if prepared.task_request.get("attachments") and any(
        validator.name == "grounding" for validator in validators
    ):
        reader = AttachmentReader(context.sessions, context.files, context.settings.ocr_languages)
        with claim_kept(context, prepared):
            texts, reading = reader.texts(prepared.task_request)
        facts = {**(result.engine_facts or {}), **reading}
        result = dataclasses.replace(result, engine_facts=facts)
    subject = ValidationInput(
        output=result.output_text or "",
        request_input=prepared.task_request["input"],
        prompt=prepared.request.prompt,
        tokens_out=result.tokens_out or 0,
        json_schema=prepared.task_request.get("json_schema"),
        finish_reason=(result.engine_facts or {}).get("finish_reason"),
        attachment_texts=texts,
    )
    verdicts = validate(validators, subject)
    judge = prepared.task_type.validation.judge
    if judge is None or not all(verdict.passed for verdict in verdicts):
        return result, verdicts
    with claim_kept(context, prepared):
        verdict = validate([context.judge(judge)], subject)[0]
    return _charged(result, verdict), [*verdicts, verdict]


def _charged(result: AttemptResult, verdict: Verdict) -> AttemptResult:
    """`result` with the judge's GPU time and cost added to the attempt's."""
    facts = dict(result.engine_facts or {})
    judge_seconds = float(verdict.details.get("judge_gpu_seconds") or 0.0)
    judge_cost = float(verdict.details.get("judge_cost") or 0.0)
    facts["judge_gpu_seconds"], facts["judge_cost"] = judge_seconds, judge_cost
    facts["gpu_seconds"] = round(float(facts.get("gpu_seconds") or 0.0) + judge_seconds, 6)
    facts["cost"] = round(float(facts.get("cost") or 0.0) + judge_cost, 8)
    return dataclasses.replace(result, engine_facts=facts)


def record(
    context: WorkerContext, prepared: Prepared, result: AttemptResult, verdicts: list[Verdict]
) -> Recorded:
    """Record the attempt (one transaction, retried through an outage), then observe it."""

    def write() -> Recorded:
        with context.sessions.begin() as session:
            return record_attempt(session, prepared.attempt_id, result, verdicts)

    recorded = with_db_retry(write, context.settings.db_retry_budget_s, "recording an attempt")
    if (stream := output_stream(context, prepared)) is not None:  # after the commit: the
        # API reads the task's state when an attempt's stream ends
        stream.end(recorded.next == "succeeded", recorded.error or recorded.outcome)
    if recorded.next == "superseded":
        return recorded
    if prepared.steers_rollback:
        context.observe(prepared.task_type_name, recorded.next == "succeeded")
    if recorded.finished_task:
        context.announce_finished(prepared.task_id)
    path, task_type = context.identity.path, prepared.task_type_name
    attempt_metrics.finished(path, task_type, result, verdicts, recorded, prepared.created_at)
    return recorded
