"""Structured outputs and labels through the whole system on the autoregressive path, free
against constrained, side by side in one run.

    .venv/bin/python bench/structured.py [--tickets 60] [--tokens 128] [--quick]

Two stacks serve the autoregressive path alone with the development model: `free` (no
`structured_output` capability, labels uncalibrated) and `constrained` (JSON task types decode
under their schema, labels calibrated). Each gets the project's labelled tickets
(bench/data/labelled_tickets.jsonl: six labels, four languages) as extraction tasks, then as
classification tasks, with no fallback, so every figure is one attempt on that path. Prints one
JSON object: per arm, extraction's `schema_valid_rate` (the json_schema validator passed),
`accepted_rate` (every validator passed), `field_match_rate` (order id and email as written in
the ticket) and tokens/s; classification's accuracy, the commonest answer's share and seconds
per ticket. `--quick` is the short run the test suite makes.
"""

import argparse
import json
import os
import platform
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from engines import only_path, submit_concurrently, wait_for_views

from genroute.contract import TaskView
from genroute.db.migrate import upgrade
from genroute.local.scratch_services import scratch_services
from genroute.local.stack import running_stack
from genroute.settings import Settings
from genroute.workers.engines.registry import load_paths

TICKETS = Path(__file__).resolve().parent / "data" / "labelled_tickets.jsonl"
ARMS = {
    "free": {"structured_output": False, "calibrate_labels": False},
    "constrained": {"structured_output": True, "calibrate_labels": True},
}


def labelled_tickets(count: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in TICKETS.read_text().splitlines() if line.strip()]
    return rows[:count]


def _extraction_figures(views: list[TaskView], tickets: list[dict]) -> dict[str, Any]:
    attempts = [view.attempts[0] for view in views]
    valid = [
        any(v.validator == "json_schema" and v.passed for v in attempt.validations)
        for attempt in attempts
    ]
    matched = checked = 0
    for attempt, ticket in zip(attempts, tickets, strict=True):
        try:
            found = json.loads(attempt.output_text or "")
        except json.JSONDecodeError:
            found = {}
        for field in ("order_id", "email"):
            if ticket["fields"][field] is not None:
                checked += 1
                matched += isinstance(found, dict) and found.get(field) == ticket["fields"][field]
    span = max(v.finished_at for v in views) - min(v.created_at for v in views)
    tokens = sum(attempt.tokens_out or 0 for attempt in attempts)
    return {
        "tasks": len(views),
        "schema_valid_rate": round(sum(valid) / len(views), 3),
        "accepted_rate": round(sum(v.status.value == "succeeded" for v in views) / len(views), 3),
        "field_match_rate": round(matched / checked, 3) if checked else None,
        "tokens_per_s": round(tokens / span.total_seconds(), 2),
        "finish_reasons": dict(Counter(a.engine_facts.get("finish_reason") for a in attempts)),
    }


def _classification_figures(views: list[TaskView], tickets: list[dict]) -> dict[str, Any]:
    answers = [view.output for view in views]
    right = sum(answer == t["label"] for answer, t in zip(answers, tickets, strict=True))
    attempts = [view.attempts[0] for view in views]
    # The engine's busy time: a batch's requests are scored one after another in one call.
    busy = max(a.finished_at for a in attempts) - min(a.started_at for a in attempts)
    return {
        "tasks": len(views),
        "accuracy": round(right / len(views), 3),
        "commonest_share": round(Counter(answers).most_common(1)[0][1] / len(views), 3),
        "answers": dict(Counter(answers)),
        "seconds_per_ticket": round(busy.total_seconds() / len(views), 3),
    }


def run_arm(settings: Settings, arm: str, args: argparse.Namespace, folder: Path) -> dict:
    base = load_paths(settings.paths_file)["autoregressive"]
    knobs = ARMS[arm]
    config = base.model_copy(
        update={
            "capabilities": base.capabilities.model_copy(
                update={"structured_output": knobs["structured_output"]}
            ),
            "params": {**base.params, "calibrate_labels": knobs["calibrate_labels"]},
        }
    )
    live = only_path(settings, "autoregressive", config, folder)
    tickets = labelled_tickets(args.tickets)
    figures: dict[str, Any] = {}
    with (
        running_stack(live, ["autoregressive"], folder / f"logs-{arm}") as stack,
        stack.http() as client,
    ):
        for task_type, summarise in (
            ("extraction", _extraction_figures),
            ("classification", _classification_figures),
        ):
            requests = [
                {
                    "task_type": task_type,
                    "input": t["input"],
                    "fallback": "none",
                    "metadata": {"bench": "structured", "ticket": t["id"]},
                }
                for t in tickets
            ]
            if task_type == "extraction":  # a label needs what its task type allows
                requests = [{**r, "max_output_tokens": args.tokens} for r in requests]
            views = wait_for_views(client, submit_concurrently(client, requests))
            figures[task_type] = summarise(views, tickets)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="a few tickets, for the tests")
    args = parser.parse_args()
    if args.quick:
        args.tickets, args.tokens = 4, 64
    result: dict[str, Any] = {
        "bench": "structured",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "tickets": args.tickets,
        "max_output_tokens": args.tokens,
        "arms": {},
    }
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        for arm in ARMS:
            result["arms"][arm] = run_arm(live, arm, args, Path(tmp))
    free, constrained = result["arms"]["free"], result["arms"]["constrained"]
    result["constrained_over_free_tokens_per_s"] = round(
        constrained["extraction"]["tokens_per_s"] / free["extraction"]["tokens_per_s"], 2
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
