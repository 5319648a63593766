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
    """Group tasks by routed path: counts, latency and queue-wait percentiles, tokens/s."""
    groups: dict[str, list[TaskView]] = defaultdict(list)
    for task in tasks:
        groups[task.route.path.value].append(task)
    summary = {}
    for path, group in sorted(groups.items()):
        latencies = [(t.finished_at - t.created_at).total_seconds() for t in group if t.finished_at]
        attempts = [a for t in group for a in t.attempts]
        waits = [w for w in map(_queue_wait_s, attempts) if w is not None]
        tokens, seconds = _throughput(attempts)
        canvases = _fact_total(attempts, "canvases")
        summary[path] = {
            "count": len(group),
            "succeeded": sum(t.status is TaskStatus.succeeded for t in group),
            "failed": sum(t.status is TaskStatus.failed for t in group),
            "attempts": len(attempts),
            "engines": sorted({a.engine for a in attempts if a.engine}),
            "latency_p50_s": _round(percentile(latencies, 0.5)),
            "latency_p95_s": _round(percentile(latencies, 0.95)),
            "queue_wait_p50_s": _round(percentile(waits, 0.5)),
            "queue_wait_p95_s": _round(percentile(waits, 0.95)),
            "tokens_out": tokens,
            "tokens_per_s": _round(tokens / seconds if seconds else None),
            "mean_queue_wait_s": _round(statistics.fmean(waits) if waits else None),
            "mean_batch_size": _round(_mean_fact(attempts, "batch_size")),
            "canvases": canvases,
            "canvas_tokens": _fact_total(attempts, "canvas_tokens"),
            "mean_denoising_steps": _round(_mean_fact(attempts, "denoising_steps")),
            "cost": _round(_fact_total(attempts, "cost")),
        }
    return summary


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def format_table(summary: dict[str, dict[str, Any]]) -> str:
    columns = [
        ("path", "path"),
        ("count", "count"),
        ("succeeded", "ok"),
        ("failed", "failed"),
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
