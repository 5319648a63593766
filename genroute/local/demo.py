"""`genroute demo`: real traffic through the whole system, then a per-path table.

Starts (or uses) PostgreSQL and Redis, migrates, runs the API and one worker per path as real
processes, submits realistic support tickets over HTTP and waits until every one is terminal.
"""

import base64
import functools
import itertools
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from genroute.analysis.html_report import write_report
from genroute.analysis.path_summary import format_table, summarize_by_path
from genroute.contract import Scope, TaskView
from genroute.data import bundled_tickets
from genroute.db.migrate import upgrade
from genroute.db.models import RollbackEvent
from genroute.db.session import make_engine
from genroute.errors import GenrouteError
from genroute.local.demo_data import clear_for_demo, demo_settings
from genroute.local.embedded import services
from genroute.local.screenshots import render
from genroute.local.stack import ALL_PATHS, running_stack
from genroute.settings import Settings


def sample_tickets(count: int) -> list[dict[str, Any]]:
    """`count` requests cycled from the bundled ticket set; a ticket that comes with a
    screenshot (a spec rendered here) carries it as an inline image attachment."""
    tickets = bundled_tickets()
    return [_with_screenshot(t) for t in itertools.islice(itertools.cycle(tickets), count)]


def _with_screenshot(ticket: dict[str, Any]) -> dict[str, Any]:
    if "screenshot" not in ticket:
        return ticket
    request = {key: value for key, value in ticket.items() if key != "screenshot"}
    png = base64.b64encode(render(ticket["screenshot"])).decode()
    image = {"type": "image", "data": f"data:image/png;base64,{png}", "name": "screenshot.png"}
    return {**request, "attachments": [image]}


def submit_all(client: httpx.Client, requests: list[dict[str, Any]]) -> list[str]:
    ids = []
    for request in requests:
        response = client.post("/v1/tasks", json=request)
        if response.status_code != 202:
            raise GenrouteError(f"submission refused ({response.status_code}): {response.text}")
        ids.append(response.json()["id"])
    return ids


def wait_terminal(client: httpx.Client, ids: list[str], timeout_s: float) -> list[TaskView]:
    deadline = time.monotonic() + timeout_s
    finished: dict[str, TaskView] = {}
    while True:
        for task_id in ids:
            if task_id in finished:
                continue
            view = TaskView.model_validate(
                client.get(f"/v1/tasks/{task_id}").raise_for_status().json()
            )
            if view.status.is_terminal:
                finished[task_id] = view
        if len(finished) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return [finished[i] for i in ids if i in finished]


def rollback_events(database_url: str) -> list[dict[str, Any]]:
    """Every rollback transition recorded in the database, oldest first."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(RollbackEvent).order_by(RollbackEvent.id))
            return [
                {
                    "path": row.path,
                    "task_type": row.task_type,
                    "from": row.from_state,
                    "to": row.to_state,
                    "reason": row.reason,
                    "at": row.created_at.isoformat(),
                }
                for row in rows
            ]
    finally:
        engine.dispose()


def write_demo_report(database_url: str, path: Path) -> Path:
    """The HTML scorecard of everything in the database (this and earlier demo runs)."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            write_report(session, None, str(path))
    finally:
        engine.dispose()
    return path


def _sample(view: TaskView) -> dict[str, Any]:
    """One task as the demo shows it: its attempts' paths and outcomes, and its output."""
    return {
        "task_type": view.task_type,
        "input_modality": view.input_modality.value,
        "path": view.route.path.value,
        "status": view.status.value,
        "attempts": [f"{a.path}:{a.outcome.value}" for a in view.attempts],
        "output": view.output,
        "last_error": view.attempts[-1].error if view.attempts else view.error,
    }


def with_judged_summaries(settings: Settings) -> Settings:
    """`settings` with a catalog of their own in which ticket summaries are also put to the
    LLM judge on the autoregressive path (the shipped catalog leaves it off)."""
    catalog = yaml.safe_load(settings.task_types_file.read_text(encoding="utf-8"))
    catalog["task_types"]["ticket_summary"]["validation"]["judge"] = {"path": "autoregressive"}
    judged = settings.data_dir.resolve() / "task_types.judged.yaml"
    judged.parent.mkdir(parents=True, exist_ok=True)
    judged.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    return settings.model_copy(update={"task_types_file": judged})


def judge_figures(views: list[TaskView]) -> dict[str, Any]:
    """How many attempts the judge answered, and what judging cost of the run's total (it is
    inside every figure of cost per accepted output)."""
    attempts = [a for v in views for a in v.attempts]
    judged = [a for a in attempts if any(check.validator == "judge" for check in a.validations)]
    return {
        "judged_attempts": len(judged),
        "said_yes": sum(c.passed for a in judged for c in a.validations if c.validator == "judge"),
        "judge_cost": round(sum(a.engine_facts.get("judge_cost", 0.0) for a in judged), 8),
        "cost": round(sum(a.cost or 0.0 for a in attempts), 8),
    }


def run_demo(
    settings: Settings, count: int, as_json: bool, timeout_s: float, judge: bool = False
) -> dict[str, Any]:
    # With --json, standard output carries only the summary; progress goes to standard error.
    say = functools.partial(print, file=sys.stderr, flush=True) if as_json else print
    own_servers = settings.uses_embedded_services()
    with services(demo_settings(settings)) as live:
        upgrade(live.database_url)
        if cancelled := clear_for_demo(live, own_servers):
            say(f"cancelled {cancelled} tasks an interrupted demo left in {live.data_dir}")
        if judge:
            live = with_judged_summaries(live)
        say("services ready; starting the API and workers (the model loads once per worker)")
        log_dir = live.data_dir.resolve() / "logs"
        with (
            running_stack(
                live,
                list(ALL_PATHS),
                log_dir,
                key_owner="demo",
                key_scopes=(Scope.submit, Scope.read),
            ) as stack,
            stack.http() as client,
        ):
            say(
                f"API {stack.api_url} (operators: {stack.ops_url}/metrics, /readyz, /docs); "
                f"this run's API key: {stack.api_key}"
            )
            flower_password = secrets.token_urlsafe(12)
            flower_url = stack.start_flower("demo", flower_password)
            say(f"Flower {flower_url} (user demo, password {flower_password})")
            started = time.monotonic()
            ids = submit_all(client, sample_tickets(count))
            say(f"submitted {len(ids)} tickets; waiting for results")
            views = wait_terminal(client, ids, timeout_s)
            elapsed = time.monotonic() - started
        events = rollback_events(live.database_url)
        report = write_demo_report(live.database_url, live.data_dir.resolve() / "scorecard.html")
    summary = {
        "submitted": len(ids),
        "terminal": len(views),
        "succeeded": sum(v.status.value == "succeeded" for v in views),
        "failed": sum(v.status.value == "failed" for v in views),
        "elapsed_s": round(elapsed, 2),
        "by_path": summarize_by_path(views),
        # The first few, and the tickets that came with a screenshot (the image path).
        "samples": [_sample(v) for v in views[:4] + [v for v in views[4:] if v.attachments]],
        "rollback_events": events,
        "report": str(report),
        **({"judge": judge_figures(views)} if judge else {}),
    }
    if not as_json:
        print_summary(summary)
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    """The per-path table, a few samples, the rollback events and the totals, for a person."""
    print()
    print(format_table(summary["by_path"]))
    print()
    for sample in summary["samples"]:
        text = " ".join((sample["output"] or sample["last_error"] or "").split())
        lineage = " -> ".join(sample["attempts"])
        shown = "" if sample["input_modality"] == "text" else f" + {sample['input_modality']}"
        print(f"[{sample['task_type']}{shown}: {lineage}, {sample['status']}] {text[:150]}")
    print()
    for event in summary["rollback_events"]:
        print(
            f"rollback: {event['path']}/{event['task_type']} {event['from']} -> {event['to']}: "
            f"{event['reason']}"
        )
    print(
        f"\n{summary['terminal']}/{summary['submitted']} terminal, {summary['succeeded']} "
        f"succeeded, {summary['failed']} failed in {summary['elapsed_s']}s"
    )
    if "judge" in summary:
        judge = summary["judge"]
        print(
            f"LLM judge: {judge['judged_attempts']} attempts judged, {judge['said_yes']} said "
            f"yes; judging cost {judge['judge_cost']:.6g} of the run's {judge['cost']:.6g} "
            "(inside every cost per accepted output)"
        )
    print(f"scorecard report (open in a browser): {summary['report']}")
