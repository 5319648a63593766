"""Per-path figures over finished tasks, for the demo's table and JSON line."""

import statistics
from collections import defaultdict
from typing import Any

from genroute.contract import AttemptView, TaskStatus, TaskView


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def _queue_wait_s(attempt: AttemptView) -> float | None:
    if attempt.enqueued_at is None or attempt.started_at is None:
        return None
    return max(0.0, (attempt.started_at - attempt.enqueued_at).total_seconds())


def _throughput(attempts: list[AttemptView]) -> tuple[int, float]:
    """Tokens out and the busy span they were produced in: batched attempts overlap, so
    summing their durations would undercount what a worker delivers."""
    producing = [a for a in attempts if a.started_at and a.finished_at and a.tokens_out]
    if not producing:
        return 0, 0.0
    start = min(a.started_at for a in producing)
    end = max(a.finished_at for a in producing)
    return sum(a.tokens_out for a in producing), (end - start).total_seconds()


def _fact_total(attempts: list[AttemptView], key: str) -> float | None:
    values = [a.engine_facts[key] for a in attempts if a.engine_facts.get(key) is not None]
    return sum(values) if values else None


def _mean_fact(attempts: list[AttemptView], key: str) -> float | None:
    values = [a.engine_facts[key] for a in attempts if a.engine_facts.get(key) is not None]
    return statistics.fmean(values) if values else None


def summarize_by_path(tasks: list[TaskView]) -> dict[str, dict[str, Any]]:
    """Per path: task outcomes by the path a task was routed to (accepted, failed, fell back,
    latency), and engine figures by the path each attempt ran on (invalid outputs, queue wait,
    tokens/s, batch size, canvases, denoising steps, cost)."""
    routed: dict[str, list[TaskView]] = defaultdict(list)
    ran: dict[str, list[AttemptView]] = defaultdict(list)
    for task in tasks:
        routed[task.route.path.value].append(task)
        for attempt in task.attempts:
            ran[attempt.path].append(attempt)
    return {
        path: {**_task_figures(routed.get(path, [])), **_attempt_figures(ran.get(path, []))}
        for path in sorted(set(routed) | set(ran))
    }


def _task_figures(group: list[TaskView]) -> dict[str, Any]:
    latencies = [(t.finished_at - t.created_at).total_seconds() for t in group if t.finished_at]
    return {
        "count": len(group),
        "succeeded": sum(t.status is TaskStatus.succeeded for t in group),
        "accepted": sum(t.status is TaskStatus.succeeded for t in group),
        "failed": sum(t.status is TaskStatus.failed for t in group),
        "fell_back": sum(any(a.queue == "fallback" for a in t.attempts) for t in group),
        "latency_p50_s": _round(percentile(latencies, 0.5)),
        "latency_p95_s": _round(percentile(latencies, 0.95)),
    }


def _attempt_figures(attempts: list[AttemptView]) -> dict[str, Any]:
    waits = [w for w in map(_queue_wait_s, attempts) if w is not None]
    tokens, seconds = _throughput(attempts)
    return {
        "attempts": len(attempts),
        "validation_failed": sum(a.outcome.value == "invalid" for a in attempts),
        "engines": sorted({a.engine for a in attempts if a.engine}),
        "queue_wait_p50_s": _round(percentile(waits, 0.5)),
        "queue_wait_p95_s": _round(percentile(waits, 0.95)),
        "mean_queue_wait_s": _round(statistics.fmean(waits) if waits else None),
        "tokens_out": tokens,
        "tokens_per_s": _round(tokens / seconds if seconds else None),
        "mean_batch_size": _round(_mean_fact(attempts, "batch_size")),
        "canvases": _fact_total(attempts, "canvases"),
        "canvas_tokens": _fact_total(attempts, "canvas_tokens"),
        "mean_denoising_steps": _round(_mean_fact(attempts, "denoising_steps")),
        "cost": _round(_fact_total(attempts, "cost")),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def format_table(summary: dict[str, dict[str, Any]]) -> str:
    columns = [
        ("path", "path"),
        ("count", "count"),
        ("accepted", "accepted"),
        ("failed", "failed"),
        ("fell_back", "fell back"),
        ("attempts", "attempts"),
        ("validation_failed", "invalid"),
        ("latency_p50_s", "p50 s"),
        ("latency_p95_s", "p95 s"),
        ("queue_wait_p50_s", "wait p50 s"),
        ("queue_wait_p95_s", "wait p95 s"),
        ("tokens_per_s", "tok/s"),
        ("mean_batch_size", "batch"),
        ("canvases", "canvases"),
        ("mean_denoising_steps", "steps"),
        ("engines", "engine"),
    ]
    rows = [[h for _, h in columns]]
    for path, figures in summary.items():
        row = []
        for key, _ in columns:
            value = path if key == "path" else figures[key]
            row.append(
                ",".join(value) if isinstance(value, list) else "-" if value is None else str(value)
            )
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )
