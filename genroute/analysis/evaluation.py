"""Evaluation runs: every item of a dataset through each named path (forced route, no fallback,
tagged as one run so it never steers the rollback controller), and the side-by-side report
with each item's outcome and validator verdicts, and a recommendation. Running one is
`genroute.local.evaluation_run`'s job."""

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from genroute.analysis.evaluation_page import render_evaluation
from genroute.analysis.promotion_gate import Evidence, PathTally, gate_verdict
from genroute.analysis.quality import Scored, score
from genroute.analysis.scorecard import build_scorecard
from genroute.client.backlog import BacklogRow
from genroute.contract import (
    PathName,
    Purpose,
    RouteDecision,
    ScorecardRow,
    StoredAttachment,
    TaskRequest,
)
from genroute.db.models import Task
from genroute.db.tasks import task_row
from genroute.errors import GenrouteError
from genroute.policies import TaskTypeCatalog

EVAL_OWNER = "genroute-eval"


@dataclass(frozen=True)
class EvalPlan:
    """One run: which items, which task type, which paths, and the latency budget to judge by."""

    run_id: str
    task_type: str
    paths: tuple[PathName, ...]
    items: list[BacklogRow]
    latency_budget_ms: int | None = None


def plan_rows(
    plan: EvalPlan,
    catalog: TaskTypeCatalog,
    policy_version: str,
    attachments: dict[str, list[StoredAttachment]] | None = None,
) -> list[dict]:
    """A task row per (item, path): forced to the path, one attempt, no fallback; an item's
    `attachments` (by row id) as stored before the run."""
    attachments = attachments or {}
    rows = []
    for item in plan.items:
        body = {**item.request, "task_type": plan.task_type, "fallback": "none"}
        body.pop("idempotency_key", None)  # one item runs once per path
        body["metadata"] = {**body.get("metadata", {}), "eval_item": item.row_id}
        shown = attachments.get(item.row_id, [])
        if shown:
            body["attachments"] = [{"type": a.type, "file_id": a.file_id} for a in shown]
        request = TaskRequest.model_validate(body)
        for path in plan.paths:
            decision = RouteDecision(
                path=path,
                rule="evaluation",
                policy_version=policy_version,
                fallback_path=None,
                reason=f"evaluation run {plan.run_id}: forced to {path.value}",
                max_output_tokens=catalog.output_limit(request),
            )
            row = task_row(request, decision, 1, EVAL_OWNER, attachments=shown)
            rows.append({**row, "purpose": Purpose.evaluation.value, "eval_run": plan.run_id})
    return rows


def item_outcomes(
    session: Session, run_id: str, expected: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Each item's result on every path: status, output, latency, cost, failed checks (and the
    item's expected output, where it has one)."""
    expected = expected or {}
    tasks = session.scalars(select(Task).where(Task.eval_run == run_id).order_by(Task.created_at))
    items: dict[str, dict[str, Any]] = {}
    for task in tasks:
        item_id = str(task.request["metadata"]["eval_item"])
        item = items.setdefault(
            item_id,
            {"item": item_id, "input": task.request["input"], "expected": expected.get(item_id)},
        )
        attempt = task.attempts[-1] if task.attempts else None
        latency = (task.finished_at - task.created_at).total_seconds() if task.finished_at else None
        item[task.route_path] = {
            "status": task.status,
            "output": task.output_text if task.output_text else attempt and attempt.output_text,
            "error": attempt.error if attempt else task.error,
            "latency_s": latency,
            "cost": attempt.cost if attempt else None,
            "verdicts": [
                {"validator": v.validator, "passed": v.passed, "details": v.details}
                for v in (attempt.validations if attempt else [])
            ],
        }
    return list(items.values())


def _percent(a: float, b: float) -> str:
    return f"{abs(1 - a / b) * 100:.0f}%"


# The non-inferiority margin the report's promotion gate uses (genroute compare's default).
GATE_MARGIN = 0.05


# Paths whose quality is this close to the best count as equally good (then cost decides).
QUALITY_TIE = 0.02


def recommend(
    rows: dict[str, ScorecardRow],
    budget_ms: int | None,
    quality: dict[str, dict[str, Any] | None] | None = None,
) -> tuple[str | None, str]:
    """Among the paths whose p95 latency meets the budget: where items have expected outputs,
    the one with the best quality (the cheapest per accepted output among those within
    QUALITY_TIE of it), else the cheapest per accepted output; and why. None when no path
    produced an accepted output within the budget."""
    within = {
        path: row
        for path, row in rows.items()
        if row.accepted and (budget_ms is None or (row.latency_p95_s or 0) * 1000 <= budget_ms)
    }
    if not within:
        over = "within the latency budget " if budget_ms else ""
        return None, f"no path produced accepted outputs {over}on this dataset; keep the route"
    quality = quality or {}
    best, row = _best(within, quality)
    budget = f"within the {budget_ms} ms budget" if budget_ms else "(no latency budget given)"
    reasons = [
        f"accepted {row.accepted}/{row.requests} ({row.acceptance_rate:.0%}), "
        f"p95 {row.latency_p95_s:.2f} s {budget}" + _quality_note(best, quality)
    ]
    for path, other in sorted(rows.items()):
        if path == best:
            continue
        if not other.accepted:
            gate = _gate_says(best, row, path, other)
            reasons.append(f"{path} produced no accepted output ({other.requests} tried); {gate}")
            continue
        mine, theirs = row.cost_per_accepted_output or 0.0, other.cost_per_accepted_output or 0.0
        if theirs > 0:
            cheaper = "cheaper" if mine <= theirs else "dearer"
            comparison = f"{_percent(mine, theirs)} {cheaper} per accepted output than {path}"
        else:
            comparison = f"compared with {path}"
        reasons.append(
            f"{comparison} ({mine:.6g} vs {theirs:.6g}; acceptance "
            f"{row.acceptance_rate:.0%} vs {other.acceptance_rate:.0%})"
            + ("" if path in within else f"; {path}'s p95 misses the budget")
            + _quality_note(path, quality)
            + f"; {_gate_says(best, row, path, other)}"
        )
    return best, "; ".join(reasons)


def _headline(figures: dict[str, Any] | None) -> float | None:
    return figures[figures["headline"]] if figures else None


def _best(
    within: dict[str, ScorecardRow], quality: dict[str, dict[str, Any] | None]
) -> tuple[str, ScorecardRow]:
    """The best-quality path (ties go to the cheaper), else the cheapest per accepted output."""
    candidates = dict(within)
    scores = {path: _headline(quality.get(path)) for path in within}
    if any(value is not None for value in scores.values()):
        top = max(value or 0.0 for value in scores.values())
        candidates = {p: r for p, r in within.items() if (scores[p] or 0.0) >= top - QUALITY_TIE}
    return min(candidates.items(), key=lambda kv: kv[1].cost_per_accepted_output or 0.0)


def _quality_note(path: str, quality: dict[str, dict[str, Any] | None]) -> str:
    figures = quality.get(path)
    if not figures:
        return ""
    note = f"; {path}'s {figures['headline'].replace('_', ' ')} {_headline(figures) or 0:.0%}"
    if figures["kind"] == "label":
        floor = figures["commonest_label_accuracy"] or 0
        note += f" (always answering '{figures['commonest_label']}' would score {floor:.0%}"
        note += ", so it does not beat that floor)" if (_headline(figures) or 0) < floor else ")"
    return note


def path_quality(
    outcomes: list[dict[str, Any]], expected: dict[str, Any], paths: list[str]
) -> dict[str, dict[str, Any] | None]:
    """Each path's quality against the items' expected outputs (an answer that was not
    accepted counts as wrong); None for every path when no item has one."""
    quality = {}
    for path in paths:
        scored = [
            Scored(
                expected.get(str(o["item"])),
                o[path]["output"] if o[path]["status"] == "succeeded" else None,
            )
            for o in outcomes
            if path in o
        ]
        try:
            quality[path] = score(scored)
        except ValueError as exc:
            raise GenrouteError(f"expected outputs: {exc}") from exc
    return quality


def _outcomes(path: str, row: ScorecardRow) -> PathTally:
    cost = (row.cost_per_accepted_output or 0.0) * row.accepted
    return PathTally(path, row.requests, row.accepted, cost)


def _gate_says(best: str, row: ScorecardRow, path: str, other: ScorecardRow) -> str:
    """The promotion gate's verdict on `best` taking over from `path` (as `genroute compare`
    gives it): whether this run's outcomes are evidence enough."""
    verdict = gate_verdict(Evidence(_outcomes(best, row), _outcomes(path, other)), GATE_MARGIN)
    more = verdict.more_outcomes_needed
    enough = f", about {more} more outcomes per path needed" if more else ""
    return f"promotion gate against {path}: {verdict.decision}{enough}"


def evaluation_report(session: Session, plan: EvalPlan) -> dict[str, Any]:
    card = build_scorecard(
        session, ["path"], purpose=Purpose.evaluation.value, eval_run=plan.run_id
    )
    by_path = {row.path or "": row for row in card.rows}
    missing = [p.value for p in plan.paths if p.value not in by_path]
    if missing:
        raise GenrouteError(f"evaluation run {plan.run_id}: no finished tasks on {missing}")
    expected = {item.row_id: item.expected for item in plan.items}
    outcomes = item_outcomes(session, plan.run_id, expected)
    quality = path_quality(outcomes, expected, list(by_path))
    best, reasoning = recommend(by_path, plan.latency_budget_ms, quality)
    return {
        "run": plan.run_id,
        "task_type": plan.task_type,
        "items": len(plan.items),
        "latency_budget_ms": plan.latency_budget_ms,
        "paths": {
            path: {**row.model_dump(mode="json"), "quality": quality[path]}
            for path, row in by_path.items()
        },
        "recommendation": {"path": best, "reasoning": reasoning},
        "outcomes": outcomes,
    }


def write_outputs(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """eval.json and eval.html in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "eval.json", out_dir / "eval.html"
    json_path.write_text(json.dumps(report, indent=2, default=str))
    html_path.write_text(render_evaluation(report))
    return json_path, html_path


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
