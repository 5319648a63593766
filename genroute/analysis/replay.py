"""Policy replay: re-decide stored production requests under a candidate policy and say what
would change, by task type, with the acceptance, latency and cost per accepted output each
mix of paths is expected to give from the measured (path, task type) figures.

`replay` is pure (requests and figures in, a report out); `load_requests` reads the database.
Figures come from production traffic where a path serves a task type, else from shadow copies,
else from evaluation runs.
"""

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from genroute.contract import Purpose, RouteDecision, ScorecardRow, TaskRequest
from genroute.db.models import Task
from genroute.errors import RequestRejected
from genroute.policies import RoutingPolicy
from genroute.policies.adaptive_share import ShareStep, split


@dataclass
class TaskTypeReplay:
    """One task type's requests: where they went, where the candidate would send them."""

    requests: int = 0
    changed: int = 0
    rejected: int = 0
    moves: Counter = field(default_factory=Counter)
    current: Counter = field(default_factory=Counter)
    candidate: Counter = field(default_factory=Counter)


def load_requests(
    session: Session, since: datetime | None, batch: int = 1000
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(routed path, request as submitted) of every production task created since `since`,
    streamed from a server-side cursor `batch` rows at a time (a long history is replayed in
    constant memory, never loaded whole), oldest first."""
    query = (
        select(Task.route_path, Task.request)
        .where(Task.purpose == Purpose.production.value)
        .order_by(Task.created_at, Task.id)
    )
    if since is not None:
        query = query.where(Task.created_at >= since)
    rows = session.execute(query.execution_options(yield_per=batch))
    yield from ((path, request) for path, request in rows)


# Where a (path, task type) is measured from, best first: its own production traffic, then
# shadow copies of production requests, then evaluation runs.
SOURCES = (Purpose.production.value, Purpose.shadow.value, Purpose.evaluation.value)


def measured_figures(rows: Iterable[ScorecardRow]) -> dict[tuple[str, str], ScorecardRow]:
    """Scorecard rows grouped by purpose, path and task type -> one row per (path, task
    type), from the best source that has finished requests."""
    best: dict[tuple[str, str], ScorecardRow] = {}
    for row in rows:
        if not row.requests or row.purpose not in SOURCES:
            continue
        key = (row.path or "", row.task_type or "")
        if key not in best or SOURCES.index(row.purpose) < SOURCES.index(best[key].purpose):
            best[key] = row
    return best


def _expected(mix: Counter, figures: dict[tuple[str, str], ScorecardRow], task_type: str) -> dict:
    """What `mix` (requests per path) should give, weighting each path's measured figures."""
    measured = {p: figures.get((p, task_type)) for p in mix}
    unmeasured = sorted(p for p, row in measured.items() if row is None or not row.requests)
    known = {p: row for p, row in measured.items() if row is not None and row.requests}
    total = sum(mix[p] for p in known)
    if not total:
        return {"paths": dict(mix), "unmeasured": unmeasured}
    accepted = sum(mix[p] * (row.acceptance_rate or 0.0) for p, row in known.items())
    cost = sum(mix[p] * (row.cost_per_request or 0.0) for p, row in known.items())
    latency = sum(mix[p] * (row.latency_mean_s or 0.0) for p, row in known.items())
    p95s = [row.latency_p95_s for row in known.values() if row.latency_p95_s is not None]
    return {
        "paths": dict(mix),
        "unmeasured": unmeasured,
        "measured_on": {p: row.purpose for p, row in sorted(known.items())},
        "acceptance_rate": accepted / total,
        "mean_latency_s": latency / total,
        "worst_path_p95_s": max(p95s) if p95s else None,
        "cost_per_accepted_output": cost / accepted if accepted else None,
    }


def _decide(
    candidate: RoutingPolicy,
    stored: dict[str, Any],
    shares: Mapping[tuple[str, str], ShareStep],
    draws: random.Random,
) -> RouteDecision:
    request = TaskRequest.from_record(stored)
    decision = candidate.decide(request)
    spec = candidate.adaptive_share(decision)
    if spec is None:
        return decision
    settled = shares.get((decision.rule, request.task_type))
    share = spec.start if settled is None else settled.share
    return split(decision, share, draws.random(), candidate.allowed_paths(request), ())


def replay(
    requests: Iterable[tuple[str, dict[str, Any]]],
    candidate: RoutingPolicy,
    figures: dict[tuple[str, str], ScorecardRow],
    shares: Mapping[tuple[str, str], ShareStep] | None = None,
) -> dict[str, Any]:
    """How `candidate` would route `requests` (routed path, stored request) differently, by
    task type, and what each mix is expected to give. A rule with an adaptive share splits its
    requests by `shares` (rule, task type -> the share its controller settles at on the
    measured evidence; its starting share where absent). Health is left out: it is the same
    for both policies, and replay asks what the rules would do."""
    shares = shares or {}
    draws = random.Random(candidate.version)  # the same split of the same history every run
    by_type: dict[str, TaskTypeReplay] = defaultdict(TaskTypeReplay)
    # The same counts by what the requests held: a candidate may treat images apart.
    by_modality: dict[str, Counter] = defaultdict(Counter)
    for routed, stored in requests:
        task_type = str(stored.get("task_type"))
        entry, modality = by_type[task_type], by_modality[stored.get("input_modality", "text")]
        entry.requests += 1
        modality["requests"] += 1
        entry.current[routed] += 1
        try:
            path = _decide(candidate, stored, shares, draws).path.value
        except (RequestRejected, ValidationError):
            entry.rejected += 1
            modality["would_be_rejected"] += 1
            continue
        entry.candidate[path] += 1
        if path != routed:
            entry.changed += 1
            modality["would_change_path"] += 1
            entry.moves[f"{routed} -> {path}"] += 1
    report = {}
    for task_type, entry in sorted(by_type.items()):
        report[task_type] = {
            "requests": entry.requests,
            "would_change_path": entry.changed,
            "would_be_rejected": entry.rejected,
            "moves": dict(entry.moves),
            "current": _expected(entry.current, figures, task_type),
            "candidate": _expected(entry.candidate, figures, task_type),
        }
    return {
        "policy_version": candidate.version,
        "requests": sum(e.requests for e in by_type.values()),
        "would_change_path": sum(e.changed for e in by_type.values()),
        "adaptive_shares": [
            {"rule": rule, "task_type": task_type, "share": step.share, "reason": step.reason}
            for (rule, task_type), step in sorted(shares.items())
        ],
        "by_task_type": report,
        "by_input_modality": {
            name: {
                key: counts[key] for key in ("requests", "would_change_path", "would_be_rejected")
            }
            for name, counts in sorted(by_modality.items())
        },
    }


def format_replay(report: dict[str, Any]) -> str:
    lines = [
        f"candidate policy {report['policy_version']}: {report['would_change_path']} of "
        f"{report['requests']} stored requests would change path"
    ]
    for share in report["adaptive_shares"]:
        lines.append(
            f"  adaptive share {share['rule']}/{share['task_type']}: {share['share']:.3f} to the "
            f"rule's path ({share['reason']})"
        )
    for modality, counts in report["by_input_modality"].items():
        if modality != "text":
            lines.append(
                f"  {modality} requests: {counts['requests']}, {counts['would_change_path']} "
                f"would change path, {counts['would_be_rejected']} would be refused"
            )
    for task_type, entry in report["by_task_type"].items():
        moves = ", ".join(f"{k}: {v}" for k, v in entry["moves"].items()) or "no change"
        lines.append(f"  {task_type}: {entry['requests']} requests; {moves}")
        for label in ("current", "candidate"):
            lines.append(f"    {label:9} {_describe(entry[label])}")
    return "\n".join(lines)


def _describe(expected: dict[str, Any]) -> str:
    mix = ", ".join(f"{path} {count}" for path, count in sorted(expected["paths"].items()))
    if "acceptance_rate" not in expected:
        return f"{mix or 'none'}: not measured yet"
    cost = expected["cost_per_accepted_output"]
    text = (
        f"{mix}: acceptance {expected['acceptance_rate']:.0%}, mean latency "
        f"{expected['mean_latency_s']:.2f} s, cost per accepted output "
        f"{'-' if cost is None else f'{cost:.6g}'}"
    )
    borrowed = [
        f"{p} from {src} traffic"
        for p, src in expected["measured_on"].items()
        if src != Purpose.production.value
    ]
    if borrowed:
        text += f" ({', '.join(borrowed)})"
    if expected["unmeasured"]:
        text += f" (no figures yet for {', '.join(expected['unmeasured'])})"
    return text
