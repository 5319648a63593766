"""What a worker counts about each attempt, for Prometheus. Observing only: nothing here may
fail a task, so every update is guarded."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from genroute.contract import AttemptOutcome
from genroute.db.attempts import AttemptResult, Recorded
from genroute.interfaces import Generation, Verdict
from genroute.observability import metrics

log = logging.getLogger(__name__)


def _guarded(update: Callable[[], None]) -> None:
    try:
        update()
    except Exception:  # a metrics bug must never cost an output
        log.exception("metrics update failed")


def claimed(queue: str, enqueued_at: datetime | None, started_at: datetime | None) -> None:
    if enqueued_at is None or started_at is None:
        return
    wait_s = max(0.0, (started_at - enqueued_at).total_seconds())
    _guarded(lambda: metrics.QUEUE_WAIT.labels(queue).observe(wait_s))


def generated(path: str, engine: str, generation: Generation) -> None:
    def update() -> None:
        seconds = (generation.finished_at - generation.started_at).total_seconds()
        metrics.GENERATION.labels(path, engine).observe(seconds)
        metrics.TOKENS.labels(path, engine).inc(generation.tokens_out)
        metrics.BATCH_SIZE.labels(path, engine).observe(int(generation.facts.get("batch_size", 1)))

    _guarded(update)


def finished(
    path: str,
    task_type: str,
    result: AttemptResult,
    verdicts: list[Verdict],
    recorded: Recorded,
    created_at: datetime,
) -> None:
    def update() -> None:
        failed = [verdict for verdict in verdicts if not verdict.passed]
        outcome = AttemptOutcome.invalid if failed else result.outcome
        metrics.ATTEMPTS.labels(path, task_type, outcome.value).inc()
        metrics.SPEND.labels(path, task_type).inc(
            float((result.engine_facts or {}).get("cost") or 0)
        )
        for verdict in failed:
            metrics.VALIDATION_FAILURES.labels(verdict.validator, task_type).inc()
        if recorded.next == "fallback":
            metrics.FALLBACKS.labels(path, task_type).inc()
        if recorded.next in ("succeeded", "failed", "expired"):
            metrics.TASKS_FINISHED.labels(path, task_type, recorded.next).inc()
            latency = (datetime.now(UTC) - created_at).total_seconds()
            metrics.END_TO_END.labels(path, task_type).observe(latency)

    _guarded(update)
